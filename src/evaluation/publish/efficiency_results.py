"""The efficiency results file: tidy numbers, with cells the amount rules withhold left empty."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from evaluation.analysis.efficiency import Efficiency, efficiency_table
from evaluation.publish.dominance import check_amounts

VALUE_COLS = ["eur", "ci_low", "ci_high", "total_eur", "units"]


def joint_efficiency(results: Sequence[Efficiency]) -> pd.DataFrame | None:
    """efficiency_table as the joint decision of this pipeline run shows it ('x' where
    withheld; publish.gate_conversion), or None outside a pipeline run."""
    from evaluation.publish.gate_conversion import efficiency_shown
    from evaluation.publish.view import current

    view = current()
    if view is None:
        return None
    return efficiency_shown(efficiency_table(results).assign(withheld=""), view)


def publishable_efficiency(results: Sequence[Efficiency], threshold: int = 5) -> pd.DataFrame:
    """efficiency_table with every withheld cell empty and the reason in `withheld` (in a
    pipeline run: as the joint decision shows it)."""
    joint = joint_efficiency(results)
    if joint is not None:
        return joint
    table = efficiency_table(results).astype({c: "float64" for c in VALUE_COLS})
    table["withheld"] = ""
    for e in results:
        check = check_amounts(e.client_amounts, threshold)
        rows = table["project"] == e.project
        if not check.safe:
            table.loc[rows, VALUE_COLS] = np.nan
            table.loc[rows, "withheld"] = check.reason
        small = rows & (table["units"] < threshold)
        table.loc[small, VALUE_COLS] = np.nan
        table.loc[small, "withheld"] = f"fewer than {threshold} in the denominator"
    few = table["items_without_amount"].between(1, threshold - 1)
    table["items_without_amount"] = table["items_without_amount"].astype("Int64").mask(few)
    return table


WITHHELD = {"estimate": None, "reason": "withheld by the disclosure check",
            "withheld": "withheld by the disclosure check"}  # fmt: skip


def efficiency_metrics(results: Sequence[Efficiency], threshold: int = 5) -> dict[str, dict]:
    """<project>.support_eur_per_return and _per_enrolled where the amount rules (in a pipeline
    run: the joint decision) allow; an entry saying so where they withhold it."""
    out: dict[str, dict] = {}
    joint = joint_efficiency(results)
    for e in results:
        safe = check_amounts(e.client_amounts, threshold).safe
        for name, per, r in (("per_return", "verified return", e.per_return),
                             ("per_enrolled", "enrolled client", e.per_enrolled)):  # fmt: skip
            key = f"{e.project.lower()}.support_eur_{name}"
            out[key] = dict(WITHHELD)  # the key stays, so the report can say so
            if not safe:
                continue
            if joint is not None:
                row = joint[(joint["project"] == e.project) & (joint["per"] == per)]
                if row.empty or "x" in {str(row[c].iloc[0]) for c in ("eur", "units", "N")}:
                    continue
            if r.estimate is None:
                out[key] = {"estimate": None, "reason": f"not estimable: no {per} to divide by"}
            elif r.units >= threshold:
                out[key] = {
                    "estimate": r.estimate,
                    "ci_low": r.ci_low,
                    "ci_high": r.ci_high,
                    "n": r.units,
                    "N": r.N,
                }
    return out
