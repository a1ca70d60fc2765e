"""The bands clients are grouped by: age, household, length of stay, half-year cohort, region."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from evaluation.analysis.time_axis import as_dates
from evaluation.config import read_yaml

AGE_BANDS = ("under 18", "18–29", "30–39", "40–49", "50+", "unknown")
HOUSEHOLD_TYPES = ("single", "couple or small (2–3)", "family (4+)", "unknown")
STAY_BANDS = ("under 2 years", "2–4 years", "5–9 years", "10+ years", "unknown")
UNKNOWN = "unknown"


def half_year(dates: pd.Series) -> pd.Series:
    """Half-year enrolment cohort label such as '2016-H1' (each distinct date labelled once)."""
    d = as_dates(dates)
    codes, days = pd.factorize(d, use_na_sentinel=False)
    u = pd.Series(days)
    label = u.dt.year.astype("Int64").astype(str) + np.where(u.dt.month <= 6, "-H1", "-H2")
    label = label.where(u.notna(), UNKNOWN)
    return pd.Series(
        label.to_numpy()[codes] if len(d) else label.to_numpy()[:0],
        index=d.index,
        dtype=label.dtype,
        name=d.name,
    )


def age_band(age: pd.Series) -> pd.Series:
    """Age at enrolment in bands (AGE_BANDS); missing → 'unknown'."""
    a = pd.to_numeric(age, errors="coerce")
    bins = [-np.inf, 18, 30, 40, 50, np.inf]
    out = pd.cut(a, bins=bins, right=False, labels=list(AGE_BANDS[:-1])).astype(object)
    return out.where(a.notna(), UNKNOWN).astype(str)


def household_type(size: pd.Series) -> pd.Series:
    """Single (1), couple or small (2–3), family (4+); missing → 'unknown'."""
    s = pd.to_numeric(size, errors="coerce")
    out = pd.cut(s, bins=[0, 1, 3, np.inf], labels=list(HOUSEHOLD_TYPES[:-1])).astype(object)
    return out.where(s.notna(), UNKNOWN).astype(str)


def stay_band(years: pd.Series) -> pd.Series:
    """Length of stay in the Netherlands in bands (STAY_BANDS); missing → 'unknown'."""
    y = pd.to_numeric(years, errors="coerce")
    bins = [-np.inf, 2, 5, 10, np.inf]
    out = pd.cut(y, bins=bins, right=False, labels=list(STAY_BANDS[:-1])).astype(object)
    return out.where(y.notna(), UNKNOWN).astype(str)


def load_regions(codes_file: str | Path) -> dict[str, str]:
    """Support point code → region from data_schemas/codes.yaml; {} if the file or list is absent.

    Accepts `support_points:` as a list of {code, region} records or a {code: region|{region}} map.
    """

    path = Path(codes_file)
    if not path.exists():
        return {}
    doc = read_yaml(path.read_text(encoding="utf-8")) or {}
    sp = doc.get("support_points", {})
    if isinstance(sp, dict) and "codes" in sp:
        sp = sp["codes"]
    out: dict[str, str] = {}
    if isinstance(sp, list):
        for rec in sp:
            if isinstance(rec, dict) and "code" in rec and rec.get("region"):
                out[str(rec["code"])] = str(rec["region"])
    elif isinstance(sp, dict):
        for code, val in sp.items():
            region = val.get("region") if isinstance(val, dict) else val
            if region:
                out[str(code)] = str(region)
    return out
