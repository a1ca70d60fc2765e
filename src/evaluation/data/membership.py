"""Fast membership tests and look-ups on large identifier columns, for every stage.

pandas' ``Series.isin`` and ``Series.map`` on an Arrow-backed string column go through Python
objects (about a second per 100,000 keys for ``isin``). ``isin`` and ``lookup`` hash one side
in Arrow and probe it with the other (a missing key never matches); ``lookup`` looks integer
codes (data.id_codes) up in a table indexed by code instead. ``member`` is ``isin`` as a
pandas Series; ``positions`` numbers both sides together, so that a missing key finds a
missing index value, as ``Series.map`` does.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def _joint_codes(
    first: pd.Series | pd.Index, second: pd.Series, missing_matches: bool
) -> tuple[np.ndarray, np.ndarray, int] | None:
    """Integer codes of two string (or same-category) columns in one numbering, and the number
    of codes (None for other columns); missing values get a code of their own when
    missing_matches, else -1."""
    if isinstance(first.dtype, pd.CategoricalDtype) and first.dtype == second.dtype:
        size = len(first.dtype.categories)
        codes = [np.asarray(pd.Categorical(x).codes, dtype=np.intp) for x in (first, second)]
        if missing_matches:
            codes = [np.where(c < 0, size, c) for c in codes]
        return codes[0], codes[1], size + 1
    if not (isinstance(first.dtype, pd.StringDtype) and first.dtype == second.dtype):
        return None
    both = pd.concat(
        [pd.Series(first.array, copy=False), pd.Series(second.array, copy=False)],
        ignore_index=True,
    )
    codes, uniques = pd.factorize(both, use_na_sentinel=not missing_matches)
    size = len(uniques) + (1 if missing_matches and both.isna().any() else 0)
    return codes[: len(first)], codes[len(first) :], size


def positions(keys: pd.Series, index: pd.Index) -> np.ndarray:
    """Per key the position of the equal value in the (unique) index, -1 when absent; a missing
    key finds a missing index value, as ``keys.map(series)`` does."""
    joint = _joint_codes(index, keys, missing_matches=True)
    if joint is None:
        return index.get_indexer(keys)
    index_codes, key_codes, size = joint
    where = np.full(size, -1, dtype=np.intp)
    where[index_codes[::-1]] = np.arange(len(index_codes), dtype=np.intp)[::-1]
    return where[key_codes]


def member(values: pd.Series, keys: pd.Series | pd.Index | Iterable) -> pd.Series:
    """values.isin(keys) (missing keys are ignored), fast for large string columns."""
    if not isinstance(keys, (pd.Series, pd.Index)):
        keys = list(keys)
    elif isinstance(values.dtype, pd.CategoricalDtype) and values.dtype == keys.dtype:
        key_codes, value_codes, size = _joint_codes(keys, values, missing_matches=False)
        known = np.zeros(size + 1, dtype=bool)  # the last slot: a missing value (code -1)
        known[key_codes[key_codes >= 0]] = True
        return pd.Series(known[value_codes], index=values.index, name=values.name)
    elif _arrow_kind(values) and _arrow_kind(values) == _arrow_kind(keys):
        return pd.Series(isin(values, keys), index=values.index, name=values.name)
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        # integer codes (data.id_codes): pandas' own isin is fast on numbers
        return values.isin(pd.unique(pd.Series(keys).dropna()))
    return values.astype(object).isin(pd.unique(pd.Series(keys, dtype=object).dropna()))


def _arrow_kind(values: pd.Series | pd.Index) -> str | None:
    """'text' for Arrow-backed strings (what isin and lookup hash), else None."""
    dtype = values.dtype
    return "text" if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow" else None


def same_arrow_strings(*columns: pd.Series) -> bool:
    """Every column Arrow-backed strings of one dtype (what isin and lookup hash in Arrow)."""
    return _arrow_kind(columns[0]) is not None and all(c.dtype == columns[0].dtype for c in columns)


def arrow(values: pd.Series | pd.Index) -> pa.Array | pa.ChunkedArray:
    """The values as Arrow data (no copy where they already are): strings as large strings,
    numbers as float64 (integer codes compare exactly), missing values as nulls."""
    arr = pa.array(values, from_pandas=True)
    if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
        return arr.cast(pa.large_string())
    if pa.types.is_integer(arr.type) or pa.types.is_floating(arr.type):
        return arr.cast(pa.float64())
    return arr


def _one_array(values: pd.Series | pd.Index) -> pa.Array:
    arr = arrow(values)
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


def lookup(keys: pd.Series, values: pd.Series | pd.Index) -> np.ndarray:
    """Per key, the position of its first equal among values; -1 when absent or missing."""
    if len(keys) == 0 or len(values) == 0:
        return np.full(len(keys), -1, dtype=np.intp)
    dense = _small_codes(keys, values)
    if dense is not None:  # integer codes (data.id_codes): a table indexed by code
        key_codes, value_codes, size = dense
        none = np.iinfo(np.intp).max
        first = np.full(size + 1, none, dtype=np.intp)  # the last slot: a missing key (-1)
        at = np.flatnonzero(value_codes >= 0)
        np.minimum.at(first, value_codes[at], at)  # each code's first position
        found = first[key_codes]
        found[found == none] = -1
        return found
    found = pc.index_in(arrow(keys), value_set=_one_array(values), skip_nulls=True)
    return found.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.intp)


DENSE_CODES = 1 << 23  # codes up to this are looked up in a table (64 MB at most)


def _small_codes(
    keys: pd.Series, values: pd.Series | pd.Index
) -> tuple[np.ndarray, np.ndarray, int] | None:
    """Both columns as integer codes (missing: -1) and the number of codes, when every value
    is a whole number from 0 up to DENSE_CODES, or a few times the columns' length if that is
    more (data.id_codes' codes); None otherwise."""
    out = []
    for x in (keys, values):
        if not pd.api.types.is_numeric_dtype(x.dtype) or pd.api.types.is_bool_dtype(x.dtype):
            return None
        a = x.to_numpy(dtype="float64", na_value=np.nan)
        ok = ~np.isnan(a)
        if ok.any() and (a[ok].min() < 0 or np.any(a[ok] != np.floor(a[ok]))):
            return None
        out.append((a, ok))
    top = max((float(a[ok].max()) for a, ok in out if ok.any()), default=0.0)
    if top > max(4 * (len(keys) + len(values)), DENSE_CODES):
        return None  # not codes: a table this size would cost more than hashing
    size = int(top) + 1
    codes = [np.where(ok, a, -1).astype(np.intp) for a, ok in out]
    return codes[0], codes[1], size


def isin(keys: pd.Series, values: pd.Series | pd.Index) -> np.ndarray:
    """Per key, whether an equal value exists (a missing key never matches)."""
    if len(keys) == 0 or len(values) == 0:
        return np.zeros(len(keys), dtype=bool)
    if len(values) <= 2 * len(keys):
        hit = pc.is_in(arrow(keys), value_set=_one_array(values), skip_nulls=True)
        return hit.fill_null(False).to_numpy(zero_copy_only=False)
    # many more values than keys: hash the distinct keys and look the values up among them
    # (a large hash table costs more to build than to probe)
    encoded = pc.dictionary_encode(_one_array(keys))
    at = pc.index_in(arrow(values), value_set=encoded.dictionary, skip_nulls=True)
    at = at.drop_null().to_numpy()
    seen = np.zeros(len(encoded.dictionary), dtype=bool)
    seen[at] = True
    codes = encoded.indices
    return seen[codes.fill_null(0).to_numpy(zero_copy_only=False)] & codes.is_valid().to_numpy(
        zero_copy_only=False
    )
