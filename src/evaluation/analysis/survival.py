"""Time-to-event estimates: cumulative incidence with competing risks, or Kaplan–Meier without.

Status codes follow statsmodels: 0 = censored, 1 = the event of interest, 2.. = competing
exits. With at least one competing exit observed the Aalen–Johansen cumulative incidence
(`CumIncidenceRight`) is used; otherwise 1 − Kaplan–Meier (`SurvfuncRight`). The result says
which, because 1 − KM overstates incidence when competing exits occur.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from evaluation.analysis.rates import Z95

AALEN_JOHANSEN = "aalen_johansen"
KAPLAN_MEIER = "kaplan_meier"
METHOD_LABELS = {
    AALEN_JOHANSEN: "Aalen–Johansen cumulative incidence (competing exits)",
    KAPLAN_MEIER: "1 − Kaplan–Meier (no competing exits observed)",
}


@dataclass(frozen=True)
class Incidence:
    """Cumulative incidence at one horizon with its 95 % interval, events so far and N."""

    horizon: float
    estimate: float
    ci_low: float
    ci_high: float
    n: int
    N: int
    at_risk: int
    method: str

    def as_dict(self) -> dict:
        """Stable metric form (n = events of interest by the horizon, N = subjects)."""
        return {
            "estimate": self.estimate,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "n": self.n,
            "N": self.N,
            "horizon_months": self.horizon,
            "method": self.method,
        }

    def describe(self, digits: int = 1) -> str:
        """'31.2 % (95 % CI 24.0–39.1 %)'."""
        return (
            f"{100 * self.estimate:.{digits}f} % (95 % CI {100 * self.ci_low:.{digits}f}–"
            f"{100 * self.ci_high:.{digits}f} %)"
        )


@dataclass(frozen=True)
class CumulativeIncidence:
    """A cumulative-incidence curve for the event of interest, with method and counts."""

    method: str
    curve: pd.DataFrame  # time, estimate, se, ci_low, ci_high (step function, starts at 0)
    N: int
    events: int
    competing: int
    censored: int
    competing_curve: pd.DataFrame | None = None  # all competing exits pooled
    times: np.ndarray = field(repr=False, default_factory=lambda: np.array([]))
    event_times: np.ndarray = field(repr=False, default_factory=lambda: np.array([]))

    @property
    def method_label(self) -> str:
        """Plain description of the estimator used."""
        return METHOD_LABELS[self.method]

    def at(self, horizon: float) -> Incidence:
        """Incidence at a horizon (same time unit as the input), read off the step function."""
        c = self.curve
        idx = int(np.searchsorted(c["time"].to_numpy(), horizon, side="right")) - 1
        row = c.iloc[max(idx, 0)]
        n = int(np.sum(self.event_times <= horizon))
        return Incidence(
            float(horizon),
            float(row["estimate"]),
            float(row["ci_low"]),
            float(row["ci_high"]),
            n,
            self.N,
            at_risk(self.times, [horizon])[0],
            self.method,
        )

    def horizons(self, horizons: Sequence[float] = (3, 6, 12)) -> pd.DataFrame:
        """Tidy table of incidence at each horizon."""
        rows = [self.at(h).as_dict() for h in horizons]
        df = pd.DataFrame(rows)
        df["at_risk"] = at_risk(self.times, horizons)
        cols = ["horizon_months", "estimate", "ci_low", "ci_high", "n", "N", "at_risk", "method"]
        return df[cols]

    def median_metric(self) -> dict:
        """Median time to the event as a metric, with the reason when it is not reached."""
        m = self.median()
        out: dict = {"estimate": m, "N": self.N, "method": self.method}
        if m is None:
            out["reason"] = "not reached: the cumulative incidence stays below 50 %"
        return out

    def median(self) -> float | None:
        """First time the incidence reaches 50 %; None when it never does (not reached)."""
        hit = self.curve.loc[self.curve["estimate"] >= 0.5 - 1e-12, "time"]
        return None if hit.empty else float(hit.iloc[0])


def _loglog_ci(p: np.ndarray, se: np.ndarray, z: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise interval for a probability on the log(−log) scale (stays inside 0..1)."""
    p = np.asarray(p, dtype=float)
    se = np.asarray(se, dtype=float)
    low = np.full_like(p, np.nan)
    high = np.full_like(p, np.nan)
    inside = (p > 0) & (p < 1) & np.isfinite(se)
    with np.errstate(divide="ignore", invalid="ignore"):
        k = z * se[inside] / (p[inside] * np.abs(np.log(p[inside])))
    low[inside] = p[inside] ** np.exp(k)
    high[inside] = p[inside] ** np.exp(-k)
    low[p <= 0], high[p <= 0] = 0.0, 0.0
    low[p >= 1], high[p >= 1] = 1.0, 1.0
    return low, high


def _finite(a: np.ndarray) -> np.ndarray:
    """Float copy with ±inf (0/0 at a time where everyone left) turned into NaN."""
    a = np.asarray(a, dtype=float).copy()
    a[~np.isfinite(a)] = np.nan
    return a


@dataclass(frozen=True)
class HorizonCounts:
    """The counts a cumulative-incidence table prints at each horizon, without the curve:
    subjects (N), events of interest, and per horizon events by then (n) and still followed."""

    N: int
    events: int
    table: pd.DataFrame  # horizon_months, n, N, at_risk

    def horizons(self) -> pd.DataFrame:
        """Like CumulativeIncidence.horizons(), counts only."""
        return self.table


def _checked(
    time: Sequence[float] | np.ndarray, status: Sequence[int] | np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Times and statuses as arrays, refused when empty, negative or not finite."""
    t = np.asarray(time, dtype=float)
    s = np.asarray(status, dtype=int)
    if len(t) == 0:
        raise ValueError("no subjects: cannot estimate a cumulative incidence")
    if np.any(t < 0) or np.any(~np.isfinite(t)):
        raise ValueError("times must be finite and non-negative")
    if np.any(s < 0):
        raise ValueError("status must be 0 (censored), 1 (event) or ≥ 2 (competing exit)")
    return t, s


def horizon_counts(
    time: Sequence[float] | np.ndarray,
    status: Sequence[int] | np.ndarray,
    horizons: Sequence[float],
) -> HorizonCounts:
    """The counts of cumulative_incidence(time, status).horizons(horizons), found by counting
    alone (no estimator, and no statsmodels import): the disclosure ledger needs only these."""
    t, s = _checked(time, status)
    event_times = t[s == 1]
    table = pd.DataFrame(
        {
            "horizon_months": [float(h) for h in horizons],
            "n": [int(np.sum(event_times <= h)) for h in horizons],
            "N": len(t),
            "at_risk": at_risk(t, horizons),
        }
    )
    return HorizonCounts(len(t), len(event_times), table)


def at_risk(times: Sequence[float] | np.ndarray, at: Sequence[float]) -> list[int]:
    """Numbers still under observation (time ≥ t) at each t: the 'numbers at risk' row."""
    t = np.asarray(times, dtype=float)
    return [int(np.sum(t >= a)) for a in at]


def _carry_se(est: np.ndarray, se: np.ndarray) -> np.ndarray:
    """Carry the last finite SE forward over times where the estimate does not change.

    statsmodels' variance has a Greenwood term d/(n(n−d)) that is infinite when the last
    subjects all leave at once (e.g. a final competing exit); the incidence of return does not
    move there, so its interval does not either.
    """
    se = se.copy()
    for i in range(1, len(se)):
        if not np.isfinite(se[i]) and est[i] == est[i - 1]:
            se[i] = se[i - 1]
    return se


def _step(times: np.ndarray, est: np.ndarray, se: np.ndarray) -> pd.DataFrame:
    se = _carry_se(est, se)
    low, high = _loglog_ci(est, se)
    df = pd.DataFrame({"time": times, "estimate": est, "se": se, "ci_low": low, "ci_high": high})
    start = pd.DataFrame(
        {"time": [0.0], "estimate": [0.0], "se": [0.0], "ci_low": [0.0], "ci_high": [0.0]}
    )
    if len(df) and df["time"].iloc[0] <= 0:
        return df.reset_index(drop=True)
    return pd.concat([start, df], ignore_index=True)


def cumulative_incidence(
    time: Sequence[float] | np.ndarray, status: Sequence[int] | np.ndarray
) -> CumulativeIncidence:
    """Incidence of status 1 over time; Aalen–Johansen if any status ≥ 2 occurs, else 1 − KM."""
    from statsmodels.duration.survfunc import CumIncidenceRight, SurvfuncRight

    t, s = _checked(time, status)
    events, competing = int(np.sum(s == 1)), int(np.sum(s >= 2))
    censored = int(np.sum(s == 0))
    competing_curve = None
    if competing > 0:
        with np.errstate(divide="ignore", invalid="ignore"):  # se at a time everyone leaves
            ci = CumIncidenceRight(t, np.where(s >= 2, 2, s))
        times = np.asarray(ci.times, dtype=float)
        curve = _step(times, _finite(ci.cinc[0]), _finite(ci.cinc_se[0]))
        competing_curve = _step(times, _finite(ci.cinc[1]), _finite(ci.cinc_se[1]))
        method = AALEN_JOHANSEN
    else:
        sf = SurvfuncRight(t, (s == 1).astype(float))
        times = np.asarray(sf.surv_times, dtype=float)
        surv = np.asarray(sf.surv_prob, dtype=float)
        se = np.asarray(sf.surv_prob_se, dtype=float)
        s_low, s_high = _loglog_ci(surv, se)
        curve = pd.DataFrame(
            {
                "time": times,
                "estimate": 1 - surv,
                "se": se,
                "ci_low": 1 - s_high,
                "ci_high": 1 - s_low,
            }
        )
        if not len(curve) or curve["time"].iloc[0] > 0:
            start = pd.DataFrame(
                {"time": [0.0], "estimate": [0.0], "se": [0.0], "ci_low": [0.0], "ci_high": [0.0]}
            )
            curve = pd.concat([start, curve], ignore_index=True)
        method = KAPLAN_MEIER
    return CumulativeIncidence(
        method, curve, len(t), events, competing, censored, competing_curve, t, t[s == 1]
    )


def median_text(ci: CumulativeIncidence, unit: str = "months", digits: int = 1) -> str:
    """'6.2 months' or 'not reached (incidence stays below 50 %)'."""
    m = ci.median()
    if m is None or math.isnan(m):
        return "not reached (incidence stays below 50 %)"
    return f"{m:.{digits}f} {unit}"
