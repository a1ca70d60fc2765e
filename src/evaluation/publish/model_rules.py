"""Rules for published model estimates, after ACRO (the SACRO project's output checker).

ACRO's ``MinimumDoFCheck`` refuses a regression whose residual degrees of freedom (observations
minus estimated coefficients, statsmodels' ``df_resid``) fall below ``safe_dof_threshold``
(10 in ACRO's default.yaml): with so few spare observations the fitted values and coefficients
come close to restating individual records. The same rule, written here rather than
installing acro (it pins pandas ≤ 2.3.3; this project runs pandas 3).
"""

from __future__ import annotations

SAFE_DOF = 10  # acro 1.0.2 default.yaml: safe_dof_threshold


def residual_dof(n_obs: int, n_params: int) -> int:
    """Observations minus estimated fixed coefficients (statsmodels' df_resid)."""
    return int(n_obs) - int(n_params)


def dof_fails(n_obs: int, n_params: int, threshold: int = SAFE_DOF) -> str | None:
    """Why a model's estimates may not be published (None when they may), as ACRO words it."""
    dof = residual_dof(n_obs, n_params)
    if dof < threshold:
        return f"residual degrees of freedom {dof} < {threshold}"
    return None


def trajectory_dof_fails(ns: list[int], threshold: int = SAFE_DOF) -> str | None:
    """The trajectory's mixed model: one fixed coefficient per window with scores (intercept at
    arrival plus one change per later window), fitted on every score of every window."""
    scored = [int(n) for n in ns if int(n) > 0]
    return dof_fails(sum(scored), len(scored), threshold) if scored else None
