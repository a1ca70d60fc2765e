"""Fast membership tests and look-ups on large string columns.

pandas' ``Series.isin`` and ``Series.map`` on an Arrow-backed string column go through Python
objects (about a second per 100,000 keys for ``isin``); factorising the values and the keys
together in Arrow and comparing integer codes gives the same answers in milliseconds.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd


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
    else:
        joint = _joint_codes(keys, values, missing_matches=False)
        if joint is not None:
            key_codes, value_codes, size = joint
            known = np.zeros(size + 1, dtype=bool)  # the last slot: a missing value (code -1)
            known[key_codes[key_codes >= 0]] = True
            return pd.Series(known[value_codes], index=values.index, name=values.name)
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        # integer codes (data.id_codes): pandas' own isin is fast on numbers
        return values.isin(pd.unique(pd.Series(keys).dropna()))
    return values.astype(object).isin(pd.unique(pd.Series(keys, dtype=object).dropna()))


def left_join_unique(left: pd.DataFrame, right: pd.DataFrame, on: str) -> pd.DataFrame:
    """left.merge(right, on=on, how="left") (index reset). When the keys are Arrow strings and
    each left key has exactly one row in right (a look-up by a primary key), the rows are found
    by hashing the left keys only, not the whole right table; otherwise it is the merge."""
    rows = _single_rows(left[on], right[on])
    if rows is None:
        return left.merge(right, on=on, how="left")
    found = right.drop(columns=on).iloc[rows].reset_index(drop=True)
    return pd.concat([left.reset_index(drop=True), found], axis=1)


def _single_rows(keys: pd.Series, column: pd.Series) -> np.ndarray | None:
    """Per key the position of its only row in column; None unless both are Arrow strings, no
    key is missing and every key occurs exactly once in column."""
    if not _arrow_strings(keys, column):
        return None
    import pyarrow as pa
    import pyarrow.compute as pc

    wanted = pa.array(keys.array)
    if wanted.null_count:
        return None
    distinct = pc.unique(wanted)
    key_code = pc.index_in(wanted, value_set=distinct).to_numpy()
    code = pc.index_in(pa.array(column.array), value_set=distinct)
    code = code.to_numpy(zero_copy_only=False)  # floats, NaN where a row has no key of ours
    hit = np.flatnonzero(~np.isnan(code))
    code = code[hit].astype(np.intp)
    if not (np.bincount(code, minlength=len(distinct)) == 1).all():
        return None
    row = np.empty(len(distinct), dtype=np.intp)
    row[code] = hit
    return row[key_code]


def shared_codes(first: pd.Series, second: pd.Series) -> tuple[np.ndarray, np.ndarray, int]:
    """Integer codes 0..n-1 of first's distinct values (-1 for a missing value) and, per value
    of second, the code of the equal value in first (-1 when there is none); n, the number of
    codes. Arrow string columns are hashed on first's distinct values only."""
    if _arrow_strings(first, second):
        import pyarrow as pa
        import pyarrow.compute as pc

        distinct = pc.unique(pa.array(first.array)).drop_null()
        own, theirs = (
            pc.fill_null(pc.index_in(pa.array(x.array), value_set=distinct), -1)
            .to_numpy()
            .astype(np.intp)
            for x in (first, second)
        )
        return own, theirs, len(distinct)
    both = pd.concat(
        [pd.Series(first.array, copy=False), pd.Series(second.array, copy=False)],
        ignore_index=True,
    )
    codes, _ = pd.factorize(both)  # first's values come first: they take codes 0..n-1
    own, rest = codes[: len(first)], codes[len(first) :]
    n = int(own.max()) + 1 if (own >= 0).any() else 0
    return own, np.where(rest < n, rest, -1), n


def _arrow_strings(*columns: pd.Series) -> bool:
    dtype = columns[0].dtype
    return (
        isinstance(dtype, pd.StringDtype)
        and dtype.storage == "pyarrow"
        and all(c.dtype == dtype for c in columns)
    )
