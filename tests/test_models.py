"""Regression guards: 2×2 odds ratio = ad/bc with Woolf's interval; Cox vs scipy; separation."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import minimize_scalar

from evaluation.analysis.models import cox, design, logistic, show_table
from evaluation.analysis.rates import Z95


def two_by_two(a: int, b: int, c: int, d: int) -> pd.DataFrame:
    """a exposed with event, b exposed without, c unexposed with, d unexposed without."""
    rows = [("yes", True)] * a + [("yes", False)] * b + [("no", True)] * c + [("no", False)] * d
    return pd.DataFrame(rows, columns=["exposed", "returned"])


def test_logistic_odds_ratio_equals_cross_product_with_woolf_interval():
    a, b, c, d = 20, 10, 15, 30
    res = logistic(two_by_two(a, b, c, d), "returned", ["exposed"], reference={"exposed": "no"})
    assert res.ok, res.reason
    row = res.table.iloc[0]
    assert row["level"] == "yes" and row["reference"] == "no"
    odds_ratio = (a * d) / (b * c)
    se = math.sqrt(1 / a + 1 / b + 1 / c + 1 / d)
    assert row["estimate"] == pytest.approx(odds_ratio, rel=1e-6)
    assert row["ci_low"] == pytest.approx(odds_ratio * math.exp(-Z95 * se), rel=1e-6)
    assert row["ci_high"] == pytest.approx(odds_ratio * math.exp(Z95 * se), rel=1e-6)
    assert (res.n, res.events) == (75, 35)
    assert "odds ratio" in show_table(res).columns


def test_reference_defaults_to_most_frequent_level():
    df = pd.DataFrame({"x": ["a", "b", "b", "c"]})
    X, key = design(df, ["x"])
    assert list(key["reference"]) == ["b", "b"]
    assert list(X.columns) == ["x: a", "x: c"]
    assert X.to_numpy().tolist() == [[1, 0], [0, 0], [0, 0], [0, 1]]


def test_perfect_separation_gives_descriptives_and_a_reason():
    df = two_by_two(25, 0, 0, 25)  # everyone exposed returned, nobody unexposed did
    res = logistic(df, "returned", ["exposed"])
    assert not res.ok
    assert "separation" in res.reason
    assert res.table.empty
    desc = res.descriptives.set_index("level")
    assert desc.loc["yes", "n"] == 25 and desc.loc["yes", "N"] == 25
    assert desc.loc["no", "estimate"] == 0.0
    assert "No logistic regression" in res.describe()


def test_quasi_separation_in_a_continuous_covariate_is_caught():
    x = np.linspace(-3, 3, 60)
    df = pd.DataFrame({"x": x, "returned": x > 0})
    res = logistic(df, "returned", ["x"], min_epv=1)
    assert not res.ok
    assert "separation" in res.reason


def test_too_small_cells_and_too_few_events_fall_back():
    res = logistic(two_by_two(2, 30, 20, 30), "returned", ["exposed"], min_cell=3)
    assert not res.ok and "too few clients in one cell" in res.reason
    # the reason is printed in the report: it names the cell, never its count of 2 people
    assert not any(ch.isdigit() for ch in res.reason.replace("at least 3", ""))
    res = logistic(two_by_two(4, 30, 4, 30), "returned", ["exposed"], min_epv=10)
    assert not res.ok and "too few events" in res.reason
    assert "8" not in res.reason  # the 8 events (4 + 4) are not restated


def _cox_partial_loglik(beta: float, time, event, x) -> float:
    """Breslow/Cox partial log-likelihood for one covariate and no ties, written out."""
    ll = 0.0
    for i in np.flatnonzero(event):
        risk = time >= time[i]
        ll += beta * x[i] - math.log(np.exp(beta * x[risk]).sum())
    return ll


COX = pd.DataFrame(
    {
        "time": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0],
        "status": [1, 1, 0, 1, 2, 1, 1, 0, 1, 2, 1, 0],
        "group": ["b", "a", "b", "b", "a", "a", "b", "a", "a", "b", "a", "a"],
    }
)


def test_cause_specific_cox_matches_scipy_maximised_partial_likelihood():
    res = cox(
        COX, "time", "status", ["group"], cause=1, reference={"group": "a"}, min_epv=1, min_cell=1
    )
    assert res.ok, res.reason
    t = COX["time"].to_numpy()
    ev = (COX["status"] == 1).to_numpy()  # competing exits (2) are censored for this cause
    x = (COX["group"] == "b").to_numpy(dtype=float)
    opt = minimize_scalar(
        lambda b: -_cox_partial_loglik(b, t, ev, x),
        bounds=(-10, 10),
        method="bounded",
        options={"xatol": 1e-10},
    )
    beta = opt.x
    assert res.table.iloc[0]["estimate"] == pytest.approx(math.exp(beta), rel=1e-4)
    # Standard error from the curvature of the same likelihood (numerical second derivative).
    h = 1e-4
    f = [_cox_partial_loglik(beta + k * h, t, ev, x) for k in (-1, 0, 1)]
    se = 1 / math.sqrt(-(f[0] - 2 * f[1] + f[2]) / h**2)
    assert res.table.iloc[0]["ci_high"] == pytest.approx(math.exp(beta + Z95 * se), rel=1e-3)
    assert res.events == 7


def test_cox_level_without_events_is_reported_as_separation():
    df = COX.assign(status=np.where(COX["group"] == "b", 0, COX["status"]))
    res = cox(df, "time", "status", ["group"], min_epv=1, min_cell=1)
    assert not res.ok and "separation" in res.reason
    desc = res.descriptives.set_index("level")
    assert desc.loc["b", "events"] == 0
    assert desc.loc["a", "person_months"] == pytest.approx(2 + 5 + 6 + 8 + 9 + 11 + 12)
