"""Durability of reintegration after return for one project: every computation at once, its
headline metrics, and the comparison across projects.

The parts live in monitoring_windows (who is followed up), rss_scores (scores), attrition
(reach and bounds), remigration (Kaplan–Meier), response_weights (IPW) and trajectories.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from evaluation.analysis.attrition import Bounds, completeness_matrix, durability_bounds
from evaluation.analysis.landmark import Landmark, landmark_times, support_by_landmark
from evaluation.analysis.monitoring_windows import (
    WINDOW_LABELS,
    follow_up,
    main_support_type,
    returnees,
)
from evaluation.analysis.rates import Rate, mean_interval, rate_or_reason, wilson
from evaluation.analysis.remigration import (
    kaplan_meier,
    km_by_group,
    numbers_at_risk,
    remigration_times,
)
from evaluation.analysis.response_weights import IPWResult, ipw_durability
from evaluation.analysis.rss_scores import (
    RSSConfig,
    at_or_above,
    composite_scores,
    load_rss_config,
    score_distribution,
    share_above,
)
from evaluation.analysis.trajectories import Trajectory, trajectory_model

# the prepared tables and columns analyse reads (a notebook loads only these)
COLUMNS: dict[str, list[str]] = {
    "clients": ["client_id", "sex", "birth_year", "country_of_return", "household_size"],
    "departures": [
        "client_id",
        "enrolment_id",
        "departure_date",
        "departure_type",
        "verification",
        "destination",
    ],
    "enrolments": ["enrolment_id", "project"],
    "monitoring": [
        "client_id",
        "window",
        "contact_date",
        "reached",
        "not_reached_reason",
        "residence_status",
        "rss_economic",
        "rss_social",
        "rss_psychosocial",
    ],
    "support": ["client_id", "support_type", "amount_eur", "support_date"],
}


@dataclass
class DurabilityAnalysis:
    """Everything the durability notebook shows for one project."""

    project: str
    rss: RSSConfig
    returnees: pd.DataFrame
    follow: pd.DataFrame
    completeness: pd.DataFrame
    distribution: pd.DataFrame
    shares: pd.DataFrame
    bounds: dict[str, Bounds]
    times: pd.DataFrame
    km: pd.DataFrame
    km_support: pd.DataFrame  # by support received by the landmark, from the landmark
    km_country: pd.DataFrame
    group_notes: dict[str, list[str]]
    ipw: IPWResult
    trajectory: Trajectory
    landmark: Landmark
    min_cell: int = 5
    threshold: int = 5
    at_risk_times: tuple[float, ...] = (0, 3, 6, 9, 12)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """Lower-case project id for metric keys."""
        return self.project.lower()

    @property
    def at_risk(self) -> list[int]:
        """Numbers at risk under the survival axis."""
        t = self.times[self.times["included"]]["time"]
        return numbers_at_risk(t, self.at_risk_times)


def analyse(
    tables: dict[str, pd.DataFrame],
    project: str,
    rss: RSSConfig | None = None,
    cutoff: dt.date | None = None,
    min_cell: int = 5,
    threshold: int = 5,
    grace_days: int = 0,
    deaths_leave: bool = False,
    landmark_months: float | None = None,
) -> DurabilityAnalysis:
    """Run every durability computation for one return project.

    cutoff: the data cut-off (windows after it are not yet due); min_cell: smallest group with
    its own survival curve; threshold: small-count limit for the tables and sentences.
    landmark_months: the landmark of the support-type curves (support received by then,
    followed from then); None reads it from the repository's analysis plan.
    """
    rss = rss or load_rss_config()
    ret = returnees(tables, project)
    fol = follow_up(
        tables["monitoring"], ret, cutoff=cutoff, grace_days=grace_days, deaths_leave=deaths_leave
    )
    fol = composite_scores(fol, rss)
    times = remigration_times(fol, ret)
    inc = times[times["included"]]
    if landmark_months is None:
        from evaluation.analysis.plan import load_plan

        landmark_months = load_plan().durability.landmark_months
    support = tables.get("support", pd.DataFrame(columns=["client_id", "support_type"]))
    by_landmark = main_support_type(
        support_by_landmark(support, ret, landmark_months), ret["client_id"].tolist()
    )
    lm = landmark_times(
        times.assign(main_support=times["client_id"].map(by_landmark).fillna("none")),
        landmark_months,
    )
    km_s, notes_s = km_by_group(lm.times, "main_support", min_cell)
    km_c, notes_c = km_by_group(times, "country", min_cell)
    return DurabilityAnalysis(
        project=project,
        rss=rss,
        returnees=ret,
        follow=fol,
        completeness=completeness_matrix(fol),
        distribution=score_distribution(fol),
        shares=share_above(fol, rss.cutoffs),
        bounds={w: durability_bounds(fol, w) for w in ("m6", "m12")},
        times=times,
        km=kaplan_meier(inc["time"], inc["event"]),
        km_support=km_s,
        km_country=km_c,
        group_notes={"main_support": notes_s, "country": notes_c},
        ipw=ipw_durability(fol, ret, "m12"),
        trajectory=trajectory_model(fol),
        landmark=lm,
        min_cell=min_cell,
        threshold=threshold,
    )


def composite_metric(a: DurabilityAnalysis, window: str = "m12") -> dict[str, Any]:
    """Mean composite at a window and the share at or above each cut-off."""
    x = a.follow.loc[a.follow["window"] == window, "rss_composite"].dropna()
    out: dict[str, Any] = {
        "mean": float(x.mean()) if len(x) else None,
        "n": len(x),
        "rss_config_version": a.rss.version,
        "rss_verified": a.rss.verified,
    }
    interval = mean_interval([float(v) for v in x])
    if interval is not None:
        out["ci_low"], out["ci_high"], out["method"] = interval[0], interval[1], "t"
    label = WINDOW_LABELS.get(window, window).lower()
    if not len(x):
        out["reason"] = f"no returnee was scored at {label}"
    for c in a.rss.cutoffs:
        r = wilson(at_or_above(x, c), len(x)) if len(x) else None
        out[f"share_above_{c:g}"] = rate_or_reason(r, f"no returnee was scored at {label}")
    return out


def _shown(n: int, threshold: int) -> int | None:
    return None if 0 < n < threshold else int(n)


def metrics(a: DurabilityAnalysis) -> dict[str, Any]:
    """Headline metrics under stable keys (<project>.durability_12m, .rss_composite_12m, ...)."""
    k = a.key
    return {
        f"{k}.returnees": len(a.returnees),
        f"{k}.durability_12m": a.bounds["m12"].as_dict(),
        f"{k}.durability_6m": a.bounds["m6"].as_dict(),
        f"{k}.staying_6m": rate_or_reason(
            a.bounds["m6"].complete, "no returnee with a known residence at 6 months"
        ),
        f"{k}.staying_12m": rate_or_reason(
            a.bounds["m12"].complete, "no returnee with a known residence at 12 months"
        ),
        f"{k}.reached_6m": rate_or_reason(
            reached_rate(a, "m6"), "no returnee was due for the 6-month contact"
        ),
        f"{k}.reached_12m": rate_or_reason(
            reached_rate(a, "m12"), "no returnee was due for the 12-month contact"
        ),
        f"{k}.rss_composite_12m": composite_metric(a, "m12"),
        f"{k}.durability_12m_ipw": a.ipw.as_dict(),
        f"{k}.trajectory": {
            "method": a.trajectory.method,
            "n_returnees": a.trajectory.n_returnees,
            "n_scores": a.trajectory.n_observations,
        },
        f"{k}.support_landmark": {  # counts from 1 to threshold − 1 are withheld (None)
            "landmark_months": a.landmark.months,
            "followed": _shown(len(a.landmark.times), a.threshold),
            "excluded": _shown(a.landmark.excluded, a.threshold),
        },
    }


def reached_rate(a: DurabilityAnalysis | DurabilitySummary, window: str) -> Rate | None:
    row = a.completeness.set_index("window").loc[window]
    return wilson(int(row["reached"]), int(row["due"])) if row["due"] else None


def at_risk_table(a: DurabilityAnalysis) -> pd.DataFrame:
    """Months since return and the numbers still under observation."""
    return pd.DataFrame({"months": list(a.at_risk_times), "at_risk": a.at_risk})


@dataclass(frozen=True)
class DurabilitySummary:
    """What the cross-project notebooks read of one project's durability analysis (stored by
    the durability notebook in the run's results store, so that nothing is computed twice)."""

    project: str
    returnees: int
    completeness: pd.DataFrame
    distribution: pd.DataFrame
    bounds: dict[str, Bounds]
    composite_12m: dict[str, Any]

    @property
    def key(self) -> str:
        return self.project.lower()


def summarise(a: DurabilityAnalysis, windows: Sequence[str] = ()) -> DurabilitySummary:
    """The parts of an analysis that comparisons and the summary use, without case rows
    (windows: bounds wanted beyond the analysis's own, e.g. the plan's primary window)."""
    bounds = dict(a.bounds)
    for w in windows:
        if w not in bounds:
            bounds[w] = durability_bounds(a.follow, w)
    return DurabilitySummary(
        project=a.project,
        returnees=len(a.returnees),
        completeness=a.completeness,
        distribution=a.distribution,
        bounds=bounds,
        composite_12m=composite_metric(a, "m12"),
    )


def comparison_frame(summaries: Sequence[DurabilitySummary]) -> pd.DataFrame:
    """One tidy row per project: returnees, reached at 12 months, durability three ways, score."""
    rows = []
    for a in summaries:
        b = a.bounds["m12"]
        m = a.composite_12m
        reached = reached_rate(a, "m12")
        row: dict[str, Any] = {
            "project": a.project,
            "returnees": a.returnees,
            "reached_12m": reached.n if reached else 0,
            "due_12m": reached.N if reached else 0,
        }
        for name, r in (
            ("staying_6m", a.bounds["m6"].complete),
            ("complete_12m", b.complete),
            ("worst_12m", b.worst),
            ("best_12m", b.best),
        ):
            row |= {
                f"{name}_n": r.n if r else 0,
                f"{name}_N": r.N if r else 0,
                f"{name}_estimate": r.estimate if r else np.nan,
                f"{name}_ci_low": r.ci_low if r else np.nan,
                f"{name}_ci_high": r.ci_high if r else np.nan,
            }
        row |= {
            "composite_mean_12m": m["mean"] if m["mean"] is not None else np.nan,
            "scored_12m": m["n"],
        }
        rows.append(row)
    return pd.DataFrame(rows)


def comparison_metrics(analyses: Sequence[DurabilitySummary]) -> dict[str, Any]:
    """Newcombe difference of complete-case durability at 12 months, each project vs the first."""
    from evaluation.analysis.rates import newcombe

    out: dict[str, Any] = {}
    if not analyses:
        return out
    base = analyses[0]
    rb = base.bounds["m12"].complete
    for a in analyses[1:]:
        ra = a.bounds["m12"].complete
        key = f"comparison.{a.key}_vs_{base.key}.durability_12m_complete_difference"
        if ra and rb:
            out[key] = newcombe(ra.n, ra.N, rb.n, rb.N).as_dict()
        else:
            lacking = " and ".join(x.project for x, r in ((a, ra), (base, rb)) if r is None)
            out[key] = {
                "estimate": None,
                "reason": f"{lacking}: no returnee with a known residence at 12 months",
            }
    return out
