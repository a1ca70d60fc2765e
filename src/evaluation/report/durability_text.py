"""Durability tables for display and the sentences that state them, from analysis results."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from evaluation.analysis.bounds import no_event_bound
from evaluation.analysis.durability import (
    DurabilityAnalysis,
    comparison_frame,
    composite_metric,
    reached_rate,
)
from evaluation.analysis.monitoring_windows import NO_RECORD, NOT_REACHED_REASONS, WINDOW_LABELS
from evaluation.analysis.rates import Rate


def _protected(
    df: pd.DataFrame,
    count_cols: Sequence[str],
    threshold: int,
    rate_pairs: Sequence[tuple[str, str, str | Sequence[str]]] = (),
    row_total: str | None = None,
) -> str:
    """Markdown of a table after small-cell suppression (publish.disclosure), with legend."""
    from evaluation.publish import disclosure, suppress
    from evaluation.report.tables import markdown_table

    st = None
    for split in (True, False):  # plain 'x' markers reveal less, so fewer cells must be hidden
        try:
            st = suppress.suppress_table(
                df,
                count_cols,
                threshold=threshold,
                total_row=False,
                rate_pairs=list(rate_pairs),
                row_total=row_total,
                split_markers=split,
            )
            break
        except disclosure.DisclosureError:
            continue
    if st is None:
        return (
            f"Table withheld: its small counts (fewer than {threshold}) could be worked out "
            "from its totals whatever cells were hidden."
        )
    labels = {"Window", "Approach", "Counts as durable", "Project"}
    align = {str(c): ("left" if c in labels else "right") for c in st.table.columns}
    md = markdown_table(st.table, floatfmt=".1f", align=align)
    hidden = (st.reasons != "").to_numpy().any()
    return md + (f"\n\n{st.legend}" if hidden else "")


# ---------------------------------------------------------------------------------------------
# The joint decision (publish.view): inside a pipeline run every cell is looked up by its key

APPROACHES = {"complete": ("stayed", "known"), "worst": ("stayed", "due"),
              "best": ("stayed_or_unknown", "due")}  # fmt: skip


def _view():
    from evaluation.publish.view import current

    return current()


def _key(project: str, what: str, window: str) -> str:
    from evaluation.publish.view import key

    return key(project, what, window=window)


def _joint_count(project: str, what: str, window: str, value: int, threshold: int) -> str:
    v = _view()
    if v is None:
        return _count(value, threshold)
    return str(value) if v.shown(_key(project, what, window)) else "a withheld number of"


def share_text(project: str, r: Rate | None, window: str, approach: str, threshold: int) -> str:
    """A durability share as the joint decision allows: the rate with n/N and interval; or,
    when withheld, the safe lower bound the check found ("at least 75 % ..."); or 'withheld'."""
    v = _view()
    if v is None or r is None:
        return _rate_text(r, threshold)
    if v.shown(f"{project}/durability_{approach}|window={window}"):
        return r.describe()
    num, den = APPROACHES[approach]
    bound = v.decision.bounds.get(_key(project, num, window))
    if bound is not None and v.shown(_key(project, den, window)) and r.N:
        return (
            f"at least {int(100 * bound // r.N)} % (at least {bound:.0f} of {r.N}; the exact "
            f"figure is withheld so that no group of fewer than {threshold} can be worked out)"
        )
    return f"withheld (it would let a group of fewer than {threshold} be worked out)"


def _joint_bounds_table(a: DurabilityAnalysis, window: str, v) -> str:
    from evaluation.report.tables import markdown_table

    t = a.bounds[window].table()
    names = {"complete": "Complete cases", "worst": "Worst case", "best": "Best case"}
    rows = []
    for _, r in t.iterrows():
        num, den = APPROACHES[str(r["approach"])]
        shown = v.shown(f"{a.project}/durability_{r['approach']}|window={window}")
        rows.append(
            {
                "Approach": names[str(r["approach"])],
                "Counts as durable": str(r["definition"]),
                "n": int(r["n"]) if v.shown(_key(a.project, num, window)) else "x",
                "N": int(r["N"]) if v.shown(_key(a.project, den, window)) else "x",
                "Share (%)": f"{100 * r['estimate']:.1f}" if shown else "x",
                "95 % CI (%)": f"{100 * r['ci_low']:.1f}–{100 * r['ci_high']:.1f}"
                if shown and pd.notna(r["ci_low"])
                else ("x" if not shown else ""),
            }
        )
    out = pd.DataFrame(rows)
    align = {c: ("left" if c in ("Approach", "Counts as durable") else "right") for c in out}
    md = markdown_table(out, align=align)
    if (out == "x").to_numpy().any():
        md += f"\n\n{_legend(v.threshold)}"
    return md


def _legend(threshold: int) -> str:
    return (
        "x: withheld by the one disclosure check of the whole report, so that no group of "
        f"fewer than {threshold} people can be worked out from this or any other table."
    )


def completeness_table(a: DurabilityAnalysis) -> str:
    """Contact completeness per window (reached and each reason), small cells suppressed."""
    c = a.completeness
    v = _view()
    if v is not None:  # the joint decision: windows and counts that are ledger cells only
        from evaluation.publish.gate import MARK, completeness_shown
        from evaluation.report.tables import markdown_table

        g = completeness_shown(c, v, a.project)
        out = pd.DataFrame(
            {
                "Window": g["window"].map(WINDOW_LABELS),
                "Reached": g["reached"].astype(str),
                "Due": g["due"].astype(str),
                "Reached (%)": [
                    MARK if str(x) == MARK else f"{100 * float(x):.1f}" for x in g["share_reached"]
                ],
            }
        )
        out = out[(out[["Reached", "Due"]] != MARK).any(axis=1)]
        md = markdown_table(out, align={c: "right" for c in out.columns if c != "Window"})
        return md + (f"\n\n{_legend(v.threshold)}" if (out == MARK).to_numpy().any() else "")
    reasons = [r for r in (*NOT_REACHED_REASONS, NO_RECORD) if r in c and c[r].sum() > 0]
    out = pd.DataFrame({"Window": c["window"].map(WINDOW_LABELS), "Reached": c["reached"]})
    for r in reasons:
        out[r.replace("_", " ").capitalize()] = c[r]
    out["Due"] = c["due"]
    out["Reached (%)"] = (100 * c["share_reached"]).round(1)
    counts = ["Reached", *[r.replace("_", " ").capitalize() for r in reasons], "Due"]
    md = _protected(out, counts, a.threshold, [("Reached", "Due", "Reached (%)")], row_total="Due")
    not_due = int(c["not_due"].sum())
    if not_due:
        md += (
            f"\n\nWindows after the data cut-off are not yet due and are left out "
            f"({_count(not_due, a.threshold)} returnee-windows)."
        )
    return md


def bounds_table(a: DurabilityAnalysis, window: str = "m12") -> str:
    """Durability at a window three ways (and IPW when done), small cells suppressed."""
    v = _view()
    if v is not None:
        return _joint_bounds_table(a, window, v)
    t = a.bounds[window].table()
    out = pd.DataFrame(
        {
            "Approach": t["approach"]
            .map({"complete": "Complete cases", "worst": "Worst case", "best": "Best case"})
            .astype("str"),
            "Counts as durable": t["definition"].astype("str"),
            "n": t["n"].astype(int),
            "N": t["N"].astype(int),
            "Share (%)": (100 * t["estimate"]).round(1),
            "95 % CI (%)": [
                f"{100 * lo:.1f}–{100 * hi:.1f}" if pd.notna(lo) else "— (N = 0: nobody to count)"
                for lo, hi in zip(t["ci_low"], t["ci_high"], strict=True)
            ],
        }
    )
    if window == "m12" and a.ipw.done:
        out.loc[len(out)] = [
            "Response-weighted (IPW)",
            "stayed, weighted by 1/P(known)",
            a.ipw.n_responders,
            a.ipw.n_responders + a.ipw.n_nonresponders,
            round(100 * a.ipw.estimate, 1),
            f"{100 * a.ipw.ci_low:.1f}–{100 * a.ipw.ci_high:.1f}",
        ]
    return _protected(out, ["n", "N"], a.threshold, [("n", "N", ["Share (%)", "95 % CI (%)"])])


def shares_table(a: DurabilityAnalysis) -> str:
    """Per window, returnees scored and those at or above each cut-off, small cells suppressed."""
    s = a.shares[a.shares["N"] > 0]
    rows = []
    for w, sub in s.groupby("window", sort=False):
        row: dict[str, Any] = {"Window": WINDOW_LABELS[w], "Scored": int(sub["N"].iloc[0])}
        for _, r in sub.iterrows():
            row[f"≥ {r['cutoff']:g}"] = int(r["n"])
            row[f"≥ {r['cutoff']:g} (%, 95 % CI)"] = (
                f"{100 * r['estimate']:.0f} ({100 * r['ci_low']:.0f}–{100 * r['ci_high']:.0f})"
            )
        rows.append(row)
    out = pd.DataFrame(rows)
    if out.empty:
        return "No returnee had a composite score."
    cuts = [f"≥ {c:g}" for c in a.rss.cutoffs]
    pairs = [(c, "Scored", f"{c} (%, 95 % CI)") for c in cuts]
    return _protected(out, [*cuts, "Scored"], a.threshold, pairs)


def distribution_table(a: DurabilityAnalysis) -> str:
    """Composite score by window: n, mean, sd and quartiles; statistics of < threshold withheld."""
    d = a.distribution[a.distribution["score"] == "composite"]
    out = pd.DataFrame({"Window": d["window"].map(WINDOW_LABELS).astype("str")})
    small = d["n"].between(1, a.threshold - 1).to_numpy()
    out["n"] = np.where(small, f"<{a.threshold}", d["n"].astype(int).astype(str))
    for col, name in (
        ("mean", "Mean"),
        ("sd", "SD"),
        ("q25", "Q1"),
        ("median", "Median"),
        ("q75", "Q3"),
    ):
        out[name] = [
            ("x" if sm else f"{v:.2f}" if pd.notna(v) else "")
            for sm, v in zip(small, d[col], strict=True)
        ]
    from evaluation.report.tables import markdown_table

    return markdown_table(
        out,
        align={
            "n": "right",
            "Mean": "right",
            "SD": "right",
            "Q1": "right",
            "Median": "right",
            "Q3": "right",
        },
    )


def trajectory_table(a: DurabilityAnalysis) -> str:
    """Mixed-model change from arrival (or means) per window; windows of < threshold withheld."""
    from evaluation.report.tables import markdown_table

    t = a.trajectory.table
    small = t["n"].between(1, a.threshold - 1).to_numpy()
    out = pd.DataFrame({"Window": t["window"].map(WINDOW_LABELS).astype("str")})
    out["n"] = np.where(small, f"<{a.threshold}", t["n"].astype(int).astype(str))
    out["Mean"] = [
        "x" if sm else f"{v:.2f}" if pd.notna(v) else ""
        for sm, v in zip(small, t["mean"], strict=True)
    ]
    if a.trajectory.method == "mixedlm":
        out["Change (95 % CI)"] = [
            "reference" if pd.isna(lo) else "x" if sm else f"{c:+.2f} ({lo:+.2f} to {hi:+.2f})"
            for sm, c, lo, hi in zip(small, t["change"], t["ci_low"], t["ci_high"], strict=True)
        ]
    return markdown_table(out, align={c: "right" for c in out.columns if c != "Window"})


def _count(n: int, threshold: int) -> str:
    return f"fewer than {threshold}" if 0 < n < threshold else str(n)


def _rate_text(r: Rate | None, threshold: int) -> str:
    from evaluation.publish.disclosure import describe_rate

    return describe_rate(r, threshold) if r is not None else "not estimable (no known outcome)"


def describe_staying(a: DurabilityAnalysis) -> str:
    """Sentence on staying at 6 and 12 months with n/N and intervals."""
    b6, b12 = a.bounds["m6"], a.bounds["m12"]
    t, p = a.threshold, a.project
    return (
        f"Still in the country of return, among the {a.project} returnees whose residence was "
        f"known: at 6 months {share_text(p, b6.complete, 'm6', 'complete', t)}; at 12 months "
        f"{share_text(p, b12.complete, 'm12', 'complete', t)}. Residence was unknown for "
        f"{_joint_count(p, 'unknown', 'm6', b6.unknown, t)} returnees at 6 months and "
        f"{_joint_count(p, 'unknown', 'm12', b12.unknown, t)} at 12 months; they are not counted "
        "as staying."
    )


def describe_bounds(a: DurabilityAnalysis, window: str = "m12") -> str:
    """Sentence giving durability three ways, so the reader sees what the lost could change."""
    b = a.bounds[window]
    label = WINDOW_LABELS[window].lower()
    if b.complete is None:
        return (
            f"At {label} no returnee of {a.project} had a known residence; "
            "durability is not estimable."
        )
    t, p = a.threshold, a.project
    return (
        f"Still in the country of return at {label} ({a.project}): among returnees with a "
        f"known residence (complete cases) {share_text(p, b.complete, window, 'complete', t)}; "
        f"counting the {_joint_count(p, 'unknown', window, b.unknown, t)} returnees with unknown "
        f"residence as not durable (worst case) {share_text(p, b.worst, window, 'worst', t)}; "
        f"counting them as durable (best case) {share_text(p, b.best, window, 'best', t)}. "
        "The true share lies between the worst and the best case; "
        "the complete-case figure assumes that those not reached resemble those reached."
    )


def describe_ipw(a: DurabilityAnalysis) -> str:
    """Sentence with the response-weighted estimate, or why it was not computed."""
    r = a.ipw
    if not r.done:
        return (
            f"Inverse-probability-of-response weighting was {r.reason}. With so few "
            "returnees a response model would be unstable, so only the bounds are shown."
        )
    return (
        f"Weighting the {r.n_responders} returnees with a known residence at 12 months by the "
        "inverse of their estimated probability of being reached "
        f"(given {', '.join(r.covariates)}) "
        f"gives {100 * r.estimate:.1f} % (95 % CI {100 * r.ci_low:.1f}–{100 * r.ci_high:.1f} %; "
        f"largest weight {r.max_weight:.1f}). This assumes that, within these groups, those "
        "not reached resemble those reached."
    )


def describe_rss(a: DurabilityAnalysis, window: str = "m12") -> str:
    """Sentence on the composite at a window: mean and share at or above each cut-off."""
    from evaluation.publish.disclosure import is_withheld

    m = composite_metric(a, window)
    flag = "" if a.rss.verified else ", weights and cut-offs not yet verified against IOM's"
    label = WINDOW_LABELS[window].lower()
    if not m["n"]:
        return f"No returnee of {a.project} was scored at {label}."
    if m["n"] < a.threshold:
        return f"Fewer than {a.threshold} returnees of {a.project} were scored at {label}."
    parts = []
    for c in a.rss.cutoffs:
        r = m[f"share_above_{c:g}"]
        if is_withheld(r["n"], r["N"], a.threshold):
            parts.append(f"at or above {c:g}: withheld (fewer than {a.threshold})")
        else:
            parts.append(f"{100 * r['estimate']:.0f} % at or above {c:g} ({r['n']} of {r['N']})")
    return (
        f"At {label}, {m['n']} returnees of {a.project} had a composite sustainability score "
        f"(mean {m['mean']:.2f}); "
        + ", ".join(parts)
        + f". Scoring configuration {a.rss.version}{flag}."
    )


def describe_completeness(a: DurabilityAnalysis) -> str:
    """Sentence on contact completeness at 6 and 12 months."""
    bits = []
    for w in ("m6", "m12"):
        r = reached_rate(a, w)
        v = _view()
        if r is not None and v is not None:
            ok = v.rate_shown(_key(a.project, "reached", w), _key(a.project, "due", w))
            text = r.describe() if ok else "a withheld share"
            bits.append(f"{text} at {WINDOW_LABELS[w].lower()}")
        elif r is not None:
            bits.append(f"{_rate_text(r, a.threshold)} at {WINDOW_LABELS[w].lower()}")
    if not bits:
        return f"No monitoring window was due for {a.project}."
    return (
        f"Monitoring partners reached the {a.project} returnees due in " + " and ".join(bits) + "."
    )


def describe_trajectory(a: DurabilityAnalysis) -> str:
    """Sentence on the change of the composite, with a plain caution about small n."""
    t = a.trajectory
    caution = (
        f" With {t.n_returnees} returnees, and fewer at each later window, these estimates are "
        "imprecise and describe this group only: those still reached at 12 months may differ "
        "from those lost, and the change is not shown to be caused by the support."
    )
    if t.method != "mixedlm":
        return f"Trajectories: {t.message}.{caution}"
    last = t.table.dropna(subset=["ci_low"]).iloc[-1]
    return (
        f"Trajectories: {t.message}. By {WINDOW_LABELS[last['window']].lower()} the mean "
        f"composite changed by {last['change']:+.2f} (95 % CI {last['ci_low']:+.2f} to "
        f"{last['ci_high']:+.2f}).{caution}"
    )


def describe_survival(a: DurabilityAnalysis, level: float) -> str:
    """Sentence on the Kaplan–Meier estimate of staying at the end of follow-up; with no
    re-migration, a one-sided exact lower bound at `level` (the plan's
    inference.no_event_bound_level) instead of a degenerate interval."""
    inc = a.times[a.times["included"]]
    out = len(a.times) - len(inc)
    if inc.empty:
        return f"No returnee of {a.project} had a contact confirming residence: no survival curve."
    km = a.km.iloc[-1]
    events = int(inc["event"].sum())
    horizon = inc["time"].max()
    if events == 0:
        bound = no_event_bound(int((inc["time"] >= horizon).sum()), level)
        estimate = bound.describe() if bound else "not estimable"
    else:
        estimate = (
            f"{100 * km['survival']:.1f} % (95 % CI {100 * km['ci_low']:.1f}–"
            f"{100 * km['ci_high']:.1f} %)"
        )
    v = _view()
    if v is not None and events and not all(
        v.shown(f"{a.project}/km_step|month={m}") for m in range(int(horizon) + 1)
        if f"{a.project}/km_step|month={m}" in v.derived
    ):  # fmt: skip
        estimate = f"withheld (a step would let fewer than {v.threshold} be worked out)"
    left = "returnee was" if out == 1 and a.threshold <= 1 else "returnees were"
    small = [g.replace("_", " ") for g in a.group_notes.get("main_support", [])]
    small += a.group_notes.get("country", [])
    return (
        "Kaplan–Meier estimate of still being in the country of return "
        f"{horizon:.0f} months after return: "
        f"{estimate}, from {len(inc)} returnees with at least one contact "
        f"confirming their residence ({_count(int(inc['event'].sum()), a.threshold)} "
        f"re-migrations); {_count(out, a.threshold)} {left} never confirmed and are left out."
        + (
            f" Groups with fewer than {a.min_cell} returnees have no curve of their own: "
            f"{', '.join(small)}."
            if small
            else ""
        )
    )


def describe_support_landmark(a: DurabilityAnalysis) -> str:
    """How the support-type curves avoid immortal time: the plan's landmark, and how many
    returnees were left out because they re-migrated or stopped being followed before it."""
    lm = a.landmark
    when = f"{lm.months:g} months after return"
    return (
        f"The curves by support type group returnees by the main support they had received by "
        f"the landmark, {when} (analysis plan), and follow them from the landmark on, so that "
        f"support delivered later cannot make a type look durable merely because its "
        f"recipients had to stay long enough to receive it. "
        f"{_count(lm.excluded, a.threshold).capitalize()} of the returnees with a confirmed "
        f"residence had re-migrated by the landmark or were no longer followed at it and are "
        f"left out; {_count(len(lm.times), a.threshold)} are followed from it."
    )


# ---------------------------------------------------------------------------------------------
# Across projects


def comparison_table(analyses: Sequence[DurabilityAnalysis], threshold: int = 5) -> str:
    """Projects side by side at 12 months (reached, durability three ways), cells suppressed."""
    f = comparison_frame(analyses)
    v = _view()
    if v is not None:
        return _joint_comparison_table(f, v)

    def fmt(prefix: str) -> list[str]:
        return [
            f"{100 * e:.1f} ({100 * lo:.1f}–{100 * hi:.1f})" if pd.notna(e) else ""
            for e, lo, hi in zip(
                f[f"{prefix}_estimate"], f[f"{prefix}_ci_low"], f[f"{prefix}_ci_high"], strict=True
            )
        ]

    out = pd.DataFrame(
        {
            "Project": f["project"].astype("str"),
            "Returnees": f["returnees"].astype(int),
            "Due at 12 m": f["due_12m"].astype(int),
            "Reached at 12 m": f["reached_12m"].astype(int),
            "Stayed": f["complete_12m_n"].astype(int),
            "Known residence": f["complete_12m_N"].astype(int),
            "Complete cases (%, CI)": fmt("complete_12m"),
            "Worst case (%, CI)": fmt("worst_12m"),
            "Best case (%, CI)": fmt("best_12m"),
        }
    )
    pairs = [
        ("Stayed", "Known residence", "Complete cases (%, CI)"),
        ("Stayed", "Due at 12 m", "Worst case (%, CI)"),
    ]
    return _protected(
        out,
        ["Returnees", "Due at 12 m", "Reached at 12 m", "Stayed", "Known residence"],
        threshold,
        pairs,
    )


def _joint_comparison_table(f: pd.DataFrame, v) -> str:
    from evaluation.publish.gate import MARK, durability_comparison_shown
    from evaluation.report.tables import markdown_table

    g = durability_comparison_shown(f, v)

    def num(col: str) -> list[str]:
        return [str(x) if str(x) == MARK else str(int(x)) for x in g[col]]

    def pct(prefix: str) -> list[str]:
        return [
            MARK if MARK in (str(e), str(lo))
            else f"{100 * e:.1f} ({100 * lo:.1f}–{100 * hi:.1f})" if pd.notna(e) else ""
            for e, lo, hi in zip(
                g[f"{prefix}_estimate"], g[f"{prefix}_ci_low"], g[f"{prefix}_ci_high"], strict=True
            )
        ]  # fmt: skip

    out = pd.DataFrame(
        {
            "Project": g["project"].astype("str"),
            "Returnees": num("returnees"),
            "Due at 12 m": num("due_12m"),
            "Reached at 12 m": num("reached_12m"),
            "Stayed": num("complete_12m_n"),
            "Known residence": num("complete_12m_N"),
            "Complete cases (%, CI)": pct("complete_12m"),
            "Worst case (%, CI)": pct("worst_12m"),
            "Best case (%, CI)": pct("best_12m"),
        }
    )
    md = markdown_table(out, align={c: ("left" if c == "Project" else "right") for c in out})
    return md + (f"\n\n{_legend(v.threshold)}" if (out == MARK).to_numpy().any() else "")


def describe_comparison(analyses: Sequence[DurabilityAnalysis], threshold: int = 5) -> str:
    """Sentence giving complete-case durability at 12 months of every project, and the
    difference of each project from the first (Newcombe) where neither rate is withheld.

    A difference is left out when either rate is withheld: with the other rate it would
    give the withheld one back.
    """
    from evaluation.analysis.rates import newcombe
    from evaluation.publish.disclosure import is_withheld

    have = [a for a in analyses if a.bounds["m12"].complete is not None]
    if len(have) < 2:
        return "Fewer than two projects have returnees with a known residence at 12 months."
    parts = [
        f"{a.project} "
        + share_text(a.project, a.bounds["m12"].complete, "m12", "complete", threshold)
        for a in have
    ]
    v = _view()
    text = "Still in the country of return at 12 months (complete cases): " + "; ".join(parts) + "."
    base = have[0]
    rb = base.bounds["m12"].complete
    for other in have[1:]:
        ro = other.bounds["m12"].complete
        if any(is_withheld(r.n, r.N, threshold) for r in (ro, rb)):
            continue
        if v is not None and not all(
            v.shown(f"{q.project}/durability_complete|window=m12") for q in (other, base)
        ):
            continue
        d = newcombe(ro.n, ro.N, rb.n, rb.N)
        text += (
            f" {other.project} minus {base.project}: {100 * d.estimate:+.1f} percentage points "
            f"(95 % CI {100 * d.ci_low:+.1f} to {100 * d.ci_high:+.1f})."
        )
    return (
        text + " The worst and best cases of each project (table above) show how much of any "
        "difference could come from the returnees nobody reached."
    )
