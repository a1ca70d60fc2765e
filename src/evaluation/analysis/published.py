"""VluchtelingenWerk's published figures (and context benchmarks) as data, and their rates."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from evaluation.analysis.rates import Rate, wilson

# Headline rates computable from the published counts alone: key -> (numerator ids, denominator id).
HEADLINE = {
    "enh.referral_rate": (("enh.referred_moh", "enh.referred_other"), "enh.clients_enrolled"),
    "enh.referral_rate_moh": (("enh.referred_moh",), "enh.clients_enrolled"),
    "enh.referral_rate_other": (("enh.referred_other",), "enh.clients_enrolled"),
    "moh1.return_rate": (("moh1.returned_with_support",), "moh1.clients_enrolled"),
}
LABELS = {
    "enh.referral_rate": "ENH: referred to any return organisation",
    "enh.referral_rate_moh": "ENH: referred to MOH",
    "enh.referral_rate_other": "ENH: referred to other organisations",
    "moh1.return_rate": "MOH1: returned with reintegration support",
}


def read(path: str | Path) -> pd.DataFrame:
    """Read the published-figures table (validation is the caller's first stage)."""
    return pd.read_csv(path, dtype={"figure_id": str}, keep_default_na=False)


def value(figures: pd.DataFrame, figure_id: str) -> float:
    """The published value of one figure; KeyError naming the id when absent."""
    hit = figures.loc[figures["figure_id"] == figure_id, "value"]
    if hit.empty:
        raise KeyError(f"published figure '{figure_id}' is not in the table")
    return float(hit.iloc[0])


def headline_rates(figures: pd.DataFrame) -> dict[str, Rate]:
    """The four published rates with Wilson 95 % intervals (the sets referred are disjoint)."""
    out = {}
    for key, (nums, den) in HEADLINE.items():
        n = sum(int(value(figures, f)) for f in nums)
        out[key] = wilson(n, int(value(figures, den)))
    return out


def rates_table(rates: dict[str, Rate]) -> pd.DataFrame:
    """Tidy table of rates: indicator, n, N, estimate and interval in percent."""
    rows = [
        {
            "key": k,
            "Indicator": LABELS.get(k, k),
            "n": r.n,
            "N": r.N,
            "Rate (%)": round(100 * r.estimate, 1),
            "95 % CI low (%)": round(100 * r.ci_low, 1),
            "95 % CI high (%)": round(100 * r.ci_high, 1),
        }
        for k, r in rates.items()
    ]
    return pd.DataFrame(rows)


def context_departures(figures: pd.DataFrame) -> pd.DataFrame:
    """DT&V departures per year and category, wide (year × category)."""
    dtv = figures[figures["project"] == "DTV"].copy()
    dtv["year"] = dtv["period_start"].str[:4]
    dtv["category"] = dtv["indicator"].str.extract(r"Departures: ([^(]+)")[0].str.strip()
    wide = dtv.pivot(index="year", columns="category", values="value").reset_index()
    wide.columns.name = None
    return wide.astype({c: int for c in wide.columns if c != "year"})


def benchmark_rates(figures: pd.DataFrame) -> dict[str, Rate]:
    """Return-rate benchmarks: WereldTools 88/113 (counts published); OZV only as a share."""
    out = {
        "wereldtools.return_rate": wilson(
            int(value(figures, "wereldtools.returned")),
            int(value(figures, "wereldtools.candidates")),
        )
    }
    return out


def rates_sentence(rates: dict[str, Rate]) -> str:
    """One paragraph stating the published rates with n, N and interval."""
    r = rates
    return (
        f"Of the {r['enh.referral_rate'].N} clients counselled in ENH, "
        f"{r['enh.referral_rate'].n} were referred to a return organisation: "
        f"{r['enh.referral_rate'].describe()}. {r['enh.referral_rate_moh'].n} went to MOH "
        f"({r['enh.referral_rate_moh'].describe()}) and {r['enh.referral_rate_other'].n} to other "
        f"organisations ({r['enh.referral_rate_other'].describe()}). Of the "
        f"{r['moh1.return_rate'].N} clients enrolled in MOH1, {r['moh1.return_rate'].n} returned "
        f"with reintegration support: {r['moh1.return_rate'].describe()}."
    )


def benchmark_sentence(figures: pd.DataFrame, bench: dict[str, Rate]) -> str:
    """The two external return-rate benchmarks, with what is and is not known about them."""
    wt = bench["wereldtools.return_rate"]
    ozv = value(figures, "ozv.return_share")
    return (
        f"Benchmarks: in Stichting WereldWijd's WereldTools project (2012–2013), {wt.n} of "
        f"{wt.N} candidates returned ({wt.describe()}). In the national subsidy scheme for "
        f"independent departure (OZV, Motivaction 2020), {100 * ozv:.0f} % of participants of "
        f"{int(value(figures, 'ozv.projects'))} completed projects returned "
        f"({int(value(figures, 'ozv.participants_returned'))} people); no denominator is "
        f"published, so no interval can be given. Both differ from MOH in population and "
        f"definition of return and are context, not a counterfactual."
    )
