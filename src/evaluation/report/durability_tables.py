"""Durability tables for display, from analysis results: completeness, bounds, shares, score
distribution and trajectory, each protected against small cells."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from evaluation.analysis.durability import (
    DurabilityAnalysis,
)
from evaluation.analysis.monitoring_windows import NO_RECORD, NOT_REACHED_REASONS, WINDOW_LABELS
from evaluation.analysis.rates import Rate
from evaluation.publish.durability_view import BOUND_COUNTS as APPROACHES


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
    from evaluation.publish.durability_view import bound_shown

    rows = []
    for _, r in t.iterrows():
        shown, n_shown, big_shown = bound_shown(v, a.project, window, str(r["approach"]))
        rows.append(
            {
                "Approach": names[str(r["approach"])],
                "Counts as durable": str(r["definition"]),
                "n": int(r["n"]) if n_shown else "x",
                "N": int(r["N"]) if big_shown else "x",
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
        from evaluation.publish.view import key
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
        # windows the ledger holds (those due); their counts may all be withheld
        cells = [
            any(key(a.project, what, window=str(w)) in v.values for what in ("due", "reached"))
            for w in g["window"]
        ]
        out = out[cells]
        if out.empty:
            return "No monitoring window of this project was due by the data cut-off."
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
    v = _view()
    if v is not None:  # the joint decision: each count by its ledger cell
        from evaluation.publish.durability_view import shares_shown

        s = shares_shown(s, v, a.project)
    rows = []
    for w, sub in s.groupby("window", sort=False):
        big = sub["N"].iloc[0]
        row: dict[str, Any] = {"Window": WINDOW_LABELS[w], "Scored": _int(big)}
        for _, r in sub.iterrows():
            row[f"≥ {r['cutoff']:g}"] = _int(r["n"])
            row[f"≥ {r['cutoff']:g} (%, 95 % CI)"] = (
                "x"
                if str(r["estimate"]) == "x"
                else f"{100 * r['estimate']:.0f} ({100 * r['ci_low']:.0f}–{100 * r['ci_high']:.0f})"
            )
        rows.append(row)
    out = pd.DataFrame(rows)
    if out.empty:
        return "No returnee had a composite score."
    if v is not None:
        from evaluation.report.tables import markdown_table

        md = markdown_table(out, align={c: "right" for c in out.columns if c != "Window"})
        return md + (f"\n\n{_legend(v.threshold)}" if (out == "x").to_numpy().any() else "")
    cuts = [f"≥ {c:g}" for c in a.rss.cutoffs]
    pairs = [(c, "Scored", f"{c} (%, 95 % CI)") for c in cuts]
    return _protected(out, [*cuts, "Scored"], a.threshold, pairs)


def distribution_table(a: DurabilityAnalysis) -> str:
    """Composite score by window: n, mean, sd and quartiles; statistics of < threshold withheld."""
    d = a.distribution[a.distribution["score"] == "composite"]
    out = pd.DataFrame({"Window": d["window"].map(WINDOW_LABELS).astype("str")})
    small = d["n"].between(1, a.threshold - 1).to_numpy()
    out["n"] = np.where(small, f"<{a.threshold}", d["n"].astype(int).astype(str))
    v = _view()
    if v is not None:  # the joint decision: n by its ledger cell, statistics with it
        from evaluation.publish.durability_view import distribution_shown

        g = distribution_shown(d, v, a.project)
        small = (g["mean"].astype(str) == "x").to_numpy()
        out["n"] = [str(x if str(x) == "x" else int(x)) for x in g["n"]]
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
    v = _view()
    if v is not None:  # the joint decision: n by its ledger cell, estimates with it
        from evaluation.publish.durability_view import trajectory_shown

        g = trajectory_shown(t, v, a.project)
        small = (g["mean"].astype(str) == "x").to_numpy()
        out["n"] = [str(x if str(x) == "x" else int(x)) for x in g["n"]]
    out["Mean"] = [
        "x" if sm else f"{v:.2f}" if pd.notna(v) else ""
        for sm, v in zip(small, t["mean"], strict=True)
    ]
    from evaluation.publish.model_rules import trajectory_dof_fails

    if a.trajectory.method == "mixedlm" and not trajectory_dof_fails(list(t["n"])):
        out["Change (95 % CI)"] = [
            "reference" if pd.isna(lo) else "x" if sm else f"{c:+.2f} ({lo:+.2f} to {hi:+.2f})"
            for sm, c, lo, hi in zip(small, t["change"], t["ci_low"], t["ci_high"], strict=True)
        ]
    return markdown_table(out, align={c: "right" for c in out.columns if c != "Window"})


def _int(x: Any) -> Any:
    return x if str(x) == "x" else int(x)


def _count(n: int, threshold: int) -> str:
    return f"fewer than {threshold}" if 0 < n < threshold else str(n)


def _rate_text(r: Rate | None, threshold: int) -> str:
    from evaluation.publish.disclosure import describe_rate

    return describe_rate(r, threshold) if r is not None else "not estimable (no known outcome)"


def exits_table(steps: pd.DataFrame, threshold: int, project: str) -> pd.DataFrame:
    """How follow-up for return ended (rows step = cause, n, N, estimate, CI, of) for the
    report and results: in a pipeline run as the joint decision shows it (each cause a ledger
    cell, publish.ledger_durability), else protected table by table."""
    from evaluation.report.conversion_tables import publishable_steps

    v = _view()
    if v is None:
        return publishable_steps(steps, threshold)[0]
    from evaluation.publish.durability_view import exits_shown

    return exits_shown(publishable_steps(steps, 1)[0].astype(object), v, project)
