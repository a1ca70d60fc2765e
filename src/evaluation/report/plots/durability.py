"""Figures of the durability chapter: staying curves, three-way bounds, score distributions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from evaluation.report.plots import GREYS, HATCHES, LINESTYLES, count_label, style

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from evaluation.analysis.attrition import Bounds
    from evaluation.analysis.durability import DurabilityAnalysis, DurabilitySummary

SCORE_LABELS = {
    "rss_economic": "Economic",
    "rss_social": "Social",
    "rss_psychosocial": "Psychosocial",
    "rss_composite": "Composite",
}


def _step(ax: Axes, km: pd.DataFrame, end: float, i: int, label: str, band: bool) -> None:
    t = np.append(km["time"].to_numpy(float), end)
    s = np.append(km["survival"].to_numpy(float), km["survival"].iloc[-1])
    ax.step(
        t,
        100 * s,
        where="post",
        color=GREYS[i % 4],
        linestyle=LINESTYLES[i % 4],
        linewidth=1.6,
        label=label,
    )
    if band:
        lo = np.append(km["ci_low"].to_numpy(float), km["ci_low"].iloc[-1])
        hi = np.append(km["ci_high"].to_numpy(float), km["ci_high"].iloc[-1])
        ax.fill_between(
            t,
            100 * lo,
            100 * hi,
            step="post",
            color=GREYS[3 + (i > 0)],
            alpha=0.5 if i == 0 else 0.35,
            linewidth=0,
            hatch=HATCHES[i % 5],
        )


def survival_figure(
    curves: dict[str, pd.DataFrame],
    at_risk: dict[str, Sequence[int | str]],
    at_times: Sequence[float] = (0, 3, 6, 9, 12),
    bands: bool = True,
    end: float | None = None,
    xlabel: str = "Months since return",
    stops: dict[str, float] | None = None,
    threshold: int | None = None,
) -> Figure:
    """Kaplan–Meier curves of still being in the country of return, with pointwise 95 % bands
    and the numbers at risk printed under the time axis (one row per curve). A number at risk
    given as text (a withheld 'x') is printed as it is; `stops` ends a curve early (at the
    last step the disclosure decision shows) instead of carrying it on to `end`, and the
    figure says so: one curve's withheld months are shaded and labelled, several curves'
    legend entries name the month each stops at (threshold: the disclosure threshold named)."""
    import matplotlib.pyplot as plt

    end = float(end if end is not None else max(at_times))
    stopped = {
        label: stop for label, stop in (stops or {}).items() if label in curves and stop < end
    }
    if len(curves) > 1:  # each curve cut short says so in its legend entry
        name = {k: f"{k}, withheld after month {stopped[k]:g}" if k in stopped else k
                for k in curves}  # fmt: skip
        curves = {name[k]: km for k, km in curves.items()}
        stops = {name[k]: s for k, s in (stops or {}).items() if k in name}
    with style():
        fig, (ax, tab) = plt.subplots(
            2,
            1,
            sharex=True,
            figsize=(7.0, 3.6 + 0.25 * len(curves)),
            gridspec_kw={"height_ratios": [5, 0.6 + 0.35 * len(curves)], "hspace": 0.05},
            layout="constrained",
        )
        for i, (label, km) in enumerate(curves.items()):
            stop = min(end, (stops or {}).get(label, end))
            _step(ax, km[km["time"] <= stop], stop, i, label, bands and i < 3)
        ax.set_ylim(0, 102)
        ax.set_xlim(0, end)
        if len(curves) == 1 and stopped:
            _withheld_span(ax, next(iter(stopped.values())), end, threshold)
        ax.set_ylabel("Still in country of return (%)")
        ax.set_xticks(list(at_times))
        ax.tick_params(labelbottom=True)
        ax.set_xlabel(xlabel)
        if len(curves) > 1:
            ax.legend(loc="lower left", fontsize=8)
        tab.set_ylim(-0.5, len(at_risk) - 0.5)
        tab.set_axis_off()
        tab.text(
            0,
            len(at_risk) - 0.5 + 0.15,
            "Numbers at risk",
            fontsize=8,
            ha="left",
            va="bottom",
            transform=tab.transData,
        )
        for row, (label, counts) in enumerate(at_risk.items()):
            y = len(at_risk) - 1 - row
            for x, n in zip(at_times, counts, strict=True):
                text = n if isinstance(n, str) else count_label(int(n))
                tab.text(x, y, text, ha="center", va="center", fontsize=8)
            if len(at_risk) > 1:
                tab.text(
                    -0.02,
                    y,
                    label,
                    ha="right",
                    va="center",
                    fontsize=8,
                    transform=tab.get_yaxis_transform(),
                )
    return fig


def withheld_words(stop: float, threshold: int | None) -> str:
    """What a shaded stretch of a staying curve says: from when the curve is withheld, why."""
    why = f"a group of fewer than {threshold} people" if threshold else "a small group of people"
    return f"Withheld after month {stop:g}:\na later step would let {why}\nbe worked out"


def _withheld_span(ax: Axes, stop: float, end: float, threshold: int | None) -> None:
    ax.axvspan(stop, end, facecolor=GREYS[3], alpha=0.35, hatch="//", edgecolor=GREYS[2],
               linewidth=0)  # fmt: skip
    ax.text((stop + end) / 2, 50, withheld_words(stop, threshold), ha="center", va="center",
            fontsize=9, color=GREYS[0], bbox={"facecolor": "white", "edgecolor": GREYS[2],
                                              "boxstyle": "round,pad=0.4"})  # fmt: skip


def analysis_survival_figure(a: DurabilityAnalysis) -> Figure | None:
    """The overall staying curve of one project with its numbers at risk; None when nobody is
    known to have left (a flat line at its start says nothing a sentence cannot)."""
    if int(a.km["n_events"].sum()) == 0:
        return None
    from evaluation.publish.view import current

    view = current()
    if view is not None:  # the joint decision: the monthly grid up to the first withheld step
        from evaluation.publish.gate import MARK, km_shown

        g = km_shown(a.km, view, a.project)
        ok = g[g["survival"].astype(str) != MARK]
        curve = pd.DataFrame({c: ok[c].astype(float) for c in ("survival", "ci_low", "ci_high")})
        curve.insert(0, "time", ok["months"].astype(float))
        by_month = dict(zip(g["months"].astype(float), g["at_risk"], strict=True))
        at = [by_month.get(float(t), MARK) for t in a.at_risk_times]
        at = [x if str(x) == MARK else int(x) for x in at]
        end = float(a.at_risk_times[-1])
        stop = float(ok["months"].max()) if len(ok) < len(g) else end
        return survival_figure({a.project: curve}, {a.project: at}, a.at_risk_times, end=end,
                               stops={a.project: stop}, threshold=view.threshold)  # fmt: skip
    return survival_figure({a.project: a.km}, {a.project: a.at_risk}, a.at_risk_times, end=_end(a))


def _end(a: DurabilityAnalysis) -> float:
    """Right end of the time axis: 12 months, or the last contact if later (m12 runs late)."""
    t = a.times.loc[a.times["included"], "time"]
    return max(float(a.at_risk_times[-1]), float(t.max()) if len(t) else 0.0)


def group_survival_figure(a: DurabilityAnalysis, by: str = "main_support") -> Figure | None:
    """Staying curves by country, or by the support type received by the landmark and followed
    from it (groups with enough returnees); None if fewer than two groups have a curve."""
    from evaluation.analysis.remigration import numbers_at_risk

    km = a.km_support if by == "main_support" else a.km_country
    if km.empty or km["group"].nunique() < 2 or int(km["n_events"].sum()) == 0:
        return None
    shift, end, xlabel = 0.0, _end(a), "Months since return"
    inc = a.times[a.times["included"]]
    if by == "main_support":
        shift, inc = a.landmark.months, a.landmark.times
        xlabel = f"Months since the landmark ({shift:g} months after return)"
    at = [t - shift for t in a.at_risk_times if t >= shift]
    from evaluation.publish.view import current

    view = current()
    if view is not None:  # the joint decision: each group at its at-risk points, up to the
        from evaluation.publish.durability_view import MARK, km_group_shown  # first withheld step

        g = km_group_shown(km, view, a.project, by)
        curves, risk, stops = {}, {}, {}
        for grp, sub in g.groupby("group", sort=True):
            n0 = sub["at_risk"].iloc[0]
            label = f"{str(grp).replace('_', ' ')} (n={n0})"
            ok = sub[sub["survival"].astype(str) != MARK]
            curves[label] = pd.DataFrame(
                {"time": ok["months"].astype(float), "survival": ok["survival"].astype(float)}
            )
            by_month = dict(zip(sub["months"].astype(float), sub["at_risk"], strict=True))
            risk[label] = [by_month.get(float(t), MARK) for t in at]
            stops[label] = float(ok["months"].max()) if len(ok) < len(sub) else end - shift
        if len(curves) < 2:
            return None
        return survival_figure(curves, risk, at, bands=False, end=end - shift, xlabel=xlabel,
                               stops=stops, threshold=view.threshold)  # fmt: skip
    curves, risk = {}, {}
    for g, sub in km.groupby("group", sort=True):
        label = f"{str(g).replace('_', ' ')} (n={int(sub['n_group'].iloc[0])})"
        curves[label] = sub
        risk[label] = numbers_at_risk(inc.loc[inc[by] == g, "time"], at)
    return survival_figure(curves, risk, at, bands=False, end=end - shift, xlabel=xlabel)


def bounds_axes(ax: Axes, b: Bounds, project: str | None = None, window: str = "m12") -> Axes:
    """Durability at a window three ways (complete, worst, best) as bars with intervals; with
    `project` in a pipeline run, each share and count as the joint decision shows it."""
    from evaluation.publish.view import current
    from evaluation.report.plots import rate_bars

    view = current() if project else None
    labels, rates, decided = [], [], []
    for approach, name, r in (
        ("complete", "Complete cases", b.complete),
        ("worst", "Worst case", b.worst),
        ("best", "Best case", b.best),
    ):
        if r is not None:
            labels.append(name)
            rates.append(r)
            if view is not None:
                from evaluation.publish.durability_view import bound_shown

                decided.append(bound_shown(view, str(project), window, approach))
    rate_bars(ax, labels, rates, xlabel="Durable (%)", decided=decided if view else None)
    for bar, hatch in zip(ax.patches, HATCHES, strict=False):
        bar.set_hatch(hatch)
    return ax


def bounds_figure(a: DurabilityAnalysis, window: str = "m12") -> Figure | None:
    """Three-way durability bars for one project at a window; None when every share is
    withheld (nothing to draw)."""
    import matplotlib.pyplot as plt

    with style():
        fig, ax = plt.subplots(figsize=(7.0, 2.4), layout="constrained")
        bounds_axes(ax, a.bounds[window], a.project, window)
    if not ax.patches:
        plt.close(fig)
        return None
    return fig


def comparison_bounds_figure(analyses: Sequence[DurabilitySummary], window: str = "m12") -> Figure:
    """Three-way durability bars, one panel per project, on a common axis."""
    import matplotlib.pyplot as plt

    with style():
        fig, axes = plt.subplots(
            len(analyses),
            1,
            figsize=(7.0, 1.9 * len(analyses) + 0.4),
            sharex=True,
            layout="constrained",
            squeeze=False,
        )
        for ax, a in zip(axes[:, 0], analyses, strict=True):
            bounds_axes(ax, a.bounds[window], a.project, window)
            due = _joint_count(a.project, "due", window, a.bounds[window].due)
            ax.set_title(
                f"{a.project} ({due} returnees due)" if due is not None else a.project,
                loc="left",
                fontsize=10,
            )
            ax.set_xlim(0, 100)
        for ax in axes[:-1, 0]:
            ax.set_xlabel("")
    return fig


def score_distribution_figure(
    scored: pd.DataFrame, cutoffs: Sequence[float] = (), project: str | None = None
) -> Figure:
    """Box plots of each RSS score by monitoring window (n under each box); cut-offs dashed.
    With `project` in a pipeline run, a window whose count the joint decision withholds has no
    box and 'n=x' (publish.ledger_durability's cells)."""
    import matplotlib.pyplot as plt

    from evaluation.analysis.monitoring_windows import WINDOW_LABELS, WINDOWS
    from evaluation.analysis.rss_scores import SCORES
    from evaluation.publish.view import current

    view = current() if project else None

    def hidden(w: str, score: str) -> bool:
        if view is None:
            return False
        from evaluation.publish.durability_view import scored_key

        return not view.shown(scored_key(str(project), w, score.removeprefix("rss_")))

    with style():
        fig, axes = plt.subplots(1, 4, figsize=(7.2, 3.2), sharey=True, layout="constrained")
        for ax, score in zip(axes, SCORES, strict=True):
            data, labels = [], []
            for w in WINDOWS:
                x = scored.loc[scored["window"] == w, score].dropna().to_numpy(float)
                n = "x" if hidden(w, score) else str(len(x))
                x = np.array([]) if n == "x" else x
                data.append(x if len(x) else np.array([np.nan]))
                labels.append(
                    f"{WINDOW_LABELS[w].replace(' months', ' m').replace(' month', ' m')}\nn={n}"
                )
            ax.boxplot(
                data,
                widths=0.6,
                patch_artist=True,
                showfliers=True,
                boxprops={"facecolor": GREYS[4], "edgecolor": GREYS[0]},
                medianprops={"color": GREYS[0], "linewidth": 1.6},
                whiskerprops={"color": GREYS[1]},
                capprops={"color": GREYS[1]},
                flierprops={
                    "marker": "o",
                    "markersize": 2.5,
                    "markerfacecolor": GREYS[2],
                    "markeredgecolor": GREYS[2],
                },
            )
            ax.set_xticks(range(1, len(WINDOWS) + 1), labels, fontsize=7)
            ax.set_title(SCORE_LABELS[score], fontsize=10)
            ax.grid(axis="x", visible=False)
            if score == "rss_composite":
                for c, ls in zip(cutoffs, LINESTYLES[1:], strict=False):
                    ax.axhline(c, color=GREYS[1], linestyle=ls, linewidth=0.9)
        axes[0].set_ylim(0, 1)
        axes[0].set_ylabel("Score (0–1)")
    return fig


def _joint_count(project: str, what: str, window: str, value: int) -> int | None:
    """A count as the joint decision of a pipeline run shows it (None: withheld); itself
    outside a run."""
    from evaluation.publish.view import current, key

    view = current()
    return value if view is None or view.shown(key(project, what, window=window)) else None


def _stats_shown(project: str, window: str) -> bool:
    """Whether the joint decision shows the composite score's count and statistics at a
    window (True outside a pipeline run)."""
    from evaluation.publish.durability_view import scored_key
    from evaluation.publish.view import current, key

    view = current()
    return view is None or (
        view.shown(scored_key(project, window))
        and view.shown(key(project, "score_stats", window=window, score="composite"))
    )


def comparison_score_figure(analyses: Sequence[DurabilitySummary]) -> Figure:
    """Mean composite score by window per project with 95 % intervals (t-based); in a pipeline
    run only the windows whose statistics the joint decision shows."""
    import matplotlib.pyplot as plt

    from evaluation.analysis.monitoring_windows import WINDOW_MONTHS, WINDOWS
    from evaluation.analysis.rates import t_half_width

    with style():
        fig, ax = plt.subplots(figsize=(7.0, 3.2), layout="constrained")
        for i, a in enumerate(analyses):
            d = a.distribution[a.distribution["score"] == "composite"].set_index("window")
            d = d.loc[[w for w in WINDOWS if d.loc[w, "n"] > 1 and _stats_shown(a.project, w)]]
            x = np.array([WINDOW_MONTHS[w] for w in d.index]) + (i - 0.5) * 0.15
            half = t_half_width(d["sd"], d["n"])
            ax.errorbar(
                x,
                d["mean"],
                yerr=half,
                color=GREYS[i % 4],
                linestyle=LINESTYLES[i % 4],
                marker="os^D"[i % 4],
                markersize=4,
                capsize=3,
                label=a.project,
            )
        ax.set_xticks([WINDOW_MONTHS[w] for w in WINDOWS])
        ax.set_xlabel("Months since return")
        ax.set_ylabel("Mean composite score")
        ax.set_ylim(0, 1)
        ax.legend(loc="lower right")
    return fig
