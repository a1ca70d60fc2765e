"""Tables the disclosure check has already seen: a cheap proof that a withheld cell is safe.

Every optimum the solver returns is a whole table (withheld and unpublished cells filled in,
shown cells at their values) that satisfies every relation of the ledger. Such a table stays
a solution of any later question whose unknowns include every cell it changes and whose
bounds it meets, and the true table is always one. So when two stored tables, still feasible,
give a withheld cell values at least the protection interval apart, the reader's range is at
least that wide too, and the check need not solve for it. A cell the stored tables cannot
prove safe is solved for as before: the decisions are those of the full solve.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Container, Sequence

import numpy as np

from evaluation.publish.ledger import COUNT, Cell

TOL = 1e-6  # solver tolerance: looser than HiGHS' own (1e-7), far below one person


class Witnesses:
    """Feasible tables as changes from the true one, indexed by the cells they change."""

    def __init__(self, cells: dict[str, Cell], cap: float, unpublished: Container[str]):
        self.cells = cells
        self.cap = cap
        self.unpublished = unpublished  # unknown to every question
        # per table: its values; the printed cells it changes (each must be unknown to the
        # question); those it sets to 0 (not then shown as withheld); whether it is fractional
        self.tables: list[tuple[dict[str, float], tuple[str, ...], tuple[str, ...], bool]] = []
        self.by_cell: dict[str, list[int]] = {}
        self._seen: set[tuple] = set()

    def add(
        self, keys: Sequence[str], x: np.ndarray, truth: np.ndarray, counts: np.ndarray
    ) -> None:
        """Store the solution x of the variables `keys`, whose true values are `truth` and
        which are counts where `counts` is set (every other cell at its true value)."""
        cells = self.cells
        moved = np.flatnonzero(np.abs(x - truth) > TOL)
        changed = {keys[i]: float(x[i]) for i in moved}
        sig = tuple(sorted(changed.items()))
        if not changed or sig in self._seen:
            return
        self._seen.add(sig)
        if any(v < -TOL or v > self.cap + TOL for v in changed.values()):
            return  # outside every question's bounds
        printed = tuple(k for k in changed if k not in self.unpublished)
        # printed counts at 0: feasible only while they are not shown as withheld (≥ 1 then)
        zeros = tuple(
            k for k in printed if cells[k].kind == COUNT and cells[k].artefacts
            and changed[k] < 1.0 - TOL
        )  # fmt: skip
        xs = x[moved]
        fractional = bool(np.any(counts[moved] & (np.abs(xs - np.round(xs)) > TOL)))
        i = len(self.tables)
        self.tables.append((changed, printed, zeros, fractional))
        for k in changed:
            self.by_cell.setdefault(k, []).append(i)

    def feasible(self, i: int, hidden: Container[str], target: str, integer: bool) -> bool:
        """Is stored table i a solution of the question about `target` with `hidden` withheld:
        every cell it changes unknown (withheld, unpublished or the target), every withheld
        printed count at least 1 (as in joint._System._solve), integral if asked?"""
        _, printed, zeros, fractional = self.tables[i]
        if integer and fractional:
            return False
        for k in zeros:
            if k in hidden:
                return False
        for k in printed:
            if k not in hidden and k != target:
                return False
        return True

    def proves(
        self,
        target: str,
        hidden: Container[str],
        integer: bool,
        safe: Callable[[tuple[float, float]], bool],
    ) -> bool:
        """True when stored tables, still feasible, show the target over a range that is
        `safe`: the reader's range contains it, so it is safe too."""
        cell = self.cells[target]
        v0 = float(cell.value)
        lo = hi = v0
        for i in reversed(self.by_cell.get(target, ())):
            v = self.tables[i][0][target]
            if lo <= v <= hi or not self.feasible(i, hidden, target, integer):
                continue
            lo, hi = min(lo, v), max(hi, v)
            if cell.kind == COUNT:  # as the solver's ends are rounded
                shown = (float(math.ceil(lo - TOL)), float(math.floor(hi + TOL)))
            else:  # amounts: only a clear margin counts as proof
                margin = TOL * (1.0 + abs(v0))
                shown = (lo + margin, hi - margin)
            if safe(shown):
                return True
        return False
