"""The publish step's fast paths on small frames (issue 16): masking cell by cell, counting the
withheld marks, and leaving unchanged text columns unmapped give what the plain pandas
operations give."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evaluation.publish.export import neutralise, safe_frame
from evaluation.publish.view import MARK, marks, mask


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "n": [3, 12, 0, 7],
            "rate": [0.25, np.nan, 1.0, 0.5],
            "label": pd.Series(["a", None, "x", "b"], dtype="str"),
            "mixed": pd.Series([MARK, 4, 2.5, None], dtype=object),
            "group": pd.Categorical(["x", "y", "x", "y"]),
            "flag": [True, False, True, False],
        }
    )


def _mask_by_loc(df: pd.DataFrame, rows, cols) -> None:
    """The plain pandas way: the columns as objects, then .loc."""
    cols = [c for c in cols if c in df]
    if cols:
        df[cols] = df[cols].astype(object)
        df.loc[rows, cols] = MARK


@pytest.mark.parametrize(
    "rows, cols",
    [(1, ["n", "rate"]), (0, ["label", "absent"]), (3, ["mixed", "group", "flag"]), (2, [])],
)
def test_mask_one_row_as_loc_does(rows, cols):
    fast, plain = _frame(), _frame()
    mask(fast, rows, cols)
    _mask_by_loc(plain, rows, cols)
    assert list(fast.dtypes) == list(plain.dtypes)
    assert fast.astype(str).equals(plain.astype(str))


def test_mask_all_rows_as_loc_does():
    fast, plain = _frame(), _frame()
    mask(fast, fast.index, ["rate", "label"])
    _mask_by_loc(plain, plain.index, ["rate", "label"])
    assert fast.astype(str).equals(plain.astype(str))
    assert (fast["rate"] == MARK).all()


def test_marks_counts_as_astype_str_does():
    df = _frame()
    mask(df, 1, ["n", "rate"])
    mask(df, 3, ["label"])
    # by hand: n and rate of row 1, label of rows 2 ("x" as text) and 3, mixed of row 0,
    # group of rows 0 and 2 (the category "x"); numbers and booleans never print as x
    assert marks(df) == 7
    assert marks(df) == int((df.astype(str) == MARK).to_numpy().sum())
    assert marks(df.iloc[:0]) == 0


def test_safe_frame_leaves_text_as_mapping_every_cell_would():
    df = pd.DataFrame(
        {
            "plain": pd.Series(["MOH1", None, "a-b"], dtype="str"),
            "formula": pd.Series(["ok", "=1+1", "x"], dtype="str"),
            "inner_cr": pd.Series(["a\rb", "c", "d"], dtype="str"),
            "lead_nl": pd.Series(["\nx", "y", "z"], dtype="str"),
            "numbers": pd.Series([1.5, 2.25, 3.0], dtype=object),
        }
    )
    plain = df.copy()
    for col in plain.columns:  # the second method: every text cell through neutralise
        plain[col] = plain[col].map(neutralise)
    fast = safe_frame(df)
    assert fast.to_csv(index=False) == plain.to_csv(index=False)
    assert fast["formula"].tolist()[1] == "'=1+1"
    assert fast["inner_cr"].tolist()[0] == "a\nb"
    assert fast["plain"].tolist()[0] == "MOH1" and fast["numbers"].dtype == float
