"""Conversion figures: funnel, cumulative incidence with numbers at risk, forest plot of ratios.

All greyscale-safe (grey levels, line styles and hatches carry meaning). Call inside
`with style():` from evaluation.report.plots; each function returns the matplotlib Figure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from evaluation.report.plots import GREYS, HATCHES, LINESTYLES, count_label

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from evaluation.analysis.survival import CumulativeIncidence


def funnel(
    steps: pd.DataFrame,
    title: str | None = None,
    threshold: int | None = None,
    shown: pd.DataFrame | None = None,
) -> Figure | None:
    """Horizontal bars of clients at each funnel step, labelled n, share of N and 95 % CI.

    With `shown` (the published table of the same steps, report.conversion_tables), a bar and
    its label show exactly what that table shows: a withheld n draws no bar, a withheld N or
    rate leaves only n. Otherwise, with a threshold, steps whose n or N − n is below it are
    drawn without a bar and labelled as withheld (evaluation.publish.disclosure.is_withheld).
    None, and no figure, when every step after enrolment is withheld.
    """
    import matplotlib.pyplot as plt

    from evaluation.publish.disclosure import is_withheld

    def masked(v: object) -> bool:
        return str(v) == "x" or str(v).startswith("<")

    if shown is not None:
        shown = shown.reset_index(drop=True)
        hide = [masked(v) for v in shown["n"]]
        bare = [masked(a) or masked(b) for a, b in zip(shown["N"], shown["rate"], strict=True)]
    else:
        hide = [
            threshold is not None and r.n != r.N and is_withheld(int(r.n), int(r.N), threshold)
            for r in steps.itertuples(index=False)
        ]
        bare = [False] * len(hide)
    later = [h for h, r in zip(hide, steps.itertuples(index=False), strict=True) if r.n != r.N]
    if later and all(later):
        return None

    k = len(steps)
    fig, ax = plt.subplots(figsize=(7.0, 0.45 * k + 1.1))
    ys = np.arange(k)[::-1]
    n = np.where(hide, 0, steps["n"].to_numpy())
    ax.barh(ys, n, color=GREYS[3], edgecolor=GREYS[0], linewidth=0.8, height=0.62)
    top = max(int(steps["N"].max()), 1)
    for y, row, hidden, only_n in zip(ys, steps.itertuples(index=False), hide, bare, strict=True):
        if hidden:
            why = "withheld" if shown is not None else f"withheld (fewer than {threshold})"
            ax.text(0.01 * top, y, why, va="center", fontsize=8.5)
            continue
        if only_n:
            ax.text(row.n + 0.01 * top, y, f"{row.n}", va="center", fontsize=8.5)
            continue
        share = (
            f"{100 * row.estimate:.1f} % (95 % CI {100 * row.ci_low:.1f}–{100 * row.ci_high:.1f})"
        )
        label = f"{row.n}" if row.n == row.N else f"{row.n} of {row.N} · {share}"
        ax.text(row.n + 0.01 * top, y, label, va="center", fontsize=8.5)
    ax.set_yticks(ys, [s.replace("  ", "\u2003") for s in steps["step"]])
    ax.set_xlim(0, top * 1.75)
    ax.set_xlabel("Clients")
    ax.grid(axis="y", visible=False)
    if title:
        ax.set_title(title, loc="left")
    fig.tight_layout()
    return fig


def cumulative_incidence(
    curves: Mapping[str, CumulativeIncidence],
    horizon: float = 24,
    at: Sequence[float] = (0, 3, 6, 12, 18, 24),
    xlabel: str = "Months since enrolment",
    ylabel: str = "Returned (cumulative %)",
    show_competing: bool = False,
) -> Figure:
    """Step curves with 95 % bands, one per group, and numbers at risk under the axis."""
    import matplotlib.pyplot as plt

    at = [a for a in at if a <= horizon]
    k = len(curves)
    fig = plt.figure(figsize=(7.0, 3.6 + 0.22 * k))
    ax = fig.add_axes((0.17, 0.16 + 0.055 * (k + 1), 0.79, 0.78 - 0.055 * (k + 1)))
    for i, (label, ci) in enumerate(curves.items()):
        c = ci.curve
        t = np.append(c["time"].to_numpy(), horizon)
        y = 100 * np.append(c["estimate"].to_numpy(), c["estimate"].iloc[-1])
        lo = 100 * np.append(c["ci_low"].to_numpy(), c["ci_low"].iloc[-1])
        hi = 100 * np.append(c["ci_high"].to_numpy(), c["ci_high"].iloc[-1])
        keep = t <= horizon
        grey, ls = GREYS[i % 3], LINESTYLES[i % len(LINESTYLES)]
        ax.fill_between(
            t[keep],
            lo[keep],
            hi[keep],
            step="post",
            color=grey,
            alpha=0.18,
            linewidth=0,
            hatch=HATCHES[i % len(HATCHES)] if i else None,
        )
        name = f"{label} (n = {ci.N})" if k > 1 else f"Verified return (n = {ci.N})"
        ax.step(t[keep], y[keep], where="post", color=grey, linestyle=ls, linewidth=1.6, label=name)
        if show_competing and ci.competing_curve is not None:
            cc = ci.competing_curve
            tc = np.append(cc["time"].to_numpy(), horizon)
            yc = 100 * np.append(cc["estimate"].to_numpy(), cc["estimate"].iloc[-1])
            kc = tc <= horizon
            ax.step(
                tc[kc],
                yc[kc],
                where="post",
                color=GREYS[2],
                linestyle=":",
                linewidth=1.4,
                label="Competing exits (pooled)",
            )
    ax.set_xlim(0, horizon)
    ax.set_ylim(0, 100)
    ax.set_xticks(list(at))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(loc="upper left", fontsize=8.5)
    # Numbers at risk: one row per curve, aligned with the x ticks, below the axis label.
    trans = ax.get_xaxis_transform()
    base = -0.30
    ax.text(
        -0.01,
        base,
        "At risk",
        transform=ax.transAxes,
        ha="right",
        va="center",
        fontsize=8.5,
        fontweight="bold",
    )
    for i, (label, ci) in enumerate(curves.items()):
        yrow = base - 0.11 * (i + 1)
        if k > 1:
            ax.text(-0.04, yrow, label, transform=ax.transAxes, ha="right", va="center", fontsize=8)
        from evaluation.analysis.survival import at_risk

        for a, nr in zip(at, at_risk(ci.times, at), strict=True):
            ax.text(
                a, yrow, count_label(int(nr)), transform=trans, ha="center", va="center", fontsize=8
            )
    return fig


def forest(
    table: pd.DataFrame,
    ratio_name: str = "Odds ratio",
    labels: Sequence[str] | None = None,
    shown: Sequence[bool] | None = None,
) -> Figure | None:
    """Ratios with 95 % intervals on a log axis, a line at 1, reference levels named; shown:
    per row, whether the joint disclosure decision of a pipeline run shows that ratio
    (report.conversion_tables.rows_shown), the others left out; None when none is."""
    import matplotlib.pyplot as plt

    if shown is not None:
        keep = list(shown)
        table = table[keep]
        labels = None if labels is None else [x for x, ok in zip(labels, keep, strict=True) if ok]
    k = len(table)
    if k == 0:
        return None
    fig, ax = plt.subplots(figsize=(7.0, 0.38 * k + 1.2))
    ys = np.arange(k)[::-1]
    est = table["estimate"].to_numpy(dtype=float)
    lo = table["ci_low"].to_numpy(dtype=float)
    hi = table["ci_high"].to_numpy(dtype=float)
    ax.errorbar(
        est,
        ys,
        xerr=[est - lo, hi - est],
        fmt="s",
        color=GREYS[0],
        ecolor=GREYS[0],
        markersize=5,
        elinewidth=1.2,
        capsize=3,
    )
    ax.axvline(1.0, color=GREYS[2], linestyle="--", linewidth=1)
    ax.set_xscale("log")
    from matplotlib.ticker import FuncFormatter

    plain = FuncFormatter(lambda v, _: f"{v:g}")
    ax.xaxis.set_major_formatter(plain)
    ax.xaxis.set_minor_formatter(plain)
    ax.set_ylim(-0.6, k - 0.4)
    if labels is None:
        from evaluation.report.presentation import term_label

        labels = [
            term_label(r.variable, r.level, r.reference) if r.level else term_label(str(r.term))
            for r in table.itertuples(index=False)
        ]
    ax.set_yticks(ys, labels)
    ax.set_xlabel(f"{ratio_name} (95 % CI, log scale)")
    ax.grid(axis="y", visible=False)
    for y, e, low, high in zip(ys, est, lo, hi, strict=True):
        ax.annotate(
            f"{e:.2f} ({low:.2f}–{high:.2f})",
            (1, y),
            xycoords=("axes fraction", "data"),
            xytext=(6, 0),
            textcoords="offset points",
            va="center",
            fontsize=8,
        )
    fig.tight_layout()
    return fig


def descriptive_rates(
    desc: pd.DataFrame, threshold: int = 5, shown: Sequence[bool] | None = None
) -> Figure | None:
    """Share with the outcome per covariate level (Wilson 95 % CI), small groups left out;
    None, and no figure, when every group is withheld. shown: per row of desc, whether the
    joint disclosure decision of a pipeline run shows its rate
    (report.conversion_tables.rows_shown)."""
    import matplotlib.pyplot as plt

    from evaluation.analysis.rates import wilson
    from evaluation.publish.disclosure import is_withheld
    from evaluation.report.plots import rate_bars

    decided = [True] * len(desc) if shown is None else list(shown)
    keep = [
        r
        for r, ok in zip(desc.itertuples(index=False), decided, strict=True)
        if ok and not is_withheld(int(r.n), int(r.N), threshold)
    ]
    if not keep:
        return None
    from evaluation.report.presentation import term_label

    fig, ax = plt.subplots(figsize=(7.0, 0.32 * len(keep) + 1.2))
    rate_bars(
        ax,
        [term_label(r.variable, r.level) for r in keep],
        [wilson(int(r.n), int(r.N)) for r in keep],
        threshold=threshold,
    )
    fig.tight_layout()
    return fig
