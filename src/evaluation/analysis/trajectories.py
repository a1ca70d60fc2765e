"""Trajectories of the RSS scores over the monitoring windows: means and a mixed model."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from evaluation.analysis.monitoring_windows import WINDOW_LABELS, WINDOWS, category_codes
from evaluation.analysis.random_intercept import fit_random_intercept


@dataclass(frozen=True)
class Trajectory:
    """Change of the composite across windows: MixedLM estimates, or descriptives and why."""

    method: str  # "mixedlm" or "descriptive"
    table: pd.DataFrame
    message: str
    n_returnees: int
    n_observations: int
    reference: str = "arrival"


def trajectory_means(scored: pd.DataFrame, score: str = "rss_composite") -> pd.DataFrame:
    """Per window: returnees scored, mean and sd of the score (descriptive trajectory)."""
    rows = []
    for w in WINDOWS:
        x = scored.loc[scored["window"] == w, score].dropna()
        rows.append(
            {
                "window": w,
                "n": len(x),
                "mean": x.mean() if len(x) else np.nan,
                "sd": x.std(ddof=1) if len(x) > 1 else np.nan,
            }
        )
    return pd.DataFrame(rows)


def trajectory_model(
    scored: pd.DataFrame, score: str = "rss_composite", min_returnees: int = 10
) -> Trajectory:
    """Mixed model of the score on window with a random intercept per returnee (exact REML,
    analysis.random_intercept; the same estimates as statsmodels' MixedLM), on all returnees.

    Coefficients are the mean change from the first window with data. Falls back to
    descriptive means with a reason when data are too few or the fit does not converge.
    """
    d = scored[["client_id", "window", score]].dropna()
    ids, labels = pd.factorize(d["client_id"])
    n_ret, n_obs = len(labels), len(d)
    windows = [w for w in WINDOWS if (d["window"] == w).any()]
    desc = trajectory_means(scored, score)

    def fallback(why: str) -> Trajectory:
        return Trajectory("descriptive", desc, why, n_ret, n_obs, windows[0] if windows else "")

    repeated = int((np.bincount(ids, minlength=n_ret) >= 2).sum())
    if len(windows) < 2 or repeated < min_returnees:
        return fallback(
            f"no mixed model: {repeated} returnees scored in two or more windows "
            f"(at least {min_returnees} needed); means per window shown instead"
        )
    code = category_codes(d["window"], windows)
    x = np.column_stack([np.ones(n_obs)] + [code == k for k in range(1, len(windows))])
    try:
        fit = fit_random_intercept(ids, x, d[score].to_numpy(float))
    except (ValueError, np.linalg.LinAlgError) as exc:
        return fallback(f"the mixed model failed ({type(exc).__name__}); means shown instead")
    ci = fit.conf_int()
    if not fit.converged or not np.all(np.isfinite(ci)):
        return fallback("the mixed model did not converge; means per window shown instead")
    ref = windows[0]
    rows = [{"window": ref, "change": 0.0, "ci_low": np.nan, "ci_high": np.nan}]
    for k, w in enumerate(windows[1:], start=1):
        rows.append(
            {
                "window": w,
                "change": float(fit.beta[k]),
                "ci_low": float(ci[k, 0]),
                "ci_high": float(ci[k, 1]),
            }
        )
    table = pd.DataFrame(rows).merge(desc, on="window", how="left")
    msg = (
        f"mixed model with a random intercept per returnee: {n_obs} scores of {n_ret} "
        f"returnees; change from {WINDOW_LABELS[ref].lower()}"
    )
    if fit.tau2 <= 1e-6 * fit.scale:
        msg += (
            " (the between-returnee variance was estimated at its boundary, so the model "
            "adds little beyond the means)"
        )
    return Trajectory("mixedlm", table, msg, n_ret, n_obs, ref)
