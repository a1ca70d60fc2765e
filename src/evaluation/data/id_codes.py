"""Identifiers as integer codes that compare, sort and join exactly as the identifiers do.

Pseudonymised identifiers are strings; joining, matching and sorting on them costs pandas far
more than the same work on integers. Code that only links tables through identifiers (the
disclosure ledger counts people; it never prints an identifier) can run on codes: every
identifier column is mapped through one sorted vocabulary, so equal identifiers get equal codes
in every table and codes sort as the identifiers do. A missing identifier stays missing (NaN,
in a float column).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd


def linking_columns(tables: Mapping[str, pd.DataFrame]) -> dict[str, list[str]]:
    """Per table, its identifier columns that link tables: string columns named *_id whose
    name occurs in more than one table (a table's own row identifier is left alone)."""
    named = {
        name: [c for c in df.columns if c.endswith("_id") and pd.api.types.is_string_dtype(df[c])]
        for name, df in tables.items()
    }
    seen: dict[str, int] = {}
    for cols in named.values():
        for c in cols:
            seen[c] = seen.get(c, 0) + 1
    return {name: [c for c in cols if seen[c] > 1] for name, cols in named.items()}


def code_ids(tables: Mapping[str, pd.DataFrame], workers: int = 1) -> dict[str, pd.DataFrame]:
    """The tables with every linking identifier replaced by its code (the input is unchanged);
    workers: threads reading pseudonyms' digits (pseudonym_rows)."""
    import pyarrow as pa

    columns = {name: cols for name, cols in linking_columns(tables).items() if cols}
    if not columns:
        return dict(tables)
    parts = []
    for name, cols in columns.items():
        for c in cols:
            a = pa.array(tables[name][c].astype("str"))
            a = a.combine_chunks() if isinstance(a, pa.ChunkedArray) else a
            parts.append(a.cast(pa.large_string()))
    numbered = pseudonym_rows(parts, workers)
    if numbered is not None:  # pseudonyms: numbered by their digits, no text hashed
        numbers, valid = numbered
        codes = np.zeros(len(numbers), np.int64)
        codes[valid] = _ranks(numbers[valid], workers)
    else:
        encoded = pa.concat_arrays(parts).dictionary_encode()  # one pass, one vocabulary
        words = encoded.dictionary
        rank = np.empty(len(words), np.int64)  # a word's place in sorted order
        rank[_sort_order(words)] = np.arange(len(words))
        indices = encoded.indices
        valid = indices.is_valid().to_numpy(zero_copy_only=False)
        where = indices.fill_null(0).to_numpy(zero_copy_only=False)
        codes = rank[where]
    out = dict(tables)
    start = 0
    for name, cols in columns.items():
        df = tables[name].copy(deep=False)
        for c in cols:
            stop = start + len(df)
            ok = valid[start:stop]
            col = codes[start:stop] if ok.all() else np.where(ok, codes[start:stop], np.nan)
            df[c] = pd.Series(col, index=df.index, name=c)
            start = stop
        out[name] = df
    return out


_HALVES_FROM = 1 << 20  # numbers from which ranking the two halves in two threads pays


def _ranks(numbers: np.ndarray, workers: int = 1) -> np.ndarray:
    """Each number's place among the distinct numbers in sorted order (equal numbers, equal
    places). With two workers the numbers below 2**63 and those above are ranked in two threads
    (pandas' and numpy's work on integers runs without the interpreter lock), the upper half's
    places after the lower half's: the same places, as every lower number sorts first."""
    if workers < 2 or len(numbers) < _HALVES_FROM:
        return _dense_ranks(numbers)[0]
    from evaluation.data.threads import each

    upper = numbers >= np.uint64(1 << 63)
    (low, below), (high, _) = each(_dense_ranks, (numbers[~upper], numbers[upper]))
    out = np.empty(len(numbers), np.int64)
    out[~upper] = low
    out[upper] = high + below
    return out


def _dense_ranks(numbers: np.ndarray) -> tuple[np.ndarray, int]:
    """_ranks in one thread, and how many distinct numbers there are."""
    found, distinct = pd.factorize(numbers)
    rank = np.empty(len(distinct), np.int64)  # a number's place in sorted order
    rank[np.argsort(distinct, kind="stable")] = np.arange(len(distinct))
    return rank[found], len(distinct)


HEX_DIGITS = 16  # a pseudonym: one prefix, then 16 lowercase hex digits (data.pseudonymise)
_NIBBLE = np.full(256, 255, np.uint8)
_NIBBLE[np.frombuffer(b"0123456789abcdef", np.uint8)] = np.arange(16, dtype=np.uint8)


def _sort_order(words) -> np.ndarray:
    """pyarrow.compute.sort_indices of distinct texts (a large_string array without nulls).
    Pseudonyms, all of one width and one prefix and lowercase hex digits after it, sort as the
    numbers their digits spell: sorting those numbers is many times faster."""
    import pyarrow.compute as pc

    numbers = _hex_numbers(words)
    if numbers is None:
        return pc.sort_indices(words).to_numpy()
    return np.argsort(numbers, kind="stable")


_ROWS = 1 << 18  # rows numbered per block


def pseudonym_rows(parts: list, workers: int = 1) -> tuple[np.ndarray, np.ndarray] | None:
    """The number each row's pseudonym spells (0 where missing) and which rows have one, over
    large_string arrays one after another; None unless every text present is a pseudonym of
    one width and one prefix (then equal texts, and only they, get equal numbers, and numbers
    sort as the texts do). workers: threads spelling the parts (numpy's work on them runs
    without the interpreter lock)."""
    from evaluation.data.threads import each

    spelled = each(_spelled, parts, workers)
    if any(s is None for s in spelled):
        return None
    shapes = {s[2] for s in spelled if s[2] is not None}  # type: ignore[index]
    if len(shapes) != 1:  # no pseudonym at all, or two widths or prefixes
        return None
    return (
        np.concatenate([s[0] for s in spelled]),  # type: ignore[index]
        np.concatenate([s[1] for s in spelled]),  # type: ignore[index]
    )


def _spelled(a) -> tuple[np.ndarray, np.ndarray, tuple[int, bytes] | None] | None:
    """pseudonym_rows() of one array, with the width and prefix of its pseudonyms (None when
    it has none); None when a text present is not a pseudonym or they differ in either."""
    ok = a.is_valid().to_numpy(zero_copy_only=False)
    offsets = np.frombuffer(a.buffers()[1], np.int64)[a.offset : a.offset + len(a) + 1]
    size = np.diff(offsets)
    if not ok.any():
        return np.zeros(len(a), np.uint64), ok, None
    w = int(size[ok][0])
    if w < HEX_DIGITS or np.any(size[ok] != w) or np.any(size[~ok] != 0):
        return None
    raw = np.frombuffer(a.buffers()[2], np.uint8)[offsets[0] : offsets[-1]].reshape(-1, w)
    first = raw[:, : w - HEX_DIGITS]
    head = first[0].copy()
    if np.any(first != head):
        return None
    spelled = np.empty(len(raw), np.uint64)
    for start in range(0, len(raw), _ROWS):  # a block at a time: small temporaries
        digits = _NIBBLE[raw[start : start + _ROWS, w - HEX_DIGITS :]]
        if np.any(digits == 255):
            return None
        packed = np.ascontiguousarray((digits[:, 0::2] << 4) | digits[:, 1::2])
        spelled[start : start + _ROWS] = packed.view(">u8").ravel()
    column = np.zeros(len(a), np.uint64)
    column[ok] = spelled
    return column, ok, (w, head.tobytes())


def _hex_numbers(words) -> np.ndarray | None:
    """The number each pseudonym's hex digits spell, or None when the texts are not all
    pseudonyms of one width and one prefix (a missing text included)."""
    numbered = pseudonym_rows([words]) if len(words) and not words.null_count else None
    return None if numbered is None else numbered[0]
