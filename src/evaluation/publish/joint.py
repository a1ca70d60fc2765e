"""One disclosure check for the whole ledger: primary, complement, dominance and joint secondary.

Rules, applied to every cell of the ledger at once (``check``):

* **primary**: a count in 1..threshold-1 is withheld (zeros are shown: "nobody" is not a
  small cell). Public cells (already in ``data/published/figures.csv``) are never withheld.
* **complement**: a rate n/N registers N − n as a cell of its own (``Ledger.rate``), so a small
  complement is primary too, and n is then protected like any other linked cell.
* **dominance** (amounts): a total or mean of an amount over fewer than ``threshold`` people is
  withheld, and so is one where the ``nk_n`` largest contributions make up more than ``nk_k``
  of the total ((n, k) rule) or where the total minus the two largest is less than ``p_ratio``
  of the largest (p % rule: the second largest contributor could estimate the largest too well).
* **secondary**: further cells are withheld, jointly over every relation of the ledger (margins,
  unions of projects, cohorts against published totals, numerators shared by several bounds),
  until an adversary who knows every shown cell and every relation and solves the integer
  program cannot narrow any withheld count to a range narrower than ``threshold`` (max − min
  ≥ threshold) nor an amount to within ``p_ratio`` of its value. Complements are chosen greedily
  among the cells linked to an exposed cell, smallest first and headline figures last, so that
  few people's worth of information is lost.

Withheld cells all carry the same marker: a "<5" marker would itself tell a reader that the
cell lies in 1..4, a range narrower than the threshold.
"""

from __future__ import annotations

import math
from collections.abc import Container, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from evaluation.publish.ledger import AMOUNT, COUNT, Ledger, Relation
from evaluation.publish.witnesses import Witnesses

PRIMARY = "primary"
DOMINANCE = "dominance"
SECONDARY = "secondary"
DERIVED = "derived"
MARK = "x"


class JointDisclosureError(ValueError):
    """A withheld cell follows from public figures alone: no suppression can protect it."""


@dataclass(frozen=True)
class Rules:
    """Parameters of the check (threshold from evaluation.yml; dominance as in ACRO's defaults)."""

    threshold: int = 5
    nk_n: int = 2
    nk_k: float = 0.9
    p_ratio: float = 0.10


@dataclass
class Decision:
    """What may be shown: withheld cells with the rule that withheld them, and what a reader
    can still prove about each (its feasible range, itself safe to state)."""

    rules: Rules
    withheld: dict[str, str] = field(default_factory=dict)  # cell key -> rule
    derived_withheld: dict[str, str] = field(default_factory=dict)  # derived key -> cell key
    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)  # attacker's range
    unprotectable: list[str] = field(default_factory=list)
    rounds: int = 0
    bounds: dict[str, float] = field(default_factory=dict)  # withheld count -> safe lower bound

    def shown(self, key: str) -> bool:
        """True when the cell or derived statistic may be published."""
        return key not in self.withheld and key not in self.derived_withheld

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form without any withheld value (ranges are what a reader can prove)."""
        return {
            "rules": self.rules.__dict__,
            "withheld": dict(sorted(self.withheld.items())),
            "derived_withheld": dict(sorted(self.derived_withheld.items())),
            "ranges": {k: [_j(lo), _j(hi)] for k, (lo, hi) in sorted(self.ranges.items())},
            "unprotectable": self.unprotectable,
            "rounds": self.rounds,
            "bounds": dict(sorted(self.bounds.items())),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Decision:
        """Inverse of as_dict."""
        return cls(
            Rules(**d["rules"]),
            dict(d["withheld"]),
            dict(d["derived_withheld"]),
            {k: (_unj(a), _unj(b)) for k, (a, b) in d["ranges"].items()},
            list(d.get("unprotectable", [])),
            int(d.get("rounds", 0)),
            {k: float(v) for k, v in d.get("bounds", {}).items()},
        )


def _j(x: float) -> float | None:
    return None if math.isinf(x) else x


def _unj(x: float | None) -> float:
    return math.inf if x is None else float(x)


# --------------------------------------------------------------------------- primary rules


def dominance_fails(contributions: Iterable[float], rules: Rules) -> str | None:
    """Why an amount total may not be shown ((n,k) or p % rule), or None when it may."""
    xs = np.fromiter(contributions, dtype=float)
    xs = np.sort(xs[xs > 0])[::-1].tolist()  # largest first
    total = sum(xs)  # summed in Python, largest first, as the rule has always summed them
    if len(xs) < rules.threshold:
        return f"fewer than {rules.threshold} contributors"
    if total <= 0:
        return None
    if sum(xs[: rules.nk_n]) > rules.nk_k * total:
        return f"({rules.nk_n}, {rules.nk_k:.0%}) dominance"
    if total - xs[0] - xs[1] < rules.p_ratio * xs[0]:
        return f"p-ratio {rules.p_ratio:.0%}"
    return None


def primary(ledger: Ledger, rules: Rules) -> dict[str, str]:
    """Cells withheld by the threshold and dominance rules."""
    out: dict[str, str] = {}
    for key, c in ledger.cells.items():
        if c.public:
            continue
        if c.kind == COUNT and 1 <= c.value < rules.threshold:
            out[key] = PRIMARY
        elif c.kind == AMOUNT and c.contributions and dominance_fails(c.contributions, rules):
            out[key] = DOMINANCE
    return out


# --------------------------------------------------------------------------- the adversary


class _System:
    """Relations grouped into connected components, for auditing withheld cells."""

    def __init__(self, ledger: Ledger):
        self.ledger = ledger
        parent: dict[str, str] = {k: k for k in ledger.cells}

        def find(x: str) -> str:
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        for r in ledger.relations:
            root = find(r.whole)
            for p in r.parts:
                q = find(p)
                if q != root:
                    parent[q] = root
        self.comp = {k: find(k) for k in ledger.cells}
        # a finite box keeps the integer program quick; no cell can exceed every count together
        self.cap = float(sum(abs(c.value) for c in ledger.cells.values())) + 1.0
        self.unpublished = frozenset(k for k, c in ledger.cells.items() if not c.artefacts)
        self.witnesses = Witnesses(ledger.cells, self.cap, self.unpublished)
        self._memo: dict[tuple, dict[str, tuple[float, float]]] = {}
        self.links: dict[str, set[str]] = {k: set() for k in ledger.cells}
        for r in ledger.relations:
            members = (r.whole, *r.parts)
            for m in members:
                self.links[m].update(members)
        # each relation's members (whole first) and the relations of each cell, built once:
        # ranges() runs thousands of times per build and only asks which members are unknown
        self.members = [(r.whole, *r.parts) for r in ledger.relations]
        self.cell_rels: dict[str, list[int]] = {k: [] for k in ledger.cells}
        for i, m in enumerate(self.members):
            for k in dict.fromkeys(m):
                self.cell_rels[k].append(i)
        # the same as arrays, for building a group's equations without a loop per member:
        # every relation's members one after another (whole first, coefficient −1; parts +1)
        self.keys = list(ledger.cells)
        self.at = {k: i for i, k in enumerate(self.keys)}
        self.values = np.array([float(c.value) for c in ledger.cells.values()])
        self.lb_if_hidden = np.array(
            [c.kind == COUNT and bool(c.artefacts) for c in ledger.cells.values()]
        )
        self.unpublished_mask = np.array([k in self.unpublished for k in self.keys])
        sizes = np.array([len(m) for m in self.members], np.intp)
        self.rel_start = np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.intp)
        self.rel_size = sizes
        self.entry_cell = np.array([self.at[k] for m in self.members for k in m], np.intp)
        self.entry_coef = np.concatenate(
            [np.r_[-1.0, np.ones(len(m) - 1)] for m in self.members] or [np.zeros(0)]
        )

    def witnessed(self, hidden: dict[str, str], target: str, integer: bool, ok) -> bool:
        """True when tables already solved show `target` safe (ok) with `hidden` withheld:
        then its exact range need not be solved for (publish.witnesses)."""
        return self.witnesses.proves(target, hidden, integer, lambda r: ok(target, r))

    def ranges(
        self, hidden: dict[str, str], cells: Iterable[str], integer: bool = True
    ) -> dict[str, tuple[float, float]]:
        """Smallest and largest value of each of `cells` consistent with everything shown.

        Only the relations linking unknown cells to one another matter for a target: the
        problem is split into groups of unknowns that share a relation, each solved alone.
        """
        targets = list(cells)
        unknown = _Either(self.unpublished, hidden, set(targets))  # withheld, unpublished, asked
        members, cell_rels = self.members, self.cell_rels
        group_of: dict[str, int] = {}
        groups: list[set[int]] = []
        by_group: dict[int, list[str]] = {}
        for t in targets:
            if t not in group_of:  # the unknowns reached from t through shared relations
                g, seen, stack = len(groups), set(), [t]
                group_of[t] = g
                while stack:
                    for r in cell_rels[stack.pop()]:
                        if r not in seen:
                            seen.add(r)
                            for m in members[r]:
                                if m not in group_of and m in unknown:
                                    group_of[m] = g
                                    stack.append(m)
                groups.append(seen)
            by_group.setdefault(group_of[t], []).append(t)
        out: dict[str, tuple[float, float]] = {}
        if not by_group:
            return out
        is_unknown = self.unpublished_mask.copy()
        at = self.at
        is_unknown[[at[k] for k in hidden]] = True
        is_unknown[[at[k] for k in targets]] = True
        for g, ts in by_group.items():
            out.update(self._solve(sorted(groups[g]), is_unknown, hidden, ts, integer))
        return out

    def _solve(self, rel_ids, is_unknown, hidden, targets, integer):
        """Ranges of `targets` from the relations rel_ids of one group; is_unknown: per cell
        of the ledger (in order), whether a reader does not see it."""
        from evaluation.publish.extremes import SolverError, SparseRows, extremes

        cells = self.ledger.cells
        # the group's equations, one row per relation: its members' entries, row by row
        rel_ids = np.asarray(rel_ids, np.intp)
        sizes = self.rel_size[rel_ids]
        row = np.repeat(np.arange(len(rel_ids)), sizes)
        first = np.repeat(self.rel_start[rel_ids] - np.cumsum(sizes) + sizes, sizes)
        entry = first + np.arange(len(row))
        cell, coef = self.entry_cell[entry], self.entry_coef[entry]
        unknown = is_unknown[cell]
        var_keys = sorted({self.keys[i] for i in np.unique(cell[unknown])} | set(targets))
        var_at = np.fromiter((self.at[k] for k in var_keys), np.intp, len(var_keys))
        # zeros are always shown, so a withheld count is at least 1; unpublished cells may be 0
        in_hidden = np.fromiter((k in hidden for k in var_keys), bool, len(var_keys))
        lb = (self.lb_if_hidden[var_at] & in_hidden).astype(float)
        # the unknowns (and which of them are shown as withheld) fix the group's relations and
        # the values they are read against: groups unchanged since an earlier round are reused
        memo = self._memo.setdefault((tuple(var_keys), lb.tobytes(), integer), {})
        todo = [t for t in targets if t not in memo]
        if not todo:
            return {t: memo[t] for t in targets}
        idx = {k: i for i, k in enumerate(var_keys)}
        col_of = np.full(len(self.keys), -1, np.intp)
        col_of[var_at] = np.arange(len(var_keys))
        # unknowns that are the only unknown of some relation (a member twice counts twice)
        alone = np.bincount(row[unknown], minlength=len(rel_ids)) == 1
        pinned = {self.keys[i] for i in cell[unknown & alone[row]]}
        # a shown member moves to the right-hand side; a member twice in one relation adds up
        # its coefficients (±1: every sum here is exact, in the order of the members)
        known = np.bincount(row[~unknown], -coef[~unknown] * self.values[cell[~unknown]],
                            len(rel_ids))  # fmt: skip
        rows, keep = SparseRows.from_entries(
            row[unknown], col_of[cell[unknown]], coef[unknown], len(var_keys)
        )
        if not len(keep):  # linked to nothing a reader sees: only the marker's own bound
            memo.update({t: (lb[idx[t]], math.inf) for t in todo})
            return {t: memo[t] for t in targets}
        rhs = known[keep]
        ub = np.full(len(var_keys), self.cap)
        integrality = np.array([integer and cells[k].kind == COUNT for k in var_keys])
        # a one-unknown equation gives the cell away: no solver needed
        solve = [t for t in todo if t not in pinned]
        points: list[np.ndarray] = []
        try:
            found = extremes(rows, rhs, lb, ub, integrality, [idx[t] for t in solve],
                             solutions=points)  # fmt: skip
        except SolverError as e:
            raise RuntimeError(f"disclosure check: solver failed on {solve}: {e}") from None
        truth = np.array([cells[k].value for k in var_keys], dtype=float)
        counts = np.array([cells[k].kind == COUNT for k in var_keys])
        for x in points:
            self.witnesses.add(var_keys, x, truth, counts)
        found_by = dict(zip(solve, found, strict=True))
        for t in todo:
            if t in pinned:
                memo[t] = (cells[t].value, cells[t].value)
                continue
            lo, hi = found_by[t]
            if hi >= self.cap - 1e-6:
                hi = math.inf
            if cells[t].kind == COUNT:
                lo = math.ceil(lo - 1e-6)
                hi = hi if math.isinf(hi) else math.floor(hi + 1e-6)
            memo[t] = (lo, hi)
        return {t: memo[t] for t in targets}


class _Either:
    """Membership in any of a few collections, without building their union."""

    def __init__(self, a: Container[str], b: Container[str], c: Container[str]):
        self.a, self.b, self.c = a, b, c

    def __contains__(self, k: object) -> bool:
        return k in self.a or k in self.b or k in self.c


def _candidates(target, hidden, system, cells, kind, cost) -> list[str]:
    """Shown cells that could hide `target`: its own relations first, then those reached
    through cells a reader cannot see (withheld or never published), nearest first."""
    seen, frontier, out = {target}, [target], []
    while frontier:
        ring: set[str] = set()
        for k in frontier:
            ring |= system.links[k] - seen
        seen |= ring
        found = [
            k
            for k in ring
            if k not in hidden
            and cells[k].artefacts
            and not cells[k].public
            and cells[k].value > 0
            and cells[k].kind == kind
        ]
        out += sorted(found, key=cost)
        frontier = [k for k in ring if k in hidden or not cells[k].artefacts]
    return out


def protected(value: float, kind: str, rng: tuple[float, float], rules: Rules) -> bool:
    """Is a withheld cell safe given the range a reader can prove?"""
    lo, hi = rng
    if kind == COUNT:
        return hi - lo >= rules.threshold
    return hi - lo >= max(rules.p_ratio * abs(value), 1e-9)


# --------------------------------------------------------------------------- the check


def check(ledger: Ledger, rules: Rules | None = None, max_rounds: int = 10_000) -> Decision:
    """Decide suppression for the whole ledger (see the module docstring for the rules)."""
    rules = rules or Rules()
    system = _System(ledger)
    cells = ledger.cells
    hidden = primary(ledger, rules)
    decision = Decision(rules)

    def cost(k: str) -> tuple:
        c = cells[k]
        return (c.headline, c.value, k)

    def audited(h: dict[str, str]) -> list[str]:
        return [k for k in h if system.links[k] - {k}]

    def ok(k: str, rng: tuple[float, float]) -> bool:
        return protected(cells[k].value, cells[k].kind, rng, rules)

    def safe(h: dict[str, str], k: str, integer: bool) -> bool:
        # a table solved earlier may already prove it; else the exact range decides
        return system.witnessed(h, k, integer, ok) or ok(k, system.ranges(h, [k], integer)[k])

    rounds, integer = 0, False  # LP while choosing complements, then the integer program
    while True:
        targets = audited(hidden)
        unsure = [k for k in targets if not system.witnessed(hidden, k, integer, ok)]
        rng = system.ranges(hidden, unsure, integer=integer)
        exposed = sorted(
            (k for k, r in rng.items() if not ok(k, r)), key=lambda k: (cells[k].value, k)
        )
        if not exposed:
            if integer:  # the ranges a reader can prove, reported for every withheld cell
                rng = system.ranges(hidden, targets, integer=True)
                break
            integer = True
            continue
        rounds += 1
        if rounds > max_rounds:
            raise RuntimeError("disclosure check did not converge")
        for target in exposed:
            if safe(hidden, target, integer):
                continue  # protected meanwhile by a complement chosen for another cell
            pool = _candidates(target, hidden, system, cells, cells[target].kind, cost)
            if not pool:
                decision.unprotectable.append(target)
                raise JointDisclosureError(
                    f"cell {target} can be worked out from published figures alone: "
                    "no further suppression can protect it"
                )
            choice = None
            for k in pool[:8]:
                trial = {**hidden, k: SECONDARY}
                if safe(trial, target, integer):
                    choice = k
                    break
            hidden[choice or pool[0]] = SECONDARY
    decision.withheld = hidden
    decision.rounds = rounds
    decision.ranges = rng
    for k in hidden:
        decision.ranges.setdefault(k, (1.0 if cells[k].kind == COUNT else 0.0, math.inf))
    # derived statistics: withheld when any cell (or derived entry) they rest on is withheld
    changed = True
    while changed:
        changed = False
        for d in ledger.derived.values():
            if d.key in decision.derived_withheld:
                continue
            for dep in d.depends:
                if dep in hidden or dep in decision.derived_withheld:
                    decision.derived_withheld[d.key] = dep
                    changed = True
                    break
    return decision


def information_lost(ledger: Ledger, decision: Decision) -> dict[str, Any]:
    """How much the check withheld: cells, people's worth of counts, derived statistics."""
    published = [c for c in ledger.cells.values() if c.artefacts]
    lost = [c for c in published if c.key in decision.withheld]
    by_rule: dict[str, int] = {}
    for why in decision.withheld.values():
        by_rule[why] = by_rule.get(why, 0) + 1
    return {
        "published_cells": len(published),
        "withheld_cells": len(lost),
        "withheld_share": round(len(lost) / len(published), 4) if published else 0.0,
        "withheld_count_total": int(sum(c.value for c in lost if c.kind == COUNT)),
        "published_count_total": int(sum(c.value for c in published if c.kind == COUNT)),
        "by_rule": dict(sorted(by_rule.items())),
        "derived_statistics": len(ledger.derived),
        "derived_withheld": len(decision.derived_withheld),
    }


def safe_lower_bound(ledger: Ledger, decision: Decision, target: str) -> float | None:
    """A statement 'target ≥ L' that is safe to print, or None.

    L depends on published information only: the reader's upper end hi minus the threshold.
    The statement is printed when the true value is at least L, and omitted otherwise, so a
    reader learns which side of L the cell is on; it is offered only when, on either side,
    every withheld cell still has a range at least the threshold wide (checked by the same
    integer program as the joint check).
    """
    from evaluation.publish.ledger import Ledger as _L

    rules, cell = decision.rules, ledger.cells.get(target)
    if cell is None or cell.kind != COUNT or target not in decision.withheld:
        return None
    lo, hi = decision.ranges.get(target, (1.0, math.inf))
    if math.isinf(hi):
        return None
    bound = hi - rules.threshold
    if bound - 1 - lo < rules.threshold:
        return None
    for side, value in (("at_least", bound), ("below", bound - 1)):
        trial = _L(dict(ledger.cells), list(ledger.relations), dict(ledger.derived))
        b, s = f"{target}~bound", f"{target}~slack"
        true_b = value
        slack = cell.value - value if side == "at_least" else value - cell.value
        trial.cells[b] = type(cell)(b, int(true_b), "", "", artefacts={"bound"}, public=True)
        # the slack may be negative for the side the data are not on: only feasibility matters
        trial.cells[s] = type(cell)(s, int(slack), "", "")
        if side == "at_least":
            trial.relations.append(Relation(target, (b, s), "stated bound"))
        else:
            trial.relations.append(Relation(b, (target, s), "stated bound"))
        system = _System(trial)
        hidden = dict(decision.withheld)
        linked = [k for k in hidden if system.comp.get(k) == system.comp[target]]
        try:
            rng = system.ranges(hidden, linked, integer=True)
        except RuntimeError:
            return None
        if not all(protected(trial.cells[k].value, trial.cells[k].kind, r, rules)
                   for k, r in rng.items()):  # fmt: skip
            return None
    return float(bound) if cell.value >= bound else None
