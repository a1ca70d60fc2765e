"""Project contrasts on the primary estimand: difference in cumulative incidence at a horizon.

other − baseline, with a Wald interval from the Aalen–Johansen (delta-method) variance of two
independent groups — persons are counted once, so the groups do not overlap — or a seeded
person-level bootstrap; the two one-sided tests (TOST) against the plan's equivalence margin;
and the smallest difference the data could detect, upwards and downwards.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import pandas as pd

from evaluation.analysis.plan import Inference
from evaluation.analysis.survival import CumulativeIncidence, cumulative_incidence
from evaluation.data.membership import isin


@dataclass(frozen=True)
class Arm:
    """One project's cumulative incidence at the horizon with its standard error."""

    project: str
    estimate: float
    se: float
    N: int
    events: int  # events of interest by the horizon
    at_risk: int


@dataclass(frozen=True)
class CifDifference:
    """other − baseline in cumulative incidence at a horizon, with interval, TOST and MDDs."""

    baseline: Arm
    other: Arm
    horizon: float
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    level: float
    method: str
    margin: float
    tost_p: float
    mdd_up: float
    mdd_down: float
    power: float

    @property
    def estimable(self) -> bool:
        """False when neither group had an event or anyone followed: no interval exists."""
        return math.isfinite(self.se) and self.se > 0

    @property
    def equivalent(self) -> bool:
        """TOST rejects both one-sided nulls at 1 − level: the difference lies within ±margin."""
        return self.estimable and self.margin > 0 and self.tost_p < 1 - self.level

    @property
    def excludes_zero(self) -> bool:
        """The interval lies wholly above or below zero."""
        return self.estimable and (self.ci_low > 0 or self.ci_high < 0)

    def as_dict(self) -> dict:
        """Stable metric form."""
        return {
            "estimate": self.estimate,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "se": self.se,
            "horizon_months": self.horizon,
            "N": [self.baseline.N, self.other.N],
            "n": [self.baseline.events, self.other.events],
            "contrast": f"{self.other.project} − {self.baseline.project}",
            "method": self.method,
            "equivalence_margin": self.margin,
            "tost_p": self.tost_p,
            "equivalent": self.equivalent,
            "mdd_up": self.mdd_up,
            "mdd_down": self.mdd_down,
        }

    def row(self) -> dict:
        """Tidy row for the contrast table (proportions, not points)."""
        return {
            "contrast": f"{self.other.project} − {self.baseline.project}",
            "horizon_months": self.horizon,
            "baseline": self.baseline.estimate,
            "other": self.other.estimate,
            "difference": self.estimate,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "tost_p": self.tost_p,
            "mdd_down": self.mdd_down,
            "mdd_up": self.mdd_up,
            "N_baseline": self.baseline.N,
            "N_other": self.other.N,
        }


def arm(project: str, ci: CumulativeIncidence, horizon: float) -> Arm:
    """Read estimate and standard error at a horizon off a cumulative-incidence curve."""
    c = ci.curve
    idx = max(int(np.searchsorted(c["time"].to_numpy(), horizon, side="right")) - 1, 0)
    est, se = float(c["estimate"].iloc[idx]), float(c["se"].iloc[idx])
    at = ci.at(horizon)
    return Arm(project, est, se if math.isfinite(se) else float("nan"), ci.N, at.n, at.at_risk)


def _z(p: float) -> float:
    return NormalDist().inv_cdf(p)


def tost_p(diff: float, se: float, margin: float) -> float:
    """p-value of the two one-sided z-tests of |difference| ≥ margin (the larger of the two)."""
    if not (se > 0 and math.isfinite(se)) or margin <= 0:
        return float("nan")
    nd = NormalDist()
    p_lower = 1 - nd.cdf((diff + margin) / se)  # H0: diff ≤ −margin
    p_upper = nd.cdf((diff - margin) / se)  # H0: diff ≥ +margin
    return max(p_lower, p_upper)


def _effective_n(a: Arm) -> float:
    """Binomial-equivalent sample size p(1−p)/se² (allows for censoring); N at risk if p ∈ {0,1}."""
    p = a.estimate
    if a.se > 0 and 0 < p < 1:
        return p * (1 - p) / a.se**2
    return float(max(a.at_risk, 1))


def detectable(base: Arm, other: Arm, level: float, power: float, up: bool) -> float:
    """Smallest true difference (up or down from the baseline) a two-sided Wald test at 1 − level
    would detect with this power, with each group's binomial-equivalent sample size."""
    p0, n0, n1 = base.estimate, _effective_n(base), _effective_n(other)
    k = _z(1 - (1 - level) / 2) + _z(power)
    limit = (1 - p0) if up else p0
    if limit <= 0:
        return float("nan")

    def short(d: float) -> bool:  # True while d is too small to detect
        p1 = p0 + d if up else p0 - d
        v = p0 * (1 - p0) / n0 + p1 * (1 - p1) / n1
        return k * math.sqrt(max(v, 1e-12)) > d

    lo, hi = 0.0, limit
    if short(hi):
        return float("nan")
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if short(mid) else (lo, mid)
    return hi


def _incidence_at(time: np.ndarray, status: np.ndarray, horizon: float) -> float:
    ci = cumulative_incidence(time, status)
    c = ci.curve
    idx = max(int(np.searchsorted(c["time"].to_numpy(), horizon, side="right")) - 1, 0)
    return float(c["estimate"].iloc[idx])


def bootstrap_se(
    times: pd.DataFrame, horizon: float, samples: int, seed: int
) -> tuple[float, np.ndarray]:
    """Standard error of the incidence at a horizon by resampling persons (seeded)."""
    rng = np.random.default_rng(seed)
    t, s = times["time"].to_numpy(float), times["status"].to_numpy(int)
    est = np.empty(samples)
    for b in range(samples):
        i = rng.integers(0, len(t), len(t))
        est[b] = _incidence_at(t[i], s[i], horizon)
    return float(np.std(est, ddof=1)), est


def cif_difference(
    times: pd.DataFrame,
    baseline: str,
    other: str,
    horizon: float,
    inference: Inference,
    curves: Mapping[str, CumulativeIncidence] | None = None,
) -> CifDifference:
    """Difference other − baseline in cumulative incidence of return at `horizon` months.

    times: person_times output (project, time, status); each person in one project only.
    curves: project → cumulative_incidence of its rows of times, when already computed.
    """
    a, b = (times.loc[times["project"] == p] for p in (baseline, other))
    if a.empty or b.empty:
        raise ValueError(f"contrast {other} − {baseline}: a project has no persons")
    if "client_id" in a and isin(a["client_id"], b["client_id"]).any():
        raise ValueError(f"contrast {other} − {baseline}: the groups share persons")
    curves = curves or {}

    def curve(project: str, rows: pd.DataFrame) -> CumulativeIncidence:
        if project in curves:
            return curves[project]
        return cumulative_incidence(rows["time"], rows["status"])

    arm_a = arm(baseline, curve(baseline, a), horizon)
    arm_b = arm(other, curve(other, b), horizon)
    diff = arm_b.estimate - arm_a.estimate
    method = "Aalen–Johansen variance (delta method), Wald interval"
    se_a, se_b = arm_a.se, arm_b.se
    if inference.interval_method == "bootstrap":
        n = inference.bootstrap_samples
        se_a, _ = bootstrap_se(a, horizon, n, inference.seed)
        se_b, _ = bootstrap_se(b, horizon, n, inference.seed + 1)
        method = f"person-level bootstrap ({n} samples, seed {inference.seed}), Wald interval"
    se = math.sqrt(se_a**2 + se_b**2)
    z = _z(1 - (1 - inference.level) / 2)
    low, high = (diff - z * se, diff + z * se) if se > 0 else (float("nan"), float("nan"))
    level, power = inference.level, inference.power
    return CifDifference(
        arm_a,
        arm_b,
        float(horizon),
        diff,
        se,
        max(-1.0, low) if math.isfinite(low) else low,
        min(1.0, high) if math.isfinite(high) else high,
        level,
        method,
        inference.equivalence_margin,
        tost_p(diff, se, inference.equivalence_margin),
        detectable(arm_a, arm_b, level, power, up=True),
        detectable(arm_a, arm_b, level, power, up=False),
        power,
    )


def contrast_table(diffs: list[CifDifference]) -> pd.DataFrame:
    """Tidy table of every contrast at every horizon."""
    return pd.DataFrame([d.row() for d in diffs])
