"""Dominance rule for amounts: a total or mean is unsafe when a few contributors make up most of it.

The (n, k) rule used by statistical offices: a cell is withheld when its n largest
contributors account for more than k of the total (here n = 2, k = 85 % by default), so that
no contributor can estimate another's amount from the published figure. It applies on top of
the minimum count of contributors.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

DEFAULT_N = 2
DEFAULT_K = 0.85


@dataclass(frozen=True)
class AmountCheck:
    """The decision for one amount cell and why."""

    safe: bool
    contributors: int
    top_share: float | None
    reason: str  # "" when safe


def check_amounts(
    amounts: Iterable[float], threshold: int = 5, n: int = DEFAULT_N, k: float = DEFAULT_K
) -> AmountCheck:
    """Apply the minimum-contributor and (n, k) dominance rules to one cell's amounts."""
    a = np.asarray(amounts if isinstance(amounts, np.ndarray) else list(amounts), dtype=float)
    with np.errstate(invalid="ignore"):
        x = a[np.isfinite(a) & (a > 0)]  # None (NaN here), infinite and non-positive left out
    total = float(x.sum())
    contributors = len(x)
    if contributors == 0:
        return AmountCheck(True, 0, None, "")
    top = float(np.sort(x)[-n:].sum() / total)
    if contributors < threshold:
        return AmountCheck(False, contributors, top, f"fewer than {threshold} contributors")
    if top > k:
        return AmountCheck(
            False, contributors, top, f"the {n} largest contributors give over {k:.0%}"
        )
    return AmountCheck(True, contributors, top, "")
