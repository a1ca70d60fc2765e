"""Array look-ups and per-client groups (analysis.client_groups) and the Cox risk-set index
(analysis.cox_index), each against the pandas or statsmodels path it replaces, on seeded data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.duration import hazard_regression as hr

from evaluation.analysis import client_groups as cg
from evaluation.analysis.cox_index import IndexedSurvivalTime, phreg
from evaluation.data import membership


def _ids(rng: np.random.Generator, n: int, pool: int, missing: float = 0.1) -> pd.Series:
    raw = [f"c{int(x):03d}" for x in rng.integers(0, pool, n)]
    return pd.Series([None if rng.random() < missing else v for v in raw], dtype="str")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_order_lookup_isin_match_pandas(seed):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "client_id": _ids(rng, 300, 40),
            "date": pd.to_datetime("2016-01-01") + pd.to_timedelta(rng.integers(0, 9, 300), "D"),
            "enrolment_id": [f"e{i:04d}" for i in rng.permutation(300)],
        }
    )
    df.loc[rng.random(300) < 0.05, "date"] = pd.NaT
    want = df.sort_values(["client_id", "date", "enrolment_id"], kind="stable").index
    assert (df.index[cg.order(df, ["client_id", "date", "enrolment_id"])] == want).all()

    keys, values = _ids(rng, 200, 60), _ids(rng, 50, 60)
    first = {v: i for i, v in reversed(list(enumerate(values))) if isinstance(v, str)}
    expected = [first.get(k, -1) if isinstance(k, str) else -1 for k in keys]
    assert membership.lookup(keys, values).tolist() == expected
    for a, b in ((keys, values), (values, keys), (keys, _ids(rng, 5000, 60))):  # both directions
        assert membership.isin(a, b).tolist() == (a.isin(b.dropna()) & a.notna()).tolist()
    coded = pd.Series(keys.str.slice(1).astype(float))  # integer codes with missing values
    assert (
        membership.isin(coded, pd.Series([1.0, 2.0, 3.0])).tolist()
        == coded.isin([1, 2, 3]).tolist()
    )


def test_groups_first_and_last_value_like_groupby():
    rng = np.random.default_rng(7)
    df = pd.DataFrame({"client_id": _ids(rng, 400, 50, missing=0.0), "x": _ids(rng, 400, 9, 0.4)})
    df = df.sort_values("client_id", kind="stable").reset_index(drop=True)
    groups = cg.Groups.of(df["client_id"])
    by = df.groupby("client_id")["x"]
    assert cg.take(df["x"], groups.first_valid(df["x"])).tolist() == by.first().tolist()
    assert cg.take(df["x"], groups.last_valid(df["x"])).tolist() == by.last().tolist()
    assert (
        groups.any(df["x"].isna().to_numpy()).tolist()
        == by.apply(lambda s: s.isna().any()).tolist()
    )


def _same_index(a: hr.PHSurvivalTime, b: hr.PHSurvivalTime) -> None:
    assert (a.nstrat, a.nstrat_orig, a.n_obs) == (b.nstrat, b.nstrat_orig, b.n_obs)
    for name in ("stratum_rows", "time_s", "exog_s", "status_s", "entry_s", "ufailt"):
        for x, y in zip(getattr(a, name), getattr(b, name), strict=True):
            assert x.dtype == y.dtype and np.array_equal(x, y), name
    for name in ("ufailt_ix", "risk_enter", "risk_exit"):
        for xs, ys in zip(getattr(a, name), getattr(b, name), strict=True):
            for x, y in zip(xs, ys, strict=True):
                assert x.dtype == y.dtype and np.array_equal(x, y), name


@pytest.mark.parametrize("seed", range(12))
def test_cox_risk_sets_are_statsmodels_own(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(20, 300))
    time = np.round(rng.exponential(5, n), int(rng.integers(0, 2)))  # many ties
    status = rng.random(n) < 0.4
    status[0] = True
    exog = rng.normal(size=(n, 2))
    strata = rng.integers(0, 3, n) if seed % 3 == 0 else None
    entry = np.minimum(time, rng.exponential(2, n).round()) if seed % 4 == 1 else None
    _same_index(
        hr.PHSurvivalTime(time, status, exog, strata, entry),
        IndexedSurvivalTime(time, status, exog, strata, entry),
    )


def test_cox_fit_is_bit_identical():
    rng = np.random.default_rng(5)
    time = np.round(rng.exponential(8, 2000), 1)
    exog = rng.normal(size=(2000, 3))
    status = rng.random(2000) < 1 / (1 + np.exp(-exog[:, 0]))
    a = hr.PHReg(time, exog, status=status, ties="efron").fit()
    b = phreg(time, exog, status=status, ties="efron").fit()
    assert np.array_equal(a.params, b.params) and np.array_equal(a.bse, b.bse)
    assert hr.PHSurvivalTime is not IndexedSurvivalTime  # statsmodels' own class is back
