"""The time axis every estimator shares: months of 365.25 / 12 days, and dates from any column."""

from __future__ import annotations

import pandas as pd

DAYS_PER_MONTH = 365.25 / 12


def as_dates(s: pd.Series) -> pd.Series:
    """A column as datetimes; what cannot be read becomes NaT."""
    return pd.to_datetime(s, errors="coerce")
