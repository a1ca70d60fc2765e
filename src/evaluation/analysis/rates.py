"""Proportions with their n, N and interval: Wilson score intervals, Newcombe differences, power."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

Z95 = 1.959963984540054


def z_for(level: float) -> float:
    """The two-sided normal quantile for a confidence level (1.96 for 0.95)."""
    from statistics import NormalDist

    return NormalDist().inv_cdf(0.5 + level / 2)


@dataclass(frozen=True)
class Rate:
    """A proportion n/N with a confidence interval; never reported as a bare float."""

    n: int
    N: int
    estimate: float
    ci_low: float
    ci_high: float
    method: str = "wilson"
    level: float = 0.95

    def as_dict(self) -> dict:
        """Stable metric form: estimate, ci_low, ci_high, n, N (and method)."""
        d = asdict(self)
        return {k: d[k] for k in ("estimate", "ci_low", "ci_high", "n", "N", "method")}

    def pct(self, digits: int = 1) -> str:
        """'38.6 %'."""
        return f"{100 * self.estimate:.{digits}f} %"

    def ci_pct(self, digits: int = 1) -> str:
        """'33.4–44.0 %'."""
        return f"{100 * self.ci_low:.{digits}f}–{100 * self.ci_high:.{digits}f} %"

    def describe(self, digits: int = 1) -> str:
        """'38.6 % (95 % CI 33.4–44.0 %; 123 of 319)'."""
        lvl = round(100 * self.level)
        return f"{self.pct(digits)} ({lvl} % CI {self.ci_pct(digits)}; {self.n} of {self.N})"


def wilson(n: int, N: int, level: float = 0.95) -> Rate:
    """Wilson score interval for n successes out of N (Wilson 1927)."""
    if N <= 0:
        raise ValueError(f"denominator must be positive, got N={N}")
    if not 0 <= n <= N:
        raise ValueError(f"numerator must lie in 0..N, got n={n}, N={N}")
    z = Z95 if level == 0.95 else z_for(level)
    p = n / N
    denom = 1 + z * z / N
    centre = (p + z * z / (2 * N)) / denom
    half = z * math.sqrt(p * (1 - p) / N + z * z / (4 * N * N)) / denom
    low, high = max(0.0, centre - half), min(1.0, centre + half)
    if n == 0:
        low = 0.0
    if n == N:
        high = 1.0
    return Rate(int(n), int(N), p, low, high, "wilson", level)


@dataclass(frozen=True)
class Difference:
    """Difference of two independent proportions p1 - p2 with Newcombe's hybrid score interval."""

    first: Rate
    second: Rate
    estimate: float
    ci_low: float
    ci_high: float
    method: str = "newcombe"

    def as_dict(self) -> dict:
        return {
            "estimate": self.estimate,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "n": [self.first.n, self.second.n],
            "N": [self.first.N, self.second.N],
            "method": self.method,
        }


def newcombe(n1: int, N1: int, n2: int, N2: int, level: float = 0.95) -> Difference:
    """Newcombe (1998, method 10) interval for p1 - p2 from two Wilson intervals."""
    r1, r2 = wilson(n1, N1, level), wilson(n2, N2, level)
    d = r1.estimate - r2.estimate
    low = d - math.sqrt((r1.estimate - r1.ci_low) ** 2 + (r2.ci_high - r2.estimate) ** 2)
    high = d + math.sqrt((r1.ci_high - r1.estimate) ** 2 + (r2.estimate - r2.ci_low) ** 2)
    return Difference(r1, r2, d, max(-1.0, low), min(1.0, high))


def minimum_detectable_difference(
    p_base: float, N1: int, N2: int, power: float = 0.8, alpha: float = 0.05
) -> float:
    """Smallest absolute rise over p_base a two-sided z-test detects with this power.

    Uses statsmodels' power for Cohen's h with unequal groups, then maps h back to a proportion.
    """
    from statsmodels.stats.power import NormalIndPower

    h = NormalIndPower().solve_power(
        effect_size=None, nobs1=N1, alpha=alpha, power=power, ratio=N2 / N1
    )
    phi = 2 * math.asin(math.sqrt(p_base)) + h
    p_alt = math.sin(min(phi, math.pi) / 2) ** 2
    return p_alt - p_base


def rate_or_reason(r: Rate | None, reason: str) -> dict:
    """A rate's metric form, or estimate None with the reason there is none (N = 0)."""
    if r is not None:
        return r.as_dict()
    return {"estimate": None, "ci_low": None, "ci_high": None, "n": 0, "N": 0, "reason": reason}


def mean_interval(values: Sequence[float], level: float = 0.95) -> tuple[float, float] | None:
    """Student-t interval for the mean of `values` (None with fewer than two values)."""
    n = len(values)
    if n < 2:
        return None
    mean = math.fsum(values) / n
    sd = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1))
    half = float(t_half_width(sd, n, level))
    return mean - half, mean + half


def t_half_width(sd: Any, n: Any, level: float = 0.95) -> Any:
    """Half-width of the Student-t interval of a mean from its SD and n (scalars or arrays)."""
    import numpy as np
    from scipy import stats

    return stats.t.ppf(0.5 + level / 2, n - 1) * sd / np.sqrt(n)
