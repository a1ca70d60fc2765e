"""The efficiency table and sentences a funder reads, after the amount disclosure rules."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from evaluation.analysis.efficiency import Efficiency, Ratio
from evaluation.publish.dominance import check_amounts

PER = (
    ("per_enrolled", "enrolled client", "enrolled"),
    ("per_return", "verified return", "verified returns"),
    ("per_staying_12m", "returnee in the country at 12 months", "known to stay at 12 months"),
)


def euros(x: float | None) -> str:
    """€1,454 (whole euros, thousands separated)."""
    return "—" if x is None else f"€{x:,.0f}"


def _interval(r: Ratio) -> str:
    if r.ci_low is None or r.ci_high is None:
        return "— (too few clients for an interval)"
    return f"{euros(r.ci_low)}–{euros(r.ci_high)}"


def efficiency_display(results: Sequence[Efficiency], threshold: int = 5) -> pd.DataFrame:
    """One row per project and denominator, labelled for people; unsafe cells withheld (in a
    pipeline run: what the joint decision withholds)."""
    rows = []
    joint = _joint_rows(results)
    for e in results:
        check = check_amounts(e.client_amounts, threshold)
        for attr, per, unit in PER:
            r: Ratio = getattr(e, attr)
            safe = check.safe and r.units >= threshold
            why = check.reason or (f"fewer than {threshold} {unit}" if r.units < threshold else "")
            if joint is not None:
                shown = joint.get((e.project, attr), set())
                safe = {"eur", "units"} <= shown
                why = "joint disclosure check" if not safe else ""
            rows.append(
                {
                    "Project": e.project,
                    "Support spending per": per,
                    "Euros": euros(r.estimate) if safe else "withheld",
                    "95 % CI": _interval(r) if safe else f"withheld ({why})",
                    "Denominator": (
                        f"{r.units} {unit} of {r.N} enrolled"
                        if safe
                        else ("x" if joint is not None else f"<{threshold}")
                    )
                    if attr != "per_enrolled"
                    else f"{r.N} enrolled",
                }
            )
    return pd.DataFrame(rows)


def _joint_rows(results: Sequence[Efficiency]) -> dict | None:
    """{(project, attribute): columns the joint decision shows}, or None outside a run."""
    from evaluation.publish.efficiency_results import joint_efficiency

    table = joint_efficiency(results)
    if table is None:
        return None
    attrs = {"enrolled client": "per_enrolled", "verified return": "per_return",
             "returnee staying at 12 months": "per_staying_12m"}  # fmt: skip
    return {
        (r["project"], attrs.get(r["per"], "")): {c for c in table.columns if str(r[c]) != "x"}
        for _, r in table.iterrows()
    }


def describe_efficiency(results: Sequence[Efficiency], threshold: int = 5) -> str:
    """A sentence per project on spending per verified return, with its interval and n of N."""
    out = []
    joint = _joint_rows(results)
    for e in results:
        r = e.per_return
        check = check_amounts(e.client_amounts, threshold)
        shown = joint.get((e.project, "per_return"), set()) if joint is not None else None
        if shown is not None and not {"eur", "units", "N", "total_eur", "items"} <= shown:
            out.append(
                f"For {e.project}, support spending per verified return is not shown: it would "
                "reveal a figure the joint disclosure check withholds."
            )
            continue
        if not check.safe or r.units < threshold or r.estimate is None:
            out.append(
                f"For {e.project}, support spending per verified return is not shown: "
                f"{check.reason or f'fewer than {threshold} verified returns'}."
            )
            continue
        count = (
            str(e.items_without_amount)
            if e.items_without_amount >= threshold
            else f"fewer than {threshold}"
        )
        missing = (
            f" Of {e.items} support items, {count} had no recorded amount, so the figures are "
            "lower bounds."
            if e.items_without_amount
            else ""
        )
        out.append(
            f"{e.project} spent {euros(r.total_eur)} in recorded reintegration support on its "
            f"{r.units} verified returns of {r.N} enrolled clients: {euros(r.estimate)} per "
            f"verified return (95 % CI {_interval(r)}) and {euros(e.per_enrolled.estimate)} per "
            f"enrolled client.{missing}"
        )
    out.append(
        "Project budgets (staff, overhead) were not supplied, so these are support costs only, "
        "not the full cost of a return."
    )
    return "\n\n".join(out)
