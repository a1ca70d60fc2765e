"""Cumulative incidence of return as published: on the monthly grid of the results file
conversion_cif_curve.csv, a step only where the joint decision shows the curve, and numbers
still followed at the plan's horizons, each a ledger cell (publish.ledger_build, and
publish.ledger_conversion for each person counted once across projects).

Outside a pipeline run no decision exists: the same grid is drawn with the horizons' numbers
still followed, counts below the threshold printed as '<threshold'.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from evaluation.report.plots import GREYS, HATCHES, LINESTYLES, count_label

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from evaluation.analysis.survival import CumulativeIncidence

MARK = "x"
MARKERS = ("o", "s", "^", "D")  # one per curve: told apart in print without colour


@dataclass(frozen=True)
class PublishedCurve:
    """One curve as published: grid (months, estimate, ci_low, ci_high; 'x' where withheld),
    numbers still followed by month (text, 'x' where withheld) and N (text)."""

    grid: pd.DataFrame
    at_risk: dict[float, str]
    n: str


def published(
    inc: CumulativeIncidence,
    horizons: Sequence[float],
    project: str,
    person: bool = False,
    threshold: int = 5,
) -> PublishedCurve:
    """The curve of `project` as the joint decision of this run shows it (person: each person
    once across the return projects, as the comparison counts them)."""
    from evaluation.publish import gate, gate_conversion
    from evaluation.publish.view import current

    view = current()
    cols = ["estimate", "ci_low", "ci_high"]
    grid = gate.step_on_grid(inc.curve["time"], inc.curve[cols]).astype(object)
    table = inc.horizons(horizons).assign(project=project).astype(object)
    if view is None:
        at = {0.0: count_label(int(inc.N), threshold)}
        at |= {float(r["horizon_months"]): count_label(int(r["at_risk"]), threshold)
               for _, r in table.iterrows()}  # fmt: skip
        return PublishedCurve(grid, at, str(inc.N))
    for i, r in grid.iterrows():
        m = f"{int(r['months'])}"
        if int(r["months"]) > 0 and not view.shown(gate_conversion._cif_key(view, project, m)):
            grid.loc[i, cols] = MARK
    shown = (gate_conversion.cif_horizons_shown(table, view) if person
             else gate.horizons_shown(table, view, project))  # fmt: skip
    big = str(shown["N"].iloc[0]) if len(shown) else MARK
    at = {0.0: big}
    at |= {float(r["horizon_months"]): str(r["at_risk"]) for _, r in shown.iterrows()}
    return PublishedCurve(grid, at, big)


def runs(months: Sequence[float]) -> list[list[float]]:
    """Shown months split where the decision withholds one: each run of consecutive months."""
    out: list[list[float]] = []
    for m in months:
        if out and m - out[-1][-1] == 1:
            out[-1].append(m)
        else:
            out.append([m])
    return out


def y_top(highs: Sequence[float]) -> float:
    """Top of the percentage axis: a tenth above the highest upper limit drawn, in whole tens,
    at least 20 % and at most 100 % (a curve of a few per cent on 0-100 % cannot be read)."""
    if not len(highs):
        return 100.0
    return float(min(100, max(20, 10 * math.ceil(1.1 * max(highs) / 10))))


def draw(
    curves: Mapping[str, PublishedCurve],
    xlabel: str = "Months since enrolment",
    ylabel: str = "Returned (cumulative %)",
) -> Figure:
    """Each curve through the months the decision shows only: a run of consecutive months as a
    step with its 95 % band, a month shown alone (a horizon of the plan, as a rule) as a point
    with its interval; nothing is drawn across a withheld month, and a withheld horizon is
    marked 'x' on the axis. Several curves are set a little apart at each month so that their
    intervals do not overlap. Numbers still followed under the axis."""
    import matplotlib.pyplot as plt

    k = len(curves)
    last = max((float(c.grid["months"].max()) for c in curves.values()), default=12.0)
    fig = plt.figure(figsize=(7.0, 3.6 + 0.22 * k))
    ax = fig.add_axes((0.17, 0.16 + 0.055 * (k + 1), 0.79, 0.78 - 0.055 * (k + 1)))
    highs: list[float] = []
    withheld: list[tuple[float, int]] = []
    for i, (label, c) in enumerate(curves.items()):
        shown = c.grid["estimate"].astype(str) != MARK
        g = c.grid[shown].set_index(c.grid["months"][shown].astype(float))
        grey, ls = GREYS[i % 3], LINESTYLES[i % len(LINESTYLES)]
        dodge = (i - (k - 1) / 2) * min(0.25, 0.02 * last)
        name = f"{label} (n = {c.n})" if k > 1 else f"Verified return (n = {c.n})"
        for run in runs(list(g.index)):
            y, lo, hi = (100 * g.loc[run, col].to_numpy(dtype=float)
                         for col in ("estimate", "ci_low", "ci_high"))  # fmt: skip
            highs += hi[np.isfinite(hi)].tolist()  # an interval may be undefined (month 0)
            t = np.asarray(run) + dodge
            if len(run) > 1:
                ax.fill_between(t, lo, hi, step="post", color=grey, alpha=0.18, linewidth=0,
                                hatch=HATCHES[i % len(HATCHES)] if i else None)  # fmt: skip
                ax.step(t, y, where="post", color=grey, linestyle=ls, linewidth=1.6, label=name)
            else:
                ax.errorbar(t, y, yerr=[y - lo, hi - y], fmt=MARKERS[i % len(MARKERS)],
                            markersize=4, color=grey, capsize=3, linewidth=1.2,
                            label=name)  # fmt: skip
            name = "_nolegend_"  # one legend entry per curve
        withheld += [(m + dodge, i) for m in c.at_risk if m > 0 and m not in g.index]
    top = y_top(highs)
    for m, i in withheld:
        ax.text(m, 0.03 * top, MARK, ha="center", va="bottom", fontsize=9, color=GREYS[i % 3])
    at = sorted({m for c in curves.values() for m in c.at_risk})
    ax.set_xlim(-0.02 * last, last * 1.02)
    ax.set_ylim(0, top)
    ax.set_xticks(at or list(np.arange(0, last + 1, 3)))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(loc="upper left", fontsize=8.5)
    if withheld:
        ax.text(1.0, 1.01, f"{MARK}: withheld by the disclosure check", transform=ax.transAxes,
                ha="right", va="bottom", fontsize=8, color=GREYS[1])  # fmt: skip
    trans = ax.get_xaxis_transform()
    base = -0.30
    ax.text(-0.01, base, "Still followed", transform=ax.transAxes, ha="right", va="center",
            fontsize=8.5, fontweight="bold")  # fmt: skip
    for i, (label, c) in enumerate(curves.items()):
        yrow = base - 0.11 * (i + 1)
        if k > 1:
            ax.text(-0.04, yrow, label, transform=ax.transAxes, ha="right", va="center", fontsize=8)
        for m, text in sorted(c.at_risk.items()):
            ax.text(m, yrow, text, transform=trans, ha="center", va="center", fontsize=8)
    return fig
