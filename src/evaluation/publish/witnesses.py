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
from collections.abc import Container, Sequence

import numpy as np

from evaluation.publish.ledger import COUNT, Cell

TOL = 1e-6  # solver tolerance: looser than HiGHS' own (1e-7), far below one person


class Witnesses:
    """Feasible tables as changes from the true one, indexed by the cells they change."""

    def __init__(self, cells: dict[str, Cell], cap: float):
        self.cells = cells
        self.cap = cap
        # per table: its values, then what its feasibility turns on (publish.witnesses.feasible)
        self.tables: list[tuple[dict[str, float], tuple[str, ...], bool]] = []
        self.by_cell: dict[str, list[int]] = {}
        self._seen: set[tuple] = set()

    def add(self, keys: Sequence[str], x: np.ndarray, truth: np.ndarray) -> None:
        """Store the solution x of the variables `keys`, whose true values are `truth` (every
        other cell at its true value)."""
        cells = self.cells
        changed = {keys[i]: float(x[i]) for i in np.flatnonzero(np.abs(x - truth) > TOL)}
        sig = tuple(sorted(changed.items()))
        if not changed or sig in self._seen:
            return
        self._seen.add(sig)
        if any(v < -TOL or v > self.cap + TOL for v in changed.values()):
            return  # outside every question's bounds
        # printed counts at 0: feasible only while they are not shown as withheld (≥ 1 then)
        zeros = tuple(
            k for k, v in changed.items() if cells[k].kind == COUNT and cells[k].artefacts
            and v < 1.0 - TOL
        )  # fmt: skip
        fractional = any(
            cells[k].kind == COUNT and abs(v - round(v)) > TOL for k, v in changed.items()
        )
        i = len(self.tables)
        self.tables.append((changed, zeros, fractional))
        for k in changed:
            self.by_cell.setdefault(k, []).append(i)

    def feasible(
        self, i: int, hidden: Container[str], unknown: Container[str], integer: bool
    ) -> bool:
        """Is stored table i a solution when `unknown` are the unknowns and `hidden` are shown
        as withheld (a withheld printed count is at least 1, as in joint._System._solve)?"""
        changed, zeros, fractional = self.tables[i]
        if integer and fractional:
            return False
        if any(k in hidden for k in zeros):
            return False
        return all(k in unknown for k in changed)

    def span(
        self, target: str, hidden: Container[str], unknown: Container[str], integer: bool
    ) -> tuple[float, float]:
        """A range the target is proven to reach: inside the reader's range, never wider."""
        v0 = float(self.cells[target].value)
        lo = hi = v0
        for i in self.by_cell.get(target, ()):
            v = self.tables[i][0][target]
            if lo <= v <= hi:
                continue
            if self.feasible(i, hidden, unknown, integer):
                lo, hi = min(lo, v), max(hi, v)
        if self.cells[target].kind == COUNT:  # as the solver's ends are rounded
            return float(math.ceil(lo - TOL)), float(math.floor(hi + TOL))
        margin = TOL * (1.0 + abs(v0))  # amounts: only a clear margin counts as proof
        return lo + margin, hi - margin
