"""Replace client and record identifiers by keyed pseudonyms; drop special-category and free text.

The key comes from the environment, never from a parameter: papermill writes parameters into
executed notebooks, and a key there would undo the pseudonymisation. In order:
1. EVALUATION_PSEUDONYM_KEY (the key itself),
2. EVALUATION_PSEUDONYM_KEY_FILE (a file holding it, outside any git repository),
3. ~/.config/evaluation/pseudonym.key, created with a random key (mode 0600) when missing.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import os
import secrets
import sys
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from itertools import accumulate, repeat
from pathlib import Path
from typing import TYPE_CHECKING

from evaluation.data.threads import each
from evaluation.errors import ConfigError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    import pyarrow as pa

ENV_KEY = "EVALUATION_PSEUDONYM_KEY"
ENV_KEY_FILE = "EVALUATION_PSEUDONYM_KEY_FILE"
MIN_KEY_LENGTH = 16
PREFIX = "p_"


def default_key_file() -> Path:
    """~/.config/evaluation/pseudonym.key (outside every repository and build folder)."""
    return Path.home() / ".config" / "evaluation" / "pseudonym.key"


def _inside_repository(path: Path) -> Path | None:
    """The git work tree that contains path, if any."""
    for parent in path.resolve().parents:
        if (parent / ".git").exists():
            return parent
    return None


def _checked(key: bytes, origin: str) -> bytes:
    if len(key) < MIN_KEY_LENGTH:
        raise ConfigError(
            f"the pseudonymisation key from {origin} is shorter than {MIN_KEY_LENGTH} characters"
        )
    return key


def _read_key_file(path: Path, origin: str) -> bytes:
    repo = _inside_repository(path)
    if repo is not None:
        raise ConfigError(
            f"the pseudonymisation key file {path} ({origin}) lies inside the repository {repo}; "
            "keep it outside any repository so it is never committed"
        )
    try:
        return _checked(path.read_bytes().strip(), str(path))
    except OSError as exc:
        raise ConfigError(f"cannot read the pseudonymisation key file {path}: {exc}") from exc


def load_key() -> bytes:
    """The pseudonymisation key from the environment, a key file, or a new per-user key file."""
    value = os.environ.get(ENV_KEY)
    if value:
        return _checked(value.strip().encode("utf-8"), f"${ENV_KEY}")
    file = os.environ.get(ENV_KEY_FILE)
    if file:
        return _read_key_file(Path(file).expanduser(), f"${ENV_KEY_FILE}")
    path = default_key_file()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32) + "\n")
        print(f"evaluation: created a new pseudonymisation key in {path}", file=sys.stderr)
    return _read_key_file(path, "the default key file")


def pseudonym(value: str, key: bytes) -> str:
    """'p_' + the first 16 hex digits of HMAC-SHA256(key, value)."""
    return PREFIX + hmac.digest(key, str(value).encode("utf-8"), hashlib.sha256).hex()[:16]


_BLOCK = 64  # SHA-256 block size in bytes
_CHUNK = 1 << 16  # messages hashed per batch (bounds the hash objects alive at once)
_HEX = b"0123456789abcdef"


def hmac_sha256_many(messages: list[bytes], key: bytes) -> bytes:
    """HMAC-SHA256(key, m) of every message, concatenated (32 bytes each).

    RFC 2104 from the two keyed SHA-256 states, copied per message; the loops run in C through
    map(). With OpenSSL 3, hmac.digest per message costs about twice as much (it looks the
    algorithm up and keys a new context on every call).
    """
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(_BLOCK, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))
    kind = type(inner)
    parts = []
    for start in range(0, len(messages), _CHUNK):
        chunk = messages[start : start + _CHUNK]
        states = list(map(kind.copy, repeat(inner, len(chunk))))
        deque(map(kind.update, states, chunk), maxlen=0)
        first = list(map(kind.digest, states))
        states = list(map(kind.copy, repeat(outer, len(chunk))))
        deque(map(kind.update, states, first), maxlen=0)
        parts.append(b"".join(map(kind.digest, states)))
    return b"".join(parts)


def _prefixes(texts: pa.Array, key: bytes) -> bytes:
    """The first 8 bytes of HMAC-SHA256(key, text) of each text (an Arrow binary array)."""
    import numpy as np

    out = []
    for start in range(0, len(texts), _CHUNK):
        digests = hmac_sha256_many(texts.slice(start, _CHUNK).to_pylist(), key)
        out.append(np.frombuffer(digests, dtype=np.uint8).reshape(-1, 32)[:, :8].tobytes())
    return b"".join(out)


def _prefixes_of(data: bytes, offsets: bytes, key: bytes) -> bytes:
    """_prefixes of the texts laid out as Arrow buffers (what a worker process receives)."""
    import pyarrow as pa

    size = len(offsets) // 8 - 1
    buffers = [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    return _prefixes(pa.Array.from_buffers(pa.large_binary(), size, buffers), key)


def _buffers(texts: pa.Array) -> tuple[bytes, bytes]:
    """A (sliced) large binary array as (offsets from 0, data): only its own bytes."""
    import numpy as np

    _, offsets, data = texts.buffers()
    at = np.frombuffer(offsets, dtype=np.int64)[texts.offset : texts.offset + len(texts) + 1]
    return (at - at[0]).tobytes(), data[int(at[0]) : int(at[-1])].to_pybytes()


_PARALLEL_FROM = 200_000  # below this, starting a second process costs more than it saves


def _prefixes_two_cores(texts: pa.Array, key: bytes) -> bytes:
    """_prefixes, with the first half hashed in a second Python process when there are many
    texts and two cores. The key and texts reach it through a pipe, never a file or argv."""
    import subprocess

    half = len(texts) // 2
    if len(texts) < _PARALLEL_FROM or (os.cpu_count() or 1) < 2:
        return _prefixes(texts, key)
    first = texts.slice(0, half)
    code = "from evaluation.data.pseudonymise import serve_prefixes; serve_prefixes()"
    try:
        child = subprocess.Popen(
            [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
    except OSError:
        return _prefixes(texts, key)
    try:
        with child.stdin:  # type: ignore[union-attr]
            for blob in (key, *_buffers(first)):
                child.stdin.write(len(blob).to_bytes(8, "little") + blob)  # type: ignore[union-attr]
    except OSError:  # the child died before reading: it cannot help
        pass
    second = _prefixes(texts.slice(half), key)
    theirs = child.stdout.read()  # type: ignore[union-attr]
    child.stdout.close()  # type: ignore[union-attr]
    if child.wait() != 0 or len(theirs) != 8 * half:
        theirs = _prefixes(first, key)
    return theirs + second


def serve_prefixes() -> None:
    """The second process of _prefixes_two_cores: key, offsets and texts in on stdin (each
    length-prefixed), the 8-byte HMAC prefixes out on stdout."""
    read = sys.stdin.buffer.read
    key, offsets, data = (read(int.from_bytes(read(8), "little")) for _ in range(3))
    sys.stdout.buffer.write(_prefixes_of(data, offsets, key))
    sys.stdout.buffer.flush()


_SPELL_ROWS = 1 << 18  # pseudonyms spelled per block


def _pseudonyms(
    texts: pa.Array, key: bytes, prefixes: Callable[[pa.Array, bytes], bytes] | None = None
) -> pa.Array:
    """pseudonym() of each text (an Arrow binary array of UTF-8), as an Arrow string array
    built from one buffer (no Python string per pseudonym). prefixes: what gives the 8-byte
    HMAC prefixes (default: this process, with a second one for many texts)."""
    import numpy as np
    import pyarrow as pa

    hex_digits = np.frombuffer(_HEX, dtype=np.uint8)
    n = len(texts)
    digest = np.frombuffer((prefixes or _prefixes_two_cores)(texts, key), dtype=np.uint8)
    digest = digest.reshape(n, 8)
    width = len(PREFIX) + 16
    chars = np.empty((n, width), dtype=np.uint8)
    head = np.frombuffer(PREFIX.encode(), dtype=np.uint8)

    def spell(start: int) -> None:
        rows, part = chars[start : start + _SPELL_ROWS], digest[start : start + _SPELL_ROWS]
        rows[:, : len(PREFIX)] = head
        rows[:, len(PREFIX) :: 2] = hex_digits[part >> 4]
        rows[:, len(PREFIX) + 1 :: 2] = hex_digits[part & 15]

    each(spell, range(0, n, _SPELL_ROWS))  # numpy's indexing runs without the GIL
    offsets = np.arange(0, width * n + 1, width, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(chars))


def _distinct_texts(values: pd.Series) -> tuple[np.ndarray, pa.Array]:
    """The factorised codes of values (-1 where empty) and each distinct value's UTF-8 text.

    Categorical values (crosscheck.encode_ids: categories in order of first appearance, each
    used) are factorised already: their codes and categories are used as they are."""
    import pandas as pd
    import pyarrow as pa

    if isinstance(values.dtype, pd.CategoricalDtype):
        codes, uniques = values.cat.codes.to_numpy(), values.cat.categories.array
    else:
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
    if not isinstance(uniques.dtype, pd.StringDtype):
        uniques = [str(v) for v in uniques.to_numpy(dtype=object).tolist()]
    texts = pa.array(uniques, type=pa.large_string()).cast(pa.large_binary())
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    return codes, texts


def _spread(hashed: pa.Array, codes: np.ndarray, name: str | None) -> pd.Series:
    """The pseudonym of each row (its code into the distinct values), from the pseudonyms of
    the distinct values."""
    import pandas as pd
    import pyarrow as pa

    rows = hashed.take(pa.array(codes, mask=codes < 0))
    return pd.Series(pd.array(rows, dtype="str"), name=name)


def pseudonymise_series(values: pd.Series, key: bytes) -> pd.Series:
    """Pseudonymise every non-empty value (as pseudonym() would); each distinct value is hashed
    once, and the pseudonyms are spread back over the rows through the factorised codes."""
    codes, texts = _distinct_texts(values)
    return _spread(_pseudonyms(texts, key), codes, values.name).set_axis(values.index)


def identifier_columns(declared: list[str], columns) -> list[str]:
    """Declared client-id columns plus every record identifier (`*_id`) present.

    A raw enrolment or session id is as good as a client id to anyone holding the case system,
    so record ids are pseudonymised too (the same key keeps joins between tables intact).
    """
    present = list(columns)
    wanted = [*declared, *(c for c in present if str(c).endswith("_id"))]
    return [c for c in dict.fromkeys(wanted) if c in present]


@dataclass
class IdGroup:
    """One identifier column name across the tables holding it: its factorised codes (the
    tables' rows one after another) and the UTF-8 text of each distinct value."""

    column: str
    tables: list[str]
    sizes: list[int]
    codes: np.ndarray
    texts: pa.Array


def _drops_and_ids(tables: dict[str, pd.DataFrame]) -> tuple[dict[str, list[str]], dict]:
    """Per table the columns pseudonymise drops, and per identifier column the tables with it."""
    from evaluation.data.contract import load_spec, schema_dir

    known = {p.stem for p in schema_dir().glob("*.yaml")}
    drops: dict[str, list[str]] = {}
    where: dict[str, list[str]] = {}  # column name -> the tables holding it
    for name, df in tables.items():
        if name not in known:
            raise ConfigError(
                f"table {name} has no schema in data_schemas/: cannot pseudonymise it"
            )
        spec = load_spec(name)
        drops[name] = [c for c in spec.dropped if c in df.columns]
        kept = [c for c in df.columns if c not in drops[name]]
        for col in identifier_columns(spec.pseudonymised, kept):
            where.setdefault(col, []).append(name)
    return drops, where


def id_groups(tables: dict[str, pd.DataFrame]) -> IdGroups:
    """The identifier columns pseudonymise(tables) hashes, grouped by name: a client id in five
    tables is hashed once (computed ahead by prepare, to hash while validation runs)."""
    import pandas as pd

    groups = IdGroups()
    for col, names in _drops_and_ids(tables)[1].items():
        joined = pd.concat([tables[n][col] for n in names], ignore_index=True)
        codes, texts = _distinct_texts(joined)
        if len(texts) < 2**31 - 1:  # half the memory of the row codes at national scale
            codes = codes.astype("int32", copy=False)
        groups.append(IdGroup(col, names, [len(tables[n]) for n in names], codes, texts))
    return groups


def unrepeated(groups: list[IdGroup]) -> set[tuple[str, str]]:
    """(table, column) of each group's first table when its identifiers are all filled in and
    distinct: factorising numbers values by first appearance, so its codes are then 0, 1, ..."""
    import numpy as np

    out = set()
    for g in groups:
        first = g.codes[: g.sizes[0]]
        if np.array_equal(first, np.arange(len(first), dtype=first.dtype)):
            out.add((g.tables[0], g.column))
    return out


class IdGroups(list):
    """The groups of id_groups(), with their texts joined once (see all_texts)."""

    @functools.cached_property
    def texts(self) -> pa.Array:
        import pyarrow as pa

        joined = pa.concat_arrays([g.texts for g in self])
        start = 0
        for g in self:  # each group's texts become a view of the joined ones (one copy kept)
            g.texts, start = joined.slice(start, len(g.texts)), start + len(g.texts)
        return joined


def all_texts(groups: list[IdGroup]) -> pa.Array:
    """Every group's distinct texts, one after another: what is hashed in one batch."""
    return (groups if isinstance(groups, IdGroups) else IdGroups(groups)).texts


def pseudonymise(
    tables: dict[str, pd.DataFrame],
    key: bytes | None = None,
    groups: list[IdGroup] | None = None,
    prefixes: Callable[[pa.Array, bytes], bytes] | None = None,
) -> dict[str, pd.DataFrame]:
    """New tables with identifiers pseudonymised and special-category/free-text columns dropped.

    key defaults to load_key(); callers pass only a key that load_key() returned (loaded once
    per run), never one from a notebook parameter or command-line option. groups: id_groups()
    of these tables (or of the same rows before validation finished them), prefixes: what
    hashes all_texts(groups) (see _pseudonyms).
    """
    key = load_key() if key is None else _checked(key, "the caller")
    drops, where = _drops_and_ids(tables)
    out = {name: df.drop(columns=drops[name]) for name, df in tables.items()}
    if groups is None or [(g.column, g.tables, g.sizes) for g in groups] != [
        (col, names, [len(tables[n]) for n in names]) for col, names in where.items()
    ]:
        groups = id_groups(out)
    # a client id in five tables is hashed once, and the distinct values of every column are
    # hashed in one batch (split evenly over two processes when there are many)
    if not groups:
        return out
    hashed = _pseudonyms(all_texts(groups), key, prefixes)
    starts = accumulate((len(g.texts) for g in groups[:-1]), initial=0)  # where each begins

    def spread(group: IdGroup, first: int) -> pd.Series:
        return _spread(hashed.slice(first, len(group.texts)), group.codes, group.column)

    # Arrow's take runs without the GIL
    columns = each(lambda at: spread(*at), zip(groups, starts, strict=True))
    for g, column in zip(groups, columns, strict=True):
        start = 0
        for n, size in zip(g.tables, g.sizes, strict=True):
            out[n][g.column] = column.iloc[start : start + size].set_axis(out[n].index)
            start += size
    return out
