"""Trajectories of the RSS scores over the monitoring windows: means and a mixed model."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from evaluation.analysis.monitoring_windows import WINDOW_LABELS, WINDOWS


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


MIXEDLM_MAX_RETURNEES = 20_000


def trajectory_model(
    scored: pd.DataFrame,
    score: str = "rss_composite",
    min_returnees: int = 10,
    max_returnees: int = MIXEDLM_MAX_RETURNEES,
) -> Trajectory:
    """Mixed model of the score on window (random intercept per returnee, statsmodels MixedLM).

    Coefficients are the mean change from the first window with data. Falls back to
    descriptive means with a reason when data are too few or the fit does not converge.
    Above max_returnees (national-scale data) the model is fitted on a seeded random sample
    of returnees, which the message says: MixedLM's cost grows with the number of groups and
    the sample already pins the window effects down to a small fraction of their scale.
    """
    d = scored[["client_id", "window", score]].dropna()
    n_ret, n_obs = d["client_id"].nunique(), len(d)
    sampled = ""
    if n_ret > max_returnees:
        ids = np.sort(d["client_id"].unique())
        keep = np.random.default_rng(20151001).choice(ids, size=max_returnees, replace=False)
        d = d[d["client_id"].isin(keep)]
        sampled = f" (fitted on a seeded random sample of {max_returnees} returnees)"
    windows = [w for w in WINDOWS if (d["window"] == w).any()]
    desc = trajectory_means(scored, score)

    def fallback(why: str) -> Trajectory:
        return Trajectory("descriptive", desc, why, n_ret, n_obs, windows[0] if windows else "")

    repeated = int((d.groupby("client_id").size() >= 2).sum())
    if len(windows) < 2 or repeated < min_returnees:
        return fallback(
            f"no mixed model: {repeated} returnees scored in two or more windows "
            f"(at least {min_returnees} needed); means per window shown instead"
        )
    import statsmodels.formula.api as smf
    from statsmodels.tools.sm_exceptions import ConvergenceWarning

    d = d.assign(window=pd.Categorical(d["window"], categories=windows), y=d[score])
    ref = windows[0]
    formula = f"y ~ C(window, Treatment('{ref}'))"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            res = smf.mixedlm(formula, d, groups=d["client_id"]).fit(reml=True)
        except Exception as exc:  # noqa: BLE001
            return fallback(f"the mixed model failed ({type(exc).__name__}); means shown instead")
    msgs = [str(c.message) for c in caught if issubclass(c.category, ConvergenceWarning)]
    boundary = float(np.asarray(res.cov_re)[0, 0]) <= 1e-6 * float(res.scale)
    failed = [m for m in msgs if "boundary" not in m]
    ci = res.conf_int()
    fe_ci = ci.loc[res.fe_params.index].to_numpy()
    if not res.converged or failed or not np.all(np.isfinite(fe_ci)):
        return fallback("the mixed model did not converge; means per window shown instead")
    rows = [{"window": ref, "change": 0.0, "ci_low": np.nan, "ci_high": np.nan}]
    for w in windows[1:]:
        key = f"C(window, Treatment('{ref}'))[T.{w}]"
        rows.append(
            {
                "window": w,
                "change": float(res.fe_params[key]),
                "ci_low": float(ci.loc[key, 0]),
                "ci_high": float(ci.loc[key, 1]),
            }
        )
    table = pd.DataFrame(rows).merge(desc, on="window", how="left")
    msg = (
        f"mixed model with a random intercept per returnee: {n_obs} scores of {n_ret} "
        f"returnees{sampled}; change from {WINDOW_LABELS[ref].lower()}"
    )
    if boundary:
        msg += (
            " (the between-returnee variance was estimated at its boundary, so the model "
            "adds little beyond the means)"
        )
    return Trajectory("mixedlm", table, msg, n_ret, n_obs, ref)
