"""Project comparison: difference in return rate (Newcombe) and what the sample sizes can detect.

The contrast is always later project − baseline (e.g. MOH2 − MOH1), stored under the key
'<baseline>_vs_<other>'. The minimum detectable difference (80 % power, two-sided 5 %) says
how large a true difference would have to be before these sample sizes would likely show it.

Newcombe's interval assumes independent samples. Crude comparisons therefore count each person
once (person_frames: a carry-over client belongs to the project of their first enrolment, as in
analysis.estimands, or is left out when the plan says so); when the samples compared still
share persons, no interval is given (Comparison.overlap).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from evaluation.analysis import estimands
from evaluation.analysis.rates import Difference, Rate, minimum_detectable_difference, newcombe
from evaluation.data.membership import isin


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
    overlap: int = 0  # persons in both samples: no independent-samples interval is given
    carried: int = 0  # carry-over persons counted once, in the project of first enrolment

    @property
    def independent(self) -> bool:
        """The samples share no person, so Newcombe's interval applies."""
        return self.overlap == 0

    @property
    def key(self) -> str:
        """Stable metric prefix, e.g. 'moh1_vs_moh2'."""
        return f"{self.baseline.lower()}_vs_{self.other.lower()}"

    def metrics(self) -> dict[str, dict]:
        """Metric fragments: <key>.return_rate_diff and <key>.mdd_80."""
        diff = self.difference.as_dict()
        diff["contrast"] = f"{self.other} − {self.baseline}"
        diff["overlap"] = self.overlap
        if not self.independent:
            diff.update(ci_low=None, ci_high=None, method="none: the samples share persons")
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
            "ci_low": d.ci_low if self.independent else float("nan"),
            "ci_high": d.ci_high if self.independent else float("nan"),
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
            f"{self.baseline}'s ({self.baseline_rate.describe()})"
        )
        if self.carried:
            text += (
                ", each person counted once: clients enrolled in both projects are counted in "
                "the project of their first enrolment"
            )
        if not self.independent:
            text += (
                f". {self.overlap} persons are in both samples, so the samples are not "
                f"independent and no interval for the difference is given (Newcombe's interval "
                f"assumes independent samples). "
            )
        else:
            text += (
                f"; 95 % CI for the difference {100 * d.ci_low:+.1f} to {100 * d.ci_high:+.1f} "
                f"points (Newcombe). "
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


def _shared(a: set[str] | pd.Index, b: set[str] | pd.Index) -> int:
    """How many persons two samples share (sets, or indexes of distinct client ids)."""
    if isinstance(a, pd.Index) and isinstance(b, pd.Index):
        return int(isin(a.to_series(), b).sum())
    return len(set(a) & set(b))


def compare(
    rates: Mapping[str, Rate],
    baseline: str,
    power: float = 0.8,
    alpha: float = 0.05,
    members: Mapping[str, set[str] | pd.Index] | None = None,
    carried: int = 0,
) -> list[Comparison]:
    """Compare every project's return rate with the baseline project's (input: name → Rate).

    members: project → the client_ids behind its rate (a set, or an index of distinct ids);
    persons in both samples are counted
    (Comparison.overlap) and no independent-samples interval is given for that pair.
    carried: carry-over persons already counted once (said in the sentence).
    """
    if baseline not in rates:
        raise ValueError(f"baseline {baseline!r} is not among the projects {sorted(rates)}")
    base = rates[baseline]
    out = []
    for name, r in rates.items():
        if name == baseline:
            continue
        diff = newcombe(r.n, r.N, base.n, base.N)
        mdd = minimum_detectable_difference(base.estimate, base.N, r.N, power=power, alpha=alpha)
        both = _shared(members[baseline], members[name]) if members is not None else 0
        out.append(Comparison(baseline, name, base, r, diff, mdd, power, alpha, both, carried))
    return out


def _pairs(pairs: str) -> list[tuple[str, str]]:
    out = []
    for pair in (p.strip() for p in pairs.split(",") if p.strip()):
        base, _, other = pair.partition(":")
        out.append((base.strip(), other.strip()))
    return out


def compare_pairs(
    rates: Mapping[str, Rate],
    pairs: str,
    power: float = 0.8,
    alpha: float = 0.05,
    members: Mapping[str, set[str] | pd.Index] | None = None,
    carried: int = 0,
) -> list[Comparison]:
    """Compare each declared pair 'BASE:OTHER' (comma-separated), e.g. 'MOH1:MOH2,MOH2:MOH3'
    (members, carried: as for compare)."""
    out = []
    for base, other in _pairs(pairs):
        if base not in rates or other not in rates:
            raise ValueError(f"pair {base}:{other!r} names a project not among {sorted(rates)}")
        sub = {base: rates[base], other: rates[other]}
        out += compare(sub, base, power=power, alpha=alpha, members=members, carried=carried)
    return out


def person_frames(
    frames: Mapping[str, pd.DataFrame],
    enrolments: pd.DataFrame,
    carry_over: str,
    people: estimands.Persons | None = None,
) -> tuple[dict[str, pd.DataFrame], int]:
    """Each person once across the projects of `frames` (client frames per project): a
    carry-over client stays only in the frame of their first enrolment (carry_over
    'first_enrolment', as analysis.estimands) or in none ('exclude'). Also returns the number
    of carry-over clients. people: estimands.persons of the projects, when already computed."""
    projects = list(frames)
    if people is None:
        people = estimands.persons(enrolments, projects)
    out = {}
    for p, f in frames.items():
        keep, carried = people.rows(p, f)
        if carry_over == "exclude":
            keep = keep & ~carried
        out[p] = f.loc[keep]
    return out, len(people.carried)


def person_comparisons(
    frames: Mapping[str, pd.DataFrame],
    enrolments: pd.DataFrame,
    pairs: str,
    carry_over: str,
    power: float = 0.8,
    alpha: float = 0.05,
    people: estimands.Persons | None = None,
) -> tuple[dict[str, Rate], list[Comparison]]:
    """Crude return shares with each person counted once (person_frames), and the declared
    pairs compared on them; the per-project rates are returned for the figure."""
    from evaluation.analysis.rates import wilson

    once, carried = person_frames(frames, enrolments, carry_over, people)
    rates = {p: wilson(int(f["returned"].sum()), len(f)) for p, f in once.items()}
    members = {p: pd.Index(f["client_id"]).unique() for p, f in once.items()}
    carried = carried if carry_over == "first_enrolment" else 0
    return rates, compare_pairs(rates, pairs, power, alpha, members=members, carried=carried)


def comparison_table(comparisons: list[Comparison]) -> pd.DataFrame:
    """Tidy table of all comparisons (one row per project against the baseline)."""
    return pd.DataFrame([c.row() for c in comparisons])
