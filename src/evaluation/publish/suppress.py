"""Small-cell suppression of one table: primary, secondary and rate suppression.

One module decides what a published table may show (issue 8, item 2).

Rules (``suppress_table``):

* **Primary suppression.** A count cell with a value in 1..threshold-1 (default: 1..4, as DT&V
  does) is hidden and shown as ``"<5"``. Zeros are published by default (``suppress_zero=False``):
  they reveal "none", which is rarely sensitive; with ``suppress_zero=True`` zeros are hidden
  as ``"<5"`` too. Margin cells (the appended total row and the row-total column) are counts and
  follow the same rule. For a rate pair (numerator n, denominator N) a numerator whose
  complement N - n lies in 1..threshold-1 is hidden as well ("9 of 10 returned" discloses the one
  who did not).
* **Secondary (complementary) suppression.** Further cells are hidden, marked ``"x"``, until no
  hidden cell can be worked out exactly from what the table shows: the published cells, the
  totals (which are assumed public, see ``public_totals``) and what the markers themselves tell
  a reader (a ``"<5"`` cell lies in 1..4; an ``"x"`` cell is at least 5, since anything smaller
  would carry ``"<5"``). This is checked exactly with linear programming over every row and column
  equation (for tables with margins the bounds are integral, so the LP bounds are the true
  bounds). Complements are chosen greedily: the smallest non-zero cell in a row or column of the
  exposed cell that removes the exposure, body cells before margin cells. A one-way table with
  a total therefore never shows exactly one hidden cell, and in a two-way table every row and
  column with a hidden cell holds at least two (or its margin is hidden as well).
* **Rates.** For each ``(numerator, denominator, rate columns)`` in ``rate_pairs`` the rate and
  interval columns are withheld (``"x"``) when the numerator or denominator is hidden or the
  denominator is below the threshold: a rate and its N give back n.

Markers: ``"<5"`` (``f"<{threshold}"``) for primary cells, ``"x"`` for everything hidden to protect
them (and withheld rates). ``SuppressedTable.legend`` holds the sentence a report prints under
the table. Funder-facing tables show ``SuppressedTable.table`` only; ``unmasked`` is kept for
audits and tests and must never be published.

Guarantee and its limits: no hidden cell is exactly recoverable from the table's own equations,
its markers and its public totals (``feasible_ranges`` reports the interval a reader can still
narrow each hidden cell to). Not covered: totals published elsewhere that this call was not told
about (pass ``group_cols``/``public_totals``), linked tables sharing cells, and attacks that
reason about *why* the algorithm hid a cell.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence

import pandas as pd

from evaluation.publish.disclosure import (
    COMPLEMENT,
    PRIMARY,
    RATE,
    SECONDARY,
    SECONDARY_MARK,
    Cell,
    DisclosureError,
    Rule,
    SuppressedTable,
    legend,
    primary_mark,
)


def as_rate_pairs(
    rate_pairs: Sequence[tuple[str, str, str | Sequence[str]]] | None,
) -> tuple[tuple[str, str, tuple[str, ...]], ...]:
    """(numerator, denominator, rate columns) triples, one rate column given as a tuple too."""
    out = []
    for num, den, cols in rate_pairs or ():
        out.append((num, den, (cols,) if isinstance(cols, str) else tuple(cols)))
    return tuple(out)


def _check_counts(df: pd.DataFrame, cols: Sequence[str]) -> None:
    for c in cols:
        if c not in df.columns:
            raise ValueError(f"count column {c!r} is not in the table")
        s = df[c]
        if s.isna().any() or not pd.api.types.is_numeric_dtype(s):
            raise ValueError(f"count column {c!r} must hold numbers without gaps")
        if (s < 0).any() or (s != s.round()).any():
            raise ValueError(f"count column {c!r} must hold whole non-negative numbers")


def table_rules(
    n_body: int,
    parts: Sequence[str],
    row_total: str | None,
    total_row: bool,
    public_totals: bool,
    groups: Sequence[Hashable] | None,
    value: dict[Cell, int],
) -> list[Rule]:
    """Every additive relation a reader knows between the table's cells."""
    counts = list(parts) + ([row_total] if row_total else [])
    rows = range(n_body + (1 if total_row else 0))
    body = range(n_body)
    rules: list[Rule] = []
    if row_total:
        for r in rows:
            cells = tuple((r, c) for c in parts) + ((r, row_total),)
            rules.append(Rule(cells, (1,) * len(parts) + (-1,)))
    for c in counts:
        col_sum = sum(value[(r, c)] for r in body)
        if total_row:
            cells = tuple((r, c) for r in body) + ((n_body, c),)
            rules.append(Rule(cells, (1,) * n_body + (-1,)))
        if public_totals:
            rules.append(Rule(tuple((r, c) for r in body), (1,) * n_body, float(col_sum)))
        if groups is not None:
            for g in dict.fromkeys(groups):
                members = tuple((r, c) for r in body if groups[r] == g)
                if 0 < len(members) < n_body:
                    sub = float(sum(value[m] for m in members))
                    rules.append(Rule(members, (1,) * len(members), sub))
    return rules


def marker_bounds(
    reason: str, threshold: int, suppress_zero: bool, split: bool
) -> tuple[float, float]:
    """What a reader knows about a hidden count from its marker alone."""
    low = 0 if suppress_zero else 1
    if not split:
        return (low, math.inf)
    if reason == PRIMARY:
        return (low, threshold - 1)
    return (threshold, math.inf)  # anything smaller would have been marked primary


def feasible_bounds(
    cells: Sequence[Cell],
    hidden: dict[Cell, str],
    value: dict[Cell, int],
    rules: Sequence[Rule],
    ineqs: Sequence[tuple[Cell, Cell]],
    bounds: dict[Cell, tuple[float, float]],
) -> dict[Cell, tuple[float, float]]:
    """Smallest and largest value each of `cells` can take given everything published (LP)."""
    import numpy as np

    from evaluation.publish.extremes import SolverError, extremes

    var = {c: i for i, c in enumerate(hidden)}
    a_eq, b_eq = [], []
    for rule in rules:
        row = np.zeros(len(var))
        rhs = rule.rhs
        for cell, coef in zip(rule.cells, rule.coefs, strict=True):
            if cell in var:
                row[var[cell]] += coef
            else:
                rhs -= coef * value[cell]
        if row.any():
            a_eq.append(row)
            b_eq.append(rhs)
    a_ub, b_ub = [], []
    for small, big in ineqs:  # small <= big
        row = np.zeros(len(var))
        rhs = 0.0
        for cell, coef in ((small, 1), (big, -1)):
            if cell in var:
                row[var[cell]] += coef
            else:
                rhs -= coef * value[cell]
        if row.any():
            a_ub.append(row)
            b_ub.append(rhs)
    lower = np.array([bounds[c][0] for c in var], float)
    upper = np.array([bounds[c][1] for c in var], float)
    try:
        found = extremes(a_eq, b_eq, lower, upper, None, [var[c] for c in cells], a_ub, b_ub)
    except SolverError as e:
        raise RuntimeError(f"disclosure audit LP failed: {e}") from None
    return {
        cell: (
            math.ceil(lo - 1e-7),
            hi if math.isinf(hi) else math.floor(hi + 1e-7),
        )
        for cell, (lo, hi) in zip(cells, found, strict=True)
    }


def _exact(rng: tuple[float, float]) -> bool:
    return rng[0] >= rng[1]


class _Protector:
    """Greedy complementary suppression with an exact LP audit after every step."""

    def __init__(self, value, rules, ineqs, fixed, margins, threshold, suppress_zero, split):
        self.value, self.rules, self.ineqs = value, rules, ineqs
        self.rows = sorted({r for r, _ in value})
        self.cols = list(dict.fromkeys(c for _, c in value))
        self.fixed, self.margins = fixed, margins
        self.t, self.zero, self.split = threshold, suppress_zero, split

    def bounds(self, hidden: dict[Cell, str]) -> dict[Cell, tuple[float, float]]:
        return {c: marker_bounds(r, self.t, self.zero, self.split) for c, r in hidden.items()}

    def audited(self, hidden: dict[Cell, str]) -> dict[Cell, str]:
        """Hidden cells a reader could not see but for which the fixed (public) values stand."""
        return {c: r for c, r in hidden.items() if c not in self.fixed}

    def exposed(self, hidden: dict[Cell, str]) -> list[Cell]:
        """Hidden, non-public cells whose exact value follows from what is published."""
        var = self.audited(hidden)
        if not var:
            return []
        quick = []
        for rule in self.rules:
            unknown = [c for c in rule.cells if c in var]
            if len(unknown) == 1:
                quick.append(unknown[0])
        if quick:
            return list(dict.fromkeys(quick))
        ranges = feasible_bounds(
            list(var), var, self.value, self.rules, self.ineqs, self.bounds(var)
        )
        return [c for c, rng in ranges.items() if _exact(rng)]

    def candidates(self, cell: Cell, hidden: dict[Cell, str]) -> list[Cell]:
        pool = {
            c
            for rule in self.rules
            if cell in rule.cells
            for c in rule.cells
            if c not in hidden and c not in self.fixed and self.value[c] > 0
        }
        return sorted(pool, key=lambda c: (c in self.margins, self.value[c], c))

    def protects(self, cell: Cell, hidden: dict[Cell, str], extra: Sequence[Cell]) -> bool:
        """Would hiding `extra` as well leave `cell` not exactly recoverable?"""
        trial = self.audited({**hidden, **dict.fromkeys(extra, SECONDARY)})
        for rule in self.rules:
            if cell in rule.cells and sum(c in trial for c in rule.cells) == 1:
                return False
        rng = feasible_bounds([cell], trial, self.value, self.rules, self.ineqs, self.bounds(trial))
        return not _exact(rng[cell])

    def rectangles(self, cell: Cell, hidden: dict[Cell, str]) -> list[list[Cell]]:
        """Sets of cells completing a rectangle with `cell`, cheapest first (two-way tables)."""
        r, c = cell

        def usable(x: Cell) -> bool:
            return x in hidden or (x not in self.fixed and self.value[x] > 0)

        options = []
        for r2 in self.rows:
            for c2 in self.cols:
                if r2 == r or c2 == c:
                    continue
                corners = [(r, c2), (r2, c), (r2, c2)]
                if all(usable(x) for x in corners):
                    new = [x for x in corners if x not in hidden]
                    if new:
                        cost = (
                            sum(x in self.margins for x in new),
                            sum(self.value[x] for x in new),
                        )
                        options.append((cost, corners, new))
        options.sort(key=lambda o: (o[0], o[1]))
        return [new for _, _, new in options]

    def protect(self, hidden: dict[Cell, str]) -> dict[Cell, str]:
        """Add complementary cells until no hidden cell is exactly recoverable."""
        hidden = dict(hidden)
        while exposed := self.exposed(hidden):
            for cell in exposed:
                singles = self.candidates(cell, hidden)
                if singles:
                    break
            else:
                raise DisclosureError(
                    f"cell {exposed[0]} can be worked out from published totals and no other "
                    "cell can hide it: merge small categories, use split_markers=False, or do not "
                    "publish this table"
                )
            choice = next((x for x in singles if self.protects(cell, hidden, [x])), None)
            new = [choice] if choice else None
            if new is None:
                rects = self.rectangles(cell, hidden)
                new = next((x for x in rects if self.protects(cell, hidden, x)), [singles[0]])
            for x in new:
                hidden[x] = SECONDARY
        return hidden


def suppress_table(
    df: pd.DataFrame,
    count_cols: Sequence[str],
    threshold: int = 5,
    group_cols: Sequence[str] | None = None,
    total_row: bool = True,
    rate_pairs: Sequence[tuple[str, str, str | Sequence[str]]] | None = None,
    *,
    row_total: str | None = None,
    public_totals: bool = True,
    suppress_zero: bool = False,
    split_markers: bool = True,
    total_label: str = "Total",
    equal_cells: Sequence[tuple[Cell, Cell]] = (),
) -> SuppressedTable:
    """Hide small counts (and every cell that would give them away) in a table for funders.

    df: one row per category, label columns plus whole-number count columns (a non-default
    index is moved into the columns). count_cols: the counts to protect. threshold: counts in
    1..threshold-1 are hidden. group_cols: rows sharing these labels have public subtotals (e.g.
    per project: 51 MOH1 returnees is a published figure). total_row: append a row of column
    totals labelled ``total_label``. rate_pairs: (numerator, denominator, rate column or columns)
    whose rate/CI cells are withheld with a hidden or small count. row_total: name of a column
    holding (or, if absent, to hold) the row sum of the other count columns. public_totals: treat
    column totals as known to readers even where hidden (true of this project's headline counts);
    when False, total-row cells may themselves be hidden as a last resort. suppress_zero: hide
    zeros as primary cells. split_markers: show '<5' and 'x' (readers learn more, so more is
    hidden); False shows 'x' everywhere. equal_cells: pairs of cells ((row position, column),
    (row position, column)) that hold the same count, e.g. a funnel step's N and the previous
    step's n; hiding one then hides the other.
    """
    if threshold < 1:
        raise ValueError("threshold must be at least 1")
    pairs = as_rate_pairs(rate_pairs)
    count_cols = list(dict.fromkeys(count_cols))
    default_index = isinstance(df.index, pd.RangeIndex) and df.index.start == 0
    df = df.reset_index(drop=default_index)
    parts = [c for c in count_cols if c != row_total]
    _check_counts(df, parts)
    for num, den, cols in pairs:
        if num not in count_cols or den not in count_cols:
            raise ValueError(f"rate pair ({num!r}, {den!r}): both must be in count_cols")
        for c in cols:
            if c not in df.columns:
                raise ValueError(f"rate column {c!r} is not in the table")
    if row_total:
        sums = df[parts].sum(axis=1)
        if row_total in df.columns:
            _check_counts(df, [row_total])
            if not (df[row_total] == sums).all():
                raise ValueError(f"column {row_total!r} is not the sum of {parts}")
        else:
            df[row_total] = sums
    counts = parts + ([row_total] if row_total else [])
    for c in counts:
        df[c] = df[c].astype("int64")
    group_cols = list(group_cols or [])
    groups = None
    if group_cols:
        groups = list(df[group_cols].astype(str).agg("\x1f".join, axis=1))

    n_body = len(df)
    if total_row:
        total = {c: None for c in df.columns}
        total.update({c: int(df[c].sum()) for c in counts})
        labels = [c for c in df.columns if c not in counts and not any(c in p[2] for p in pairs)]
        if labels:
            total[labels[0]] = total_label
        df = pd.concat(
            [df.astype({c: object for c in labels}), pd.DataFrame([total])], ignore_index=True
        )
        for c in counts:
            df[c] = df[c].astype("int64")

    value = {(r, c): int(df.at[r, c]) for r in range(len(df)) for c in counts}
    rules = table_rules(n_body, parts, row_total, total_row, public_totals, groups, value)
    equal_cells = tuple((tuple(a), tuple(b)) for a, b in equal_cells)
    for a, b in equal_cells:
        if a not in value or b not in value or value[a] != value[b]:
            raise ValueError(f"equal_cells {a} and {b} must be count cells holding the same value")
        rules.append(Rule((a, b), (1, -1)))
    ineqs = [((r, num), (r, den)) for num, den, _ in pairs for r in range(len(df))]
    fixed = {(n_body, c) for c in counts} if (total_row and public_totals) else set()
    margins = {(n_body, c) for c in counts} if total_row else set()
    if row_total:
        margins |= {(r, row_total) for r in range(len(df))}

    low = 0 if suppress_zero else 1
    hidden: dict[Cell, str] = {
        cell: PRIMARY for cell, v in value.items() if low <= v <= threshold - 1
    }
    for num, den, _ in pairs:
        for r in range(len(df)):
            n, big_n = value[(r, num)], value[(r, den)]
            if (r, num) not in hidden and n > 0 and 1 <= big_n - n <= threshold - 1:
                hidden[(r, num)] = COMPLEMENT

    protector = _Protector(
        value, rules, ineqs, fixed, margins, threshold, suppress_zero, split_markers
    )
    hidden = protector.protect(hidden)

    reasons = pd.DataFrame("", index=df.index, columns=df.columns, dtype=object)
    for (r, c), why in hidden.items():
        reasons.at[r, c] = why
    for num, den, cols in pairs:
        for r in range(n_body):
            if (r, num) in hidden or (r, den) in hidden or value[(r, den)] < threshold:
                for c in cols:
                    reasons.at[r, c] = RATE

    shown = df.astype({c: object for c in df.columns})
    for r in range(len(df)):
        for c in df.columns:
            why = reasons.at[r, c]
            if why:
                mark = primary_mark(threshold) if (why == PRIMARY and split_markers) else None
                shown.at[r, c] = mark or SECONDARY_MARK
    text = legend(threshold, suppress_zero)
    if not split_markers:
        text = (
            f"{SECONDARY_MARK}: not shown to protect privacy (fewer than {threshold} people, "
            f"or a figure from which such a number could be worked out)."
        )
    return SuppressedTable(
        table=shown,
        reasons=reasons,
        legend=text,
        threshold=threshold,
        count_cols=tuple(counts),
        row_total=row_total,
        total_row=total_row,
        public_totals=public_totals,
        group_cols=tuple(group_cols),
        equal_cells=equal_cells,
        rate_pairs=pairs,
        suppress_zero=suppress_zero,
        split_markers=split_markers,
        unmasked=df,
    )
