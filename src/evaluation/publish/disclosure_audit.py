"""Audit a suppressed table: the range a reader can prove for each hidden cell, and which cells
are recoverable exactly (linear programming over the table's equations)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from evaluation.publish.disclosure import Cell, Rule, SuppressedTable
from evaluation.publish.suppress import as_rate_pairs, feasible_bounds, marker_bounds, table_rules


def feasible_ranges(st: SuppressedTable) -> pd.DataFrame:
    """Each hidden count's true value and the tightest range a reader can prove (LP audit)."""
    value, rules, ineqs, hidden, fixed = _model(st)
    var = {c: r for c, r in hidden.items() if c not in fixed}
    if not var:
        return pd.DataFrame(columns=["row", "column", "reason", "value", "low", "high"])
    bounds = {
        c: marker_bounds(r, st.threshold, st.suppress_zero, st.split_markers)
        for c, r in var.items()
    }
    ranges = feasible_bounds(list(var), var, value, rules, ineqs, bounds)
    rows = [
        {
            "row": r,
            "column": c,
            "reason": var[(r, c)],
            "value": value[(r, c)],
            "low": lo,
            "high": hi,
        }
        for (r, c), (lo, hi) in ranges.items()
    ]
    return pd.DataFrame(rows)


def _model(st: SuppressedTable):
    df = st.unmasked
    n_body = len(df) - (1 if st.total_row else 0)
    parts = [c for c in st.count_cols if c != st.row_total]
    value = {(r, c): int(df.at[r, c]) for r in range(len(df)) for c in st.count_cols}
    groups = None
    if st.group_cols:
        groups = list(df[list(st.group_cols)].astype(str).agg("\x1f".join, axis=1))
    rules = table_rules(n_body, parts, st.row_total, st.total_row, st.public_totals, groups, value)
    rules += [Rule((a, b), (1, -1)) for a, b in st.equal_cells]
    ineqs = [((r, num), (r, den)) for num, den, _ in st.rate_pairs for r in range(len(df))]
    hidden = {
        (r, c): st.reasons.at[r, c]
        for r in range(len(df))
        for c in st.count_cols
        if st.reasons.at[r, c]
    }
    fixed = {(n_body, c) for c in st.count_cols} if (st.total_row and st.public_totals) else set()
    return value, rules, ineqs, hidden, fixed


def recoverable_cells(
    original: pd.DataFrame,
    mask: pd.DataFrame,
    count_cols: Sequence[str],
    *,
    row_total: str | None = None,
    total_row: bool = True,
    public_totals: bool = True,
    group_cols: Sequence[str] | None = None,
    rate_pairs: Sequence[tuple[str, str, str | Sequence[str]]] | None = None,
    equal_cells: Sequence[tuple[Cell, Cell]] = (),
) -> dict[Cell, int]:
    """Auditor: hidden cells a reader can recompute by solving one-unknown equations, repeatedly.

    original: the full table with its margins (``SuppressedTable.unmasked``); mask: True where
    hidden. Equations used: each row sums to its row total, each column sums to its total row
    (and to its public total or group subtotals), and a shown rate times its N gives n. Written
    independently of the suppression code so that tests compare two methods. Returns
    {(row position, column): recovered value}.
    """
    pairs = as_rate_pairs(rate_pairs)
    n_rows = len(original)
    n_body = n_rows - (1 if total_row else 0)
    parts = [c for c in count_cols if c != row_total]
    counts = parts + ([row_total] if row_total else [])
    val = {(r, c): int(original.iloc[r][c]) for r in range(n_rows) for c in counts}
    known = {cell for cell in val if not bool(mask.iloc[cell[0]][cell[1]])}
    if total_row and public_totals:
        known |= {(n_body, c) for c in counts}
    equations: list[tuple[list[Cell], list[int], int]] = []  # sum(coef*cell) == rhs
    equations += [([tuple(a), tuple(b)], [1, -1], 0) for a, b in equal_cells]
    if row_total:
        for r in range(n_rows):
            equations.append(
                ([(r, c) for c in parts] + [(r, row_total)], [1] * len(parts) + [-1], 0)
            )
    for c in counts:
        column = [(r, c) for r in range(n_body)]
        if total_row:
            equations.append((column + [(n_body, c)], [1] * n_body + [-1], 0))
        if public_totals:
            equations.append((column, [1] * n_body, sum(val[x] for x in column)))
        if group_cols:
            keys = original[list(group_cols)].astype(str).agg("|".join, axis=1).tolist()
            for g in set(keys[:n_body]):
                members = [(r, c) for r in range(n_body) if keys[r] == g]
                equations.append((members, [1] * len(members), sum(val[x] for x in members)))

    recovered: dict[Cell, int] = {}
    progress = True
    while progress:
        progress = False
        for cells, coefs, rhs in equations:
            unknown = [(x, k) for x, k in zip(cells, coefs, strict=True) if x not in known]
            if len(unknown) == 1:
                (cell, coef) = unknown[0]
                rest = sum(k * val[x] for x, k in zip(cells, coefs, strict=True) if x != cell)
                recovered[cell] = round((rhs - rest) / coef)
                known.add(cell)
                progress = True
        for num, den, cols in pairs:
            if not cols:
                continue
            rate_col = cols[0]
            for r in range(n_rows):
                shown = not bool(mask.iloc[r][rate_col])
                rate = original.iloc[r][rate_col]
                if not shown or rate is None or pd.isna(rate):
                    continue
                a, b = (r, num), (r, den)
                if a not in known and b in known:
                    recovered[a] = round(float(rate) * val[b])
                    known.add(a)
                    progress = True
                elif b not in known and a in known and float(rate) > 0:
                    recovered[b] = round(val[a] / float(rate))
                    known.add(b)
                    progress = True
    return recovered
