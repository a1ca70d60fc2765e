"""Smallest and largest value of chosen variables under linear equalities (HiGHS, via highspy).

The joint disclosure check asks this question thousands of times per build, each time for a
few variables of one small system. One HiGHS model per system, whose objective alone changes
between solves, costs a fraction of a fresh `scipy.optimize.milp` call per solve.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


class SolverError(RuntimeError):
    """HiGHS ended without an optimum, an unbounded ray or proof of infeasibility."""


def extremes(
    rows: Sequence[np.ndarray],
    rhs: Sequence[float],
    lower: np.ndarray,
    upper: np.ndarray,
    integer: np.ndarray | None,
    targets: Sequence[int],
    le_rows: Sequence[np.ndarray] = (),
    le_rhs: Sequence[float] = (),
) -> list[tuple[float, float]]:
    """(min, max) of each variable in `targets` subject to rows · x = rhs, le_rows · x ≤ le_rhs,
    lower ≤ x ≤ upper (±inf allowed), and x integral where `integer` is set. An unbounded
    direction gives ±inf.

    Raises SolverError when the system has no solution or HiGHS stops early.
    """
    import highspy

    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    n = len(lower)
    h.addCols(n, np.zeros(n), np.asarray(lower, float), np.asarray(upper, float), 0, [], [], [])
    for block, low, high in (
        (rows, np.asarray(rhs, float), np.asarray(rhs, float)),
        (le_rows, np.full(len(le_rows), -math.inf), np.asarray(le_rhs, float)),
    ):
        if len(block):
            _add_rows(h, np.vstack(block), low, high)
    ints = np.flatnonzero(integer) if integer is not None else ()
    if len(ints):
        kind = highspy.HighsVarType.kInteger
        h.changeColsIntegrality(len(ints), ints.astype(np.int32), np.array([kind] * len(ints)))
    status = highspy.HighsModelStatus
    out = []
    for t in targets:
        ends = []
        for sign in (1.0, -1.0):
            h.changeColCost(int(t), sign)
            h.run()
            st = h.getModelStatus()
            if st == status.kOptimal:
                ends.append(sign * h.getInfo().objective_function_value)
            elif st == status.kUnbounded or (sign < 0 and st == status.kUnboundedOrInfeasible):
                ends.append(-sign * math.inf)
            else:
                raise SolverError(h.modelStatusToString(st))
        h.changeColCost(int(t), 0.0)
        out.append((ends[0], ends[1]))
    return out


def _add_rows(h, matrix: np.ndarray, low: np.ndarray, high: np.ndarray) -> None:
    nonzero = matrix != 0
    starts = np.concatenate(([0], np.cumsum(nonzero.sum(axis=1))[:-1])).astype(np.int64)
    index = np.nonzero(nonzero)[1].astype(np.int64)  # row by row, columns ascending
    h.addRows(len(low), low, high, len(index), starts, index, matrix[nonzero])
