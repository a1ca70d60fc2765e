"""Project comparison: difference in return rate (Newcombe) and what the sample sizes can detect.

The contrast is always later project − baseline (e.g. MOH2 − MOH1), stored under the key
'<baseline>_vs_<other>'. The minimum detectable difference (80 % power, two-sided 5 %) says
how large a true difference would have to be before these sample sizes would likely show it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from evaluation.analysis.rates import Difference, Rate, minimum_detectable_difference, newcombe


@dataclass(frozen=True)
class Comparison:
    """One project against the baseline: rates, Newcombe difference and the MDD at 80 % power."""

    baseline: str
    other: str
    baseline_rate: Rate
    other_rate: Rate
    difference: Difference  # other − baseline
    mdd: float
    power: float = 0.8
    alpha: float = 0.05

    @property
    def key(self) -> str:
        """Stable metric prefix, e.g. 'moh1_vs_moh2'."""
        return f"{self.baseline.lower()}_vs_{self.other.lower()}"

    def metrics(self) -> dict[str, dict]:
        """Metric fragments: <key>.return_rate_diff and <key>.mdd_80."""
        diff = self.difference.as_dict()
        diff["contrast"] = f"{self.other} − {self.baseline}"
        pct = round(100 * self.power)
        return {
            f"{self.key}.return_rate_diff": diff,
            f"{self.key}.mdd_{pct}": {
                "estimate": self.mdd,
                "p_base": self.baseline_rate.estimate,
                "N": [self.baseline_rate.N, self.other_rate.N],
                "power": self.power,
                "alpha": self.alpha,
                "method": "normal approximation, Cohen's h (statsmodels NormalIndPower)",
            },
        }

    def row(self) -> dict:
        """Tidy row for the comparison table."""
        d = self.difference
        return {
            "baseline": self.baseline,
            "other": self.other,
            "n_baseline": self.baseline_rate.n,
            "N_baseline": self.baseline_rate.N,
            "rate_baseline": self.baseline_rate.estimate,
            "n_other": self.other_rate.n,
            "N_other": self.other_rate.N,
            "rate_other": self.other_rate.estimate,
            "difference": d.estimate,
            "ci_low": d.ci_low,
            "ci_high": d.ci_high,
            "mdd_80": self.mdd,
        }

    def sentence(self) -> str:
        """Plain statement of the difference, its interval and what the data can detect."""
        d = self.difference
        pp = 100 * d.estimate
        direction = "higher than" if pp > 0 else "lower than"
        size = f"{abs(pp):.1f} percentage points {direction}" if round(pp, 1) else "the same as"
        text = (
            f"{self.other}'s return rate ({self.other_rate.describe()}) was {size} "
            f"{self.baseline}'s ({self.baseline_rate.describe()}); 95 % CI for the difference "
            f"{100 * d.ci_low:+.1f} to {100 * d.ci_high:+.1f} points (Newcombe). "
        )
        excludes_zero = d.ci_low > 0 or d.ci_high < 0
        text += (
            "The interval excludes zero. "
            if excludes_zero
            else "The interval includes zero, which is not evidence that the rates are equal. "
        )
        text += (
            "These crude shares describe clients followed for unequal times; the contrasts of "
            "the pre-specified estimand (cumulative incidence at fixed horizons) are below. "
            f"With these sample sizes a true difference would need to be about "
            f"{100 * self.mdd_down:.1f} points below or {100 * self.mdd:.1f} points above "
            f"{self.baseline}'s rate to be detected with {round(100 * self.power)} % power at "
            f"the {round(100 * self.alpha)} % level."
        )
        return text

    @property
    def mdd_down(self) -> float:
        """Smallest fall below the baseline's rate detected with this power (Cohen's h)."""
        import math

        from statsmodels.stats.power import NormalIndPower

        b, o = self.baseline_rate, self.other_rate
        h = NormalIndPower().solve_power(
            effect_size=None, nobs1=b.N, alpha=self.alpha, power=self.power, ratio=o.N / b.N
        )
        phi = 2 * math.asin(math.sqrt(b.estimate)) - h
        return b.estimate - math.sin(max(phi, 0.0) / 2) ** 2


def compare(
    rates: Mapping[str, Rate], baseline: str, power: float = 0.8, alpha: float = 0.05
) -> list[Comparison]:
    """Compare every project's return rate with the baseline project's (input: name → Rate)."""
    if baseline not in rates:
        raise ValueError(f"baseline {baseline!r} is not among the projects {sorted(rates)}")
    base = rates[baseline]
    out = []
    for name, r in rates.items():
        if name == baseline:
            continue
        diff = newcombe(r.n, r.N, base.n, base.N)
        mdd = minimum_detectable_difference(base.estimate, base.N, r.N, power=power, alpha=alpha)
        out.append(Comparison(baseline, name, base, r, diff, mdd, power, alpha))
    return out


def compare_pairs(
    rates: Mapping[str, Rate], pairs: str, power: float = 0.8, alpha: float = 0.05
) -> list[Comparison]:
    """Compare each declared pair 'BASE:OTHER' (comma-separated), e.g. 'MOH1:MOH2,MOH2:MOH3'."""
    out = []
    for pair in (p.strip() for p in pairs.split(",") if p.strip()):
        base, _, other = pair.partition(":")
        if base not in rates or other not in rates:
            raise ValueError(f"pair {pair!r} names a project not among {sorted(rates)}")
        sub = {base: rates[base], other: rates[other]}
        out += compare(sub, base, power=power, alpha=alpha)
    return out


def comparison_table(comparisons: list[Comparison]) -> pd.DataFrame:
    """Tidy table of all comparisons (one row per project against the baseline)."""
    return pd.DataFrame([c.row() for c in comparisons])
