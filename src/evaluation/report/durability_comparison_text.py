"""Durability across projects: the side-by-side table and the sentence that states it."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from evaluation.analysis.durability import (
    DurabilitySummary,
    comparison_frame,
)
from evaluation.report.durability_tables import _legend, _protected, _view, share_text


def comparison_table(analyses: Sequence[DurabilitySummary], threshold: int = 5) -> str:
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
    # a column per project, a row per count or share: nine columns of intervals did not fit
    # across A4, and two or three projects do
    words = {
        "Due at 12 m": "Due at 12 months",
        "Reached at 12 m": "Reached at 12 months",
        "Stayed": "Stayed (known residence)",
        "Known residence": "Residence known",
        "Complete cases (%, CI)": "Complete cases: % (95 % CI)",
        "Worst case (%, CI)": "Worst case: % (95 % CI)",
        "Best case (%, CI)": "Best case: % (95 % CI)",
    }
    wide = out.set_index("Project").T.rename(index=words)
    wide.columns = [str(c) for c in wide.columns]
    wide = wide.rename_axis("At 12 months after return").reset_index()
    md = markdown_table(
        wide, align={c: ("left" if i == 0 else "right") for i, c in enumerate(wide)}
    )
    return md + (f"\n\n{_legend(v.threshold)}" if (out == MARK).to_numpy().any() else "")


def describe_comparison(analyses: Sequence[DurabilitySummary], threshold: int = 5) -> str:
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
