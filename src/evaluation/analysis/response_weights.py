"""Durability re-weighted for response: inverse probability of response weighting (IPW)."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from evaluation.analysis.keyed_codes import left_join_unique
from evaluation.analysis.monitoring_windows import OUT_OF_DENOMINATOR, REMIGRATED, STAYED
from evaluation.analysis.rates import Z95, z_for

IPW_COVARIATES: tuple[str, ...] = ("sex", "age_band", "country")


@dataclass(frozen=True)
class IPWResult:
    """Durability at a window re-weighted for response; `done` is False with a reason if not."""

    window: str
    done: bool
    reason: str
    estimate: float = math.nan
    ci_low: float = math.nan
    ci_high: float = math.nan
    n_responders: int = 0
    n_nonresponders: int = 0
    covariates: tuple[str, ...] = ()
    max_weight: float = math.nan

    def as_dict(self) -> dict[str, Any]:
        """Metric form."""
        return {
            "estimate": self.estimate if self.done else None,
            "ci_low": self.ci_low if self.done else None,
            "ci_high": self.ci_high if self.done else None,
            "n": self.n_responders,
            "N": self.n_responders + self.n_nonresponders,
            "done": self.done,
            "reason": self.reason,
        }


def _design(frame: pd.DataFrame, covariates: Sequence[str], min_level: int) -> pd.DataFrame:
    """Intercept plus treatment dummies; levels with fewer than min_level people become 'other'."""
    parts = [pd.Series(1.0, index=frame.index, name="const")]
    for c in covariates:
        x = frame[c].astype("str").fillna("unknown")
        code, _ = pd.factorize(x)  # how many people share each one's level, by integer codes
        x = x.where(np.bincount(code)[code] >= min_level, "other")
        d = pd.get_dummies(x, prefix=c, drop_first=True, dtype=float)
        parts.append(d)
    X = pd.concat(parts, axis=1)
    return X.loc[:, X.std(ddof=0).gt(0) | (X.columns == "const")]


def ipw_durability(
    follow: pd.DataFrame,
    returnees: pd.DataFrame,
    window: str = "m12",
    covariates: Sequence[str] = IPW_COVARIATES,
    min_responders: int = 50,
    min_nonresponders: int = 10,
    min_level: int = 5,
    level: float = 0.95,
) -> IPWResult:
    """Durability among responders weighted by 1/P(response | pre-specified covariates).

    Response = residence known at the window. P is a logistic regression (statsmodels GLM);
    the estimate is the weighted share stayed (Hajek) with a sandwich interval that treats
    the weights as known. Done only when n allows (≥ min_responders and ≥ min_nonresponders).
    """
    due = (follow["window"] == window) & ~follow["response"].isin(OUT_OF_DENOMINATOR)
    w = left_join_unique(follow.loc[due, ["client_id", "outcome"]], returnees, "client_id")
    resp = w["outcome"].isin([STAYED, REMIGRATED]).astype(int)
    n1, n0 = int(resp.sum()), int((1 - resp).sum())
    covariates = tuple(covariates)
    if n1 < min_responders or n0 < min_nonresponders:
        return IPWResult(
            window,
            False,
            f"not done: {n1} returnees with known residence and {n0} without at {window}; "
            f"weighting needs at least {min_responders} and {min_nonresponders}",
            n_responders=n1,
            n_nonresponders=n0,
            covariates=covariates,
        )
    # the modules themselves: statsmodels.api imports every model (about 2 s per kernel)
    from statsmodels.genmod import families
    from statsmodels.genmod.generalized_linear_model import GLM

    X = _design(w, covariates, min_level)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fit = GLM(resp.to_numpy(float), X.to_numpy(float), family=families.Binomial()).fit()
        except Exception as exc:  # noqa: BLE001 - report, never crash the notebook
            return IPWResult(
                window,
                False,
                f"not done: response model failed ({exc})",
                n_responders=n1,
                n_nonresponders=n0,
                covariates=covariates,
            )
    p = np.clip(np.asarray(fit.predict(X.to_numpy(float))), 0.02, 1.0)
    m = resp.to_numpy(bool)
    wt = 1.0 / p[m]
    y = (w.loc[m, "outcome"] == STAYED).to_numpy(float)
    est = float((wt * y).sum() / wt.sum())
    se = float(np.sqrt((wt**2 * (y - est) ** 2).sum()) / wt.sum())
    z = Z95 if level == 0.95 else z_for(level)
    return IPWResult(
        window,
        True,
        f"weighted by the inverse probability of known residence given {', '.join(covariates)}",
        estimate=est,
        ci_low=max(0.0, est - z * se),
        ci_high=min(1.0, est + z * se),
        n_responders=n1,
        n_nonresponders=n0,
        covariates=covariates,
        max_weight=float(wt.max()),
    )
