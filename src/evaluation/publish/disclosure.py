"""Statistical disclosure control: the markers, legend and types every funder-facing table shares.

The rules are applied by publish.suppress (``suppress_table``) and checked by
publish.disclosure_audit; issue 8, item 2.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

PRIMARY = "primary"
COMPLEMENT = "complement"
SECONDARY = "secondary"
RATE = "rate"
SECONDARY_MARK = "x"

Cell = tuple[int, str]


class DisclosureError(ValueError):
    """A table cannot be protected by suppression alone (merge categories or drop the table)."""


def primary_mark(threshold: int) -> str:
    """Marker for a primary-suppressed count: '<5' for threshold 5."""
    return f"<{threshold}"


def legend(threshold: int = 5, suppress_zero: bool = False) -> str:
    """The sentence printed under a suppressed table explaining its markers."""
    low = "0" if suppress_zero else "1"
    return (
        f"{primary_mark(threshold)}: fewer than {threshold} ({low}–{threshold - 1}) people, "
        f"not shown to protect privacy. {SECONDARY_MARK}: not shown, so that a figure marked "
        f"{primary_mark(threshold)} cannot be worked out from totals or rates."
    )


@dataclass(frozen=True)
class Rule:
    """A linear relation a reader knows between cells: sum(coef * cell) == rhs."""

    cells: tuple[Cell, ...]
    coefs: tuple[int, ...]
    rhs: float = 0.0


@dataclass(frozen=True)
class SuppressedTable:
    """A table ready to publish (markers in place of hidden cells), with why each cell was hidden.

    ``reasons`` has the shape of ``table``: "" where shown, else "primary", "complement"
    (numerator whose complement N - n is small), "secondary" or "rate".
    """

    table: pd.DataFrame
    reasons: pd.DataFrame
    legend: str
    threshold: int
    count_cols: tuple[str, ...]
    row_total: str | None
    total_row: bool
    public_totals: bool
    group_cols: tuple[str, ...]
    equal_cells: tuple[tuple[Cell, Cell], ...]
    rate_pairs: tuple[tuple[str, str, tuple[str, ...]], ...]
    suppress_zero: bool
    split_markers: bool
    unmasked: pd.DataFrame = field(repr=False)

    @property
    def mask(self) -> pd.DataFrame:
        """Boolean frame: True where a cell is hidden."""
        return self.reasons != ""

    @property
    def n_hidden(self) -> int:
        """How many count cells are hidden (primary + complement + secondary)."""
        counts = self.reasons[list(self.count_cols)]
        return int((counts != "").to_numpy().sum())


def is_withheld(n: int, N: int, threshold: int = 5) -> bool:
    """True when rate n/N must not be printed: n or N - n is 1..threshold-1, or N < threshold."""
    small = range(1, threshold)
    return N < threshold or n in small or (N - n) in small


def describe_rate(rate: object, threshold: int = 5) -> str:
    """'withheld (fewer than 5)' for a disclosive rate, else rate.describe() (n, N, CI)."""
    if is_withheld(rate.n, rate.N, threshold):  # type: ignore[attr-defined]
        return f"withheld (fewer than {threshold})"
    return rate.describe()  # type: ignore[attr-defined]
