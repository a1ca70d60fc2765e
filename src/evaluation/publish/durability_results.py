"""Write the durability results (tidy tables and metrics) into the run's results folder."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from evaluation.analysis.durability import DurabilityAnalysis, at_risk_table, metrics


def save_results(a: DurabilityAnalysis, results_dir: str | Path) -> list[Path]:
    """Write every tidy table behind the durability exhibits and the metrics fragment."""
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
        save_metrics(results_dir, "durability", metrics(a)),
    ]
    return paths
