"""Write the durability results (tidy tables and metrics) into the run's results folder."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from evaluation.analysis.durability import DurabilityAnalysis, at_risk_table, metrics


def no_event_metric(a: DurabilityAnalysis, level: float) -> dict:
    """With no re-migration, the one-sided exact bound the survival sentence states
    (report.durability_text.describe_survival), as <project>.staying_no_event_bound."""
    from evaluation.analysis.bounds import no_event_bound

    inc = a.times[a.times["included"]]
    if inc.empty or int(inc["event"].sum()):
        return {}
    bound = no_event_bound(int((inc["time"] >= inc["time"].max()).sum()), level)
    if bound is None:
        return {}
    return {f"{a.key}.staying_no_event_bound": {"estimate": bound.lower, "n": bound.n,
                                                 "level": level}}  # fmt: skip


def save_results(a: DurabilityAnalysis, results_dir: str | Path, level: float = 0.95) -> list[Path]:
    """Write every tidy table behind the durability exhibits and the metrics fragment (level:
    the plan's inference.no_event_bound_level, for no_event_metric)."""
    from evaluation.publish.results import save_metrics, save_table

    paths = [
        save_table(a.completeness, results_dir, "durability_completeness"),
        save_table(a.distribution, results_dir, "durability_score_distribution"),
        save_table(a.shares, results_dir, "durability_share_above"),
        save_table(
            pd.concat([b.table() for b in a.bounds.values()]), results_dir, "durability_bounds"
        ),
        save_table(a.km, results_dir, "durability_km"),
        save_table(a.km_support, results_dir, "durability_km_by_support"),
        save_table(a.km_country, results_dir, "durability_km_by_country"),
        save_table(at_risk_table(a), results_dir, "durability_at_risk"),
        save_table(
            a.trajectory.table.assign(method=a.trajectory.method),
            results_dir,
            "durability_trajectory",
        ),
        save_metrics(results_dir, "durability", {**metrics(a), **no_event_metric(a, level)}),
    ]
    return paths
