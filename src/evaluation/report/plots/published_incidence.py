"""Cumulative incidence of return as published: on the monthly grid of the results file
conversion_cif_curve.csv, a step only where the joint decision shows the curve, and numbers
still followed at the plan's horizons, each a ledger cell (publish.ledger_build, and
publish.ledger_conversion for each person counted once across projects).

Outside a pipeline run no decision exists: the same grid is drawn with the horizons' numbers
still followed, counts below the threshold printed as '<threshold'.
"""

from __future__ import annotations

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


def draw(
    curves: Mapping[str, PublishedCurve],
    xlabel: str = "Months since enrolment",
    ylabel: str = "Returned (cumulative %)",
) -> Figure:
    """Step curves with 95 % bands on the monthly grid, each drawn through the months the
    decision shows only, and the numbers still followed under the axis."""
    import matplotlib.pyplot as plt

    k = len(curves)
    last = max((float(c.grid["months"].max()) for c in curves.values()), default=12.0)
    fig = plt.figure(figsize=(7.0, 3.6 + 0.22 * k))
    ax = fig.add_axes((0.17, 0.16 + 0.055 * (k + 1), 0.79, 0.78 - 0.055 * (k + 1)))
    for i, (label, c) in enumerate(curves.items()):
        g = c.grid[c.grid["estimate"].astype(str) != MARK]
        t = g["months"].to_numpy(dtype=float)
        y, lo, hi = (
            100 * g[col].to_numpy(dtype=float) for col in ("estimate", "ci_low", "ci_high")
        )
        grey, ls = GREYS[i % 3], LINESTYLES[i % len(LINESTYLES)]
        ax.fill_between(t, lo, hi, step="post", color=grey, alpha=0.18, linewidth=0,
                        hatch=HATCHES[i % len(HATCHES)] if i else None)  # fmt: skip
        name = f"{label} (n = {c.n})" if k > 1 else f"Verified return (n = {c.n})"
        ax.step(t, y, where="post", color=grey, linestyle=ls, linewidth=1.6, label=name)
        ax.plot(t, y, linestyle="none", marker="o", markersize=3, color=grey)
    at = sorted({m for c in curves.values() for m in c.at_risk})
    ax.set_xlim(0, last)
    ax.set_ylim(0, 100)
    ax.set_xticks(at or list(np.arange(0, last + 1, 3)))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(loc="upper left", fontsize=8.5)
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
