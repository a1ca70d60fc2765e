"""Fast membership tests on large string columns.

pandas' ``Series.isin`` on an Arrow-backed string column converts every key to an Arrow scalar
one at a time, which costs about a second per 100,000 keys; hashing the values as Python
objects gives the same answer in a few milliseconds.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd


def member(values: pd.Series, keys: pd.Series | pd.Index | Iterable) -> pd.Series:
    """values.isin(keys) (missing keys are ignored), fast for large string columns."""
    if not isinstance(keys, (pd.Series, pd.Index)):
        keys = list(keys)
    return values.astype(object).isin(pd.unique(pd.Series(keys, dtype=object).dropna()))
