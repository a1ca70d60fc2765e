"""Smallest and largest value of chosen variables under linear equalities (HiGHS, via highspy).

The joint disclosure check asks this question thousands of times per build, each time for a
few variables of one small system. One HiGHS model per system, whose objective alone changes
between solves, costs a fraction of a fresh `scipy.optimize.milp` call per solve.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


class SolverError(RuntimeError):
    """HiGHS ended without an optimum, an unbounded ray or proof of infeasibility."""


@dataclass(frozen=True)
class SparseRows:
    """Rows of a constraint matrix by their nonzero entries, row by row and columns ascending
    within a row (what HiGHS takes): row i's entries are index/values[starts[i]:starts[i+1]]."""

    starts: np.ndarray
    index: np.ndarray
    values: np.ndarray

    def __len__(self) -> int:
        return len(self.starts)

    @classmethod
    def from_entries(
        cls, row: np.ndarray, col: np.ndarray, value: np.ndarray, n_cols: int
    ) -> tuple[SparseRows, np.ndarray]:
        """The rows with a nonzero entry, from (row, col, value) entries in any order (entries
        at the same place add up, and those adding up to 0 are left out), and which rows of
        the input they are (ascending)."""
        flat = row.astype(np.int64) * n_cols + col
        places, at = np.unique(flat, return_inverse=True)  # row by row, columns ascending
        summed = np.bincount(at, value, len(places))
        nonzero = summed != 0
        places, summed = places[nonzero], summed[nonzero]
        rows, cols = np.divmod(places, n_cols)
        kept, first = np.unique(rows, return_index=True)
        return cls(first.astype(np.int64), cols.astype(np.int64), summed), kept


def extremes(
    rows: Sequence[np.ndarray] | SparseRows,
    rhs: Sequence[float],
    lower: np.ndarray,
    upper: np.ndarray,
    integer: np.ndarray | None,
    targets: Sequence[int],
    le_rows: Sequence[np.ndarray] = (),
    le_rhs: Sequence[float] = (),
    solutions: list[np.ndarray] | None = None,
    relax_first: bool = True,
) -> list[tuple[float, float]]:
    """(min, max) of each variable in `targets` subject to rows · x = rhs, le_rows · x ≤ le_rhs,
    lower ≤ x ≤ upper (±inf allowed), and x integral where `integer` is set. An unbounded
    direction gives ±inf. When `solutions` is a list, the optimal point of each solve is
    appended to it (every one a feasible x: evidence of the values the variables can take).
    relax_first: solve the linear relaxation first and the integer program only where its
    optimum is fractional (the answers are the same; False solves the integer program always).

    Raises SolverError when the system has no solution or HiGHS stops early.
    """
    ints = np.flatnonzero(integer) if integer is not None else np.array([], int)
    model = lambda ints: _model(rows, rhs, lower, upper, le_rows, le_rhs, ints)  # noqa: E731
    relaxed = model(()) if relax_first or not len(ints) else None
    exact = None  # the integer program, built only when the relaxation is not enough
    is_int = np.zeros(len(lower), bool)
    is_int[ints] = True
    out = []
    for t in targets:
        ends = []
        for sign in (1.0, -1.0):
            # an integral optimum of the relaxation is the integer optimum: solve the integer
            # program only when the relaxation's optimum is fractional (integer targets only;
            # an amount's end is always the integer program's own)
            first = not len(ints) or (relax_first and is_int[t])
            end, x = _optimum(relaxed, int(t), sign) if first else (None, None)
            if len(ints) and (x is None or np.any(np.abs(x[ints] - np.round(x[ints])) > INTEGRAL)):
                if exact is None:
                    exact = model(ints)
                end, x = _optimum(exact, int(t), sign)
            ends.append(end)
            if solutions is not None and x is not None:
                solutions.append(x)
        out.append((ends[0], ends[1]))
    return out


INTEGRAL = 1e-9  # a relaxed solution this close to integers is taken as integral


def _model(rows, rhs, lower, upper, le_rows, le_rhs, ints):
    import highspy

    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    n = len(lower)
    h.addCols(n, np.zeros(n), np.asarray(lower, float), np.asarray(upper, float), 0, [], [], [])
    for block, low, high in (
        (rows, np.asarray(rhs, float), np.asarray(rhs, float)),
        (le_rows, np.full(len(le_rows), -math.inf), np.asarray(le_rhs, float)),
    ):
        if isinstance(block, SparseRows) and len(block):
            h.addRows(len(low), low, high, len(block.index), block.starts, block.index,
                      block.values)  # fmt: skip
        elif len(block):
            _add_rows(h, _matrix(block), low, high)
    if len(ints):
        kind = highspy.HighsVarType.kInteger
        h.changeColsIntegrality(len(ints), ints.astype(np.int32), np.array([kind] * len(ints)))
    return h


def _optimum(h, t: int, sign: float) -> tuple[float, np.ndarray | None]:
    """Minimum (sign 1) or maximum (sign −1) of variable t, and the optimal point if any."""
    import highspy

    status = highspy.HighsModelStatus
    h.changeColCost(t, sign)
    h.run()
    st = h.getModelStatus()
    if st == status.kOptimal:
        found = sign * h.getInfo().objective_function_value
        x = np.array(h.getSolution().col_value, dtype=float)
    elif st == status.kUnbounded or (sign < 0 and st == status.kUnboundedOrInfeasible):
        found, x = -sign * math.inf, None
    else:
        raise SolverError(h.modelStatusToString(st))
    h.changeColCost(t, 0.0)
    return found, x


def _matrix(rows: Sequence[np.ndarray] | np.ndarray) -> np.ndarray:
    """The rows as one 2-D array: a 2-D array as it is (stacking it row by row would copy it
    through a list of rows, most of a small solve's time)."""
    if isinstance(rows, np.ndarray) and rows.ndim == 2:
        return rows
    return np.vstack(rows)


def _add_rows(h, matrix: np.ndarray, low: np.ndarray, high: np.ndarray) -> None:
    nonzero = matrix != 0
    starts = np.concatenate(([0], np.cumsum(nonzero.sum(axis=1))[:-1])).astype(np.int64)
    index = np.nonzero(nonzero)[1].astype(np.int64)  # row by row, columns ascending
    h.addRows(len(low), low, high, len(index), starts, index, matrix[nonzero])
