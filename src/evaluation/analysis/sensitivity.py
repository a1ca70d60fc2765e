"""The declared sensitivity analyses of each primary estimand, as one tidy table.

Return (cumulative incidence at the primary horizon, each contrast): the primary analysis;
withdrawal and lost contact handled the other way; carry-over clients excluded; follow-up
censored at the start of COVID-19 travel restrictions; enrolments split at that date.
Durability (still in the country at the primary window): complete cases, and the tipping
point — how many of those not reached would have to have re-migrated for the share to fall
below the plan's threshold.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from evaluation.analysis import estimands
from evaluation.analysis.contrasts import arm, cif_difference
from evaluation.analysis.plan import Plan
from evaluation.analysis.survival import cumulative_incidence

COLUMNS = [
    "id",
    "estimand",
    "analysis",
    "group",
    "baseline",
    "other",
    "estimate",
    "ci_low",
    "ci_high",
    "N",
    "note",
]


@dataclass(frozen=True)
class TippingPoint:
    """How many of the unknown must have re-migrated for the share staying to drop below
    `threshold`, counting every other unknown as having stayed."""

    threshold: float
    stayed: int
    unknown: int
    due: int
    k: int | None  # None: even all unknown re-migrated keeps the share at or above threshold

    def share(self, k: int) -> float:
        """Share staying when k of the unknown re-migrated and the rest stayed."""
        return (self.stayed + self.unknown - k) / self.due


def tipping_point(stayed: int, unknown: int, due: int, threshold: float) -> TippingPoint:
    """Smallest k with (stayed + unknown − k) / due < threshold (k from 0 to unknown)."""
    if due <= 0:
        return TippingPoint(threshold, stayed, unknown, due, None)
    k = max(0, math.floor(stayed + unknown - threshold * due) + 1)
    return TippingPoint(threshold, stayed, unknown, due, k if k <= unknown else None)


def _scenarios(plan: Plan) -> list[tuple[str, str, dict]]:
    """(id, label, person_times overrides) of every return-estimand analysis to run."""
    est = plan.return_
    out = [("primary", "Primary analysis (as declared)", {})]
    for s in plan.sensitivity:
        if s.id == "withdrawal_alternative":
            label = f"{s.label} (here: {est.other_withdrawal_handling})"
            out.append((s.id, label, {"withdrawal": est.other_withdrawal_handling}))
        elif s.id == "carry_over_excluded":
            out.append((s.id, s.label, {"carry_over": "exclude"}))
        elif s.id == "covid_censored":
            out.append((s.id, f"{s.label} ({s.date:%d %B %Y})", {"censor_at": s.date}))
        elif s.id == "covid_split":
            out.append((s.id, s.label, {"split": s.date}))
    return out


def return_sensitivity(
    tables: Mapping[str, pd.DataFrame],
    ends: Mapping[str, dt.date],
    cutoff: dt.date | Mapping[str, dt.date] | None,
    plan: Plan,
    frames: Mapping[str, pd.DataFrame] | None = None,
    primary: pd.DataFrame | None = None,
    people: estimands.Persons | None = None,
) -> pd.DataFrame:
    """Each declared contrast at the primary horizon under every declared return analysis.
    primary: the person times of the primary analysis (estimands.person_times as declared),
    when already computed; analyses that follow the same people the same way share them.
    people: estimands.persons of the projects, when already computed."""
    h = plan.return_.primary_horizon
    rows = []
    contrasts = plan.contrasts_for(tuple(ends))
    computed = {} if primary is None else {(): primary}
    if people is None and len(computed) < len(_scenarios(plan)):
        people = estimands.persons(tables["enrolments"], list(ends))
    for sid, label, opts in _scenarios(plan):
        split = opts.pop("split", None)
        key = tuple(sorted(opts.items()))
        if key not in computed:
            computed[key] = estimands.person_times(
                tables, ends, cutoff, plan.return_, frames=frames, people=people, **opts
            )
        times = computed[key]
        periods = [("", times)]
        if split is not None:
            before = times["enrolment_date"] < pd.Timestamp(split)
            periods = [
                (f"enrolled before {split:%d %B %Y}", times[before]),
                (f"enrolled from {split:%d %B %Y}", times[~before]),
            ]
        for period, t in periods:
            for c in contrasts:
                row = {
                    "id": sid,
                    "estimand": f"{plan.return_.label}, {h:g} months",
                    "analysis": label,
                }
                row["group"] = f"{c.other} − {c.baseline}" + (f", {period}" if period else "")
                n_base = int((t["project"] == c.baseline).sum())
                n_other = int((t["project"] == c.other).sum())
                row["N"] = f"{n_base} / {n_other}"
                if n_base == 0 or n_other == 0:
                    only = c.other if n_other else c.baseline
                    g = t.loc[t["project"] == only]
                    if len(g):
                        est = arm(only, cumulative_incidence(g["time"], g["status"]), h)
                        row["other" if n_other else "baseline"] = est.estimate
                    row["note"] = f"{only} only: no contrast"
                    rows.append(row)
                    continue
                d = cif_difference(t, c.baseline, c.other, h, plan.inference)
                row.update(
                    baseline=d.baseline.estimate,
                    other=d.other.estimate,
                    estimate=d.estimate,
                    ci_low=d.ci_low,
                    ci_high=d.ci_high,
                    note="" if d.estimable else "no interval: no events and no variance",
                )
                rows.append(row)
    return pd.DataFrame(rows, columns=COLUMNS)


def durability_sensitivity(bounds: Mapping[str, object], plan: Plan) -> pd.DataFrame:
    """Per project (bounds: project → durability Bounds at the primary window): complete-case
    share, worst and best case, and the tipping point of loss to follow-up as re-migration."""
    h = plan.durability.primary_horizon
    tip = plan.sensitivity_by_id("loss_as_remigration")
    rows = []
    estimand = f"{plan.durability.label}, {h:g} months"
    for project, b in bounds.items():
        for analysis, r in (
            ("Complete cases (primary)", b.complete),
            ("Worst case: everyone not reached re-migrated", b.worst),
            ("Best case: everyone not reached stayed", b.best),
        ):
            rows.append(
                {
                    "id": "durability_" + analysis.split()[0].lower(),
                    "estimand": estimand,
                    "analysis": analysis,
                    "group": project,
                    "estimate": r.estimate if r else None,
                    "ci_low": r.ci_low if r else None,
                    "ci_high": r.ci_high if r else None,
                    "N": str(r.N) if r else "0",
                    "note": "",
                }
            )
        if tip is not None:
            t = tipping_point(b.stayed, b.unknown, b.due, tip.threshold)
            if t.k is None:
                note = (
                    f"the share stays at or above {100 * tip.threshold:.0f} % even if all "
                    f"{b.unknown} not reached re-migrated"
                )
            else:
                note = (
                    f"{t.k} of the {b.unknown} not reached would have to have re-migrated for "
                    f"the share to fall below {100 * tip.threshold:.0f} %"
                )
            rows.append(
                {
                    "id": tip.id,
                    "estimand": estimand,
                    "analysis": tip.label,
                    "group": project,
                    "estimate": None if t.k is None else t.share(t.k),
                    "N": str(b.due),
                    "note": note,
                }
            )
    return pd.DataFrame(rows, columns=COLUMNS)
