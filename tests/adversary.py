"""An adversary that sees only what is published: shown cells, the structure of the tables
(which cells add up to which) and the withheld markers, and solves an integer program for the
smallest and largest value of every withheld cell. Written apart from publish.joint on purpose.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp


def feasible_ranges(
    shown: dict[str, float],
    withheld: set[str],
    unpublished: set[str],
    sums: list[tuple[str, list[str]]],
) -> dict[str, tuple[float, float]]:
    """{withheld cell: (min, max)} over integer solutions of every whole = sum(parts).

    Unknowns that share no relation (once shown cells are put in) are independent, so each
    connected group is solved on its own: the same ranges, from much smaller programs."""
    unknowns = withheld | unpublished
    parent = {k: k for k in unknowns}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for whole, parts in sums:
        us = [k for k in (whole, *parts) if k in parent]
        for u in us[1:]:
            parent[find(u)] = find(us[0])
    groups: dict[str, set[str]] = {}
    for k in unknowns:
        groups.setdefault(find(k), set()).add(k)
    out: dict[str, tuple[float, float]] = {}
    for members in groups.values():
        targets = members & withheld
        if not targets:
            continue
        rels = [(w, ps) for w, ps in sums if w in members or any(p in members for p in ps)]
        out.update(_ranges(shown, targets, members - targets, rels))
    return out


def _ranges(shown, withheld, unpublished, sums) -> dict[str, tuple[float, float]]:
    """feasible_ranges on one connected group of unknowns."""
    unknown = sorted(withheld | unpublished)
    idx = {k: i for i, k in enumerate(unknown)}
    rows, rhs = [], []
    for whole, parts in sums:
        row = np.zeros(len(unknown))
        b = 0.0
        for k, coef in [(whole, -1.0)] + [(p, 1.0) for p in parts]:
            if k in idx:
                row[idx[k]] += coef
            else:
                b -= coef * shown[k]
        if row.any():
            rows.append(row)
            rhs.append(b)
    # a withheld count is not 0 (zeros are printed); an unprinted one may be
    lb = np.array([1.0 if k in withheld else 0.0 for k in unknown])
    cap = 10 * sum(abs(v) for v in shown.values()) + 1000  # beyond any count, to stay finite
    cons = [LinearConstraint(np.array(rows), rhs, rhs)] if rows else []
    out = {}
    for k in sorted(withheld):
        ends = []
        for sign in (1.0, -1.0):
            c = np.zeros(len(unknown))
            c[idx[k]] = sign
            res = milp(
                c, integrality=np.ones(len(unknown)), bounds=Bounds(lb, cap), constraints=cons
            )
            end = -sign * math.inf if res.status == 3 else sign * res.fun
            ends.append(math.inf if end >= cap - 1e-6 else end)
        out[k] = (round(ends[0]), ends[1] if math.isinf(ends[1]) else round(ends[1]))
    return out


def attack_ledger(ledger, decision) -> dict[str, tuple[float, float]]:
    """Ranges a reader can prove for each withheld count, from the published view only."""
    from evaluation.publish.ledger import COUNT

    counts = {k: c for k, c in ledger.cells.items() if c.kind == COUNT}
    shown = {k: c.value for k, c in counts.items() if c.artefacts and decision.shown(k)}
    withheld = {k for k in counts if counts[k].artefacts and not decision.shown(k)}
    unpublished = {k for k, c in counts.items() if not c.artefacts}
    sums = [(r.whole, list(r.parts)) for r in ledger.relations if r.whole in counts]
    return feasible_ranges(shown, withheld, unpublished, sums)
