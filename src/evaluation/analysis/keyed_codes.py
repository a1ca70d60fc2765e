"""Look-ups by client id on integer codes, for the analyses on large tables.

Joining two string columns makes pandas factorise both (about a second per million ids). A
returnee table is small and its ids distinct, so hashing only its ids in Arrow and probing the
large table's column gives the same rows (a look-up by primary key, codes shared by two tables)
in a fraction of that; other columns fall back to pandas itself. Kept out of data.membership:
that module is part of validation, whose code hash keys the prepared data, so a change here
would otherwise validate every dataset again.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from evaluation.data.membership import same_arrow_strings


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
    if not same_arrow_strings(keys, column):
        return None
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
    if same_arrow_strings(first, second):
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
