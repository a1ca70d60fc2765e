"""Replace client and record identifiers by keyed pseudonyms; drop special-category and free text.

The key comes from the environment, never from a parameter: papermill writes parameters into
executed notebooks, and a key there would undo the pseudonymisation. In order:
1. EVALUATION_PSEUDONYM_KEY (the key itself),
2. EVALUATION_PSEUDONYM_KEY_FILE (a file holding it, outside any git repository),
3. ~/.config/evaluation/pseudonym.key, created with a random key (mode 0600) when missing.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from evaluation.errors import ConfigError

if TYPE_CHECKING:
    import pandas as pd

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


def pseudonymise_series(
    values: pd.Series, key: bytes, memo: dict[str, str] | None = None
) -> pd.Series:
    """Pseudonymise every non-empty value; each distinct value is hashed once (per memo).

    memo is shared across the tables of one dataset, so a client id that appears in seven
    tables is hashed once. One HMAC state is keyed once and copied per value.
    """
    import pandas as pd

    memo = {} if memo is None else memo
    base = hmac.new(key, digestmod=hashlib.sha256)
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    out = []
    for v in uniques.to_numpy(dtype=object).tolist():
        text = str(v)
        hit = memo.get(text)
        if hit is None:
            h = base.copy()
            h.update(text.encode("utf-8"))
            hit = memo[text] = PREFIX + h.hexdigest()[:16]
        out.append(hit)
    hashed = pd.array(out + [pd.NA], dtype="str")
    return pd.Series(hashed[codes], index=values.index, dtype="str")


def identifier_columns(declared: list[str], columns) -> list[str]:
    """Declared client-id columns plus every record identifier (`*_id`) present.

    A raw enrolment or session id is as good as a client id to anyone holding the case system,
    so record ids are pseudonymised too (the same key keeps joins between tables intact).
    """
    present = list(columns)
    wanted = [*declared, *(c for c in present if str(c).endswith("_id"))]
    return [c for c in dict.fromkeys(wanted) if c in present]


def pseudonymise(
    tables: dict[str, pd.DataFrame], key: bytes | None = None
) -> dict[str, pd.DataFrame]:
    """New tables with identifiers pseudonymised and special-category/free-text columns dropped.

    key defaults to load_key(); callers pass only a key that load_key() returned (loaded once
    per run), never one from a notebook parameter or command-line option.
    """
    from evaluation.data.contract import load_spec, schema_dir

    key = load_key() if key is None else _checked(key, "the caller")
    known = {p.stem for p in schema_dir().glob("*.yaml")}
    out = {}
    memo: dict[str, str] = {}
    for name, df in tables.items():
        if name not in known:
            raise ConfigError(
                f"table {name} has no schema in data_schemas/: cannot pseudonymise it"
            )
        spec = load_spec(name)
        df = df.drop(columns=[c for c in spec.dropped if c in df.columns])
        for col in identifier_columns(spec.pseudonymised, df.columns):
            df[col] = pseudonymise_series(df[col], key, memo)
        out[name] = df
    return out
