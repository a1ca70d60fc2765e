"""A validation finding and how its place and value are shown to the user."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Problem:
    """One finding: where (table, column, source row), which rule, and what, in plain words."""

    table: str | None
    column: str | None
    row: int | None
    rule: str
    message: str
    value: str | None = None
    severity: str = "error"

    def __post_init__(self) -> None:
        if isinstance(self.value, str) and len(self.value) > MAX_SHOWN:
            object.__setattr__(self, "value", clip(self.value))


MAX_SHOWN = 80  # longer values are shortened in messages, with their length


def clip(text: str, limit: int = MAX_SHOWN) -> str:
    """Text as shown in a message: a value longer than limit characters is cut, and its length
    given, so that a 10 MB cell does not become a 10 MB error line."""
    if len(text) <= limit:
        return text
    return f"{text[: limit - 20]}… ({len(text):,} characters)"


def show(value: Any) -> str:
    """A cell value as the user would recognise it (dates as YYYY-MM-DD, 3.0 as 3), shortened
    to about 80 characters when longer."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "(empty)"
    if isinstance(value, pd.Timestamp | dt.datetime):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return clip(str(value))


def where(file: str, row: int | None, column: str | None) -> str:
    """'enrolments.csv row 14, column enrolment_date' (parts left out when unknown)."""
    parts = [file]
    if row is not None:
        parts.append(f"row {row}")
    text = " ".join(parts)
    return f"{text}, column {column}" if column else text
