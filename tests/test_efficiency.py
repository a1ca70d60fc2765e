"""analysis.efficiency: support spending ratios, worked by hand and checked by a bootstrap."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from evaluation.analysis.efficiency import efficiency, efficiency_table


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "client_id": ["a", "b", "c", "d"],
            "returned": [True, True, False, False],
            "departure_date": pd.to_datetime(["2017-01-01", "2017-06-01", None, None]),
        }
    )


def _support() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "client_id": ["a", "a", "a", "b", "c"],
            "amount_eur": [1000.0, 500.0, None, 300.0, 900.0],
            # a's 500 predates the return; c never returned: neither counts
            "support_date": pd.to_datetime(
                ["2017-02-01", "2016-12-01", "2017-03-01", "2017-06-01", "2017-01-01"]
            ),
        }
    )


def test_hand_worked_ratios_and_delta_interval():
    e = efficiency("MOH1", _frame(), _support(), staying_12m=["a", "c"])
    assert (e.enrolled, e.items, e.items_without_amount, e.clients_with_support) == (4, 3, 1, 2)
    assert e.per_enrolled.estimate == pytest.approx(1300 / 4)
    assert e.per_return.estimate == pytest.approx(650.0)
    assert (e.per_return.units, e.per_return.N) == (2, 4)
    # c is listed as staying but never returned in this project: not a stayer here
    assert e.per_staying_12m.estimate == pytest.approx(1300.0)
    assert e.per_staying_12m.units == 1
    assert e.largest_two_share == pytest.approx(1.0)
    # by hand: residuals x - 650 y = [350, -350, 0, 0]; var = 2*350^2/3; se = sqrt(var/4)/(2/4)
    se = math.sqrt(2 * 350**2 / 3 / 4) / 0.5
    assert e.per_return.ci_low == pytest.approx(650 - 1.959964 * se, abs=0.01)
    assert e.per_return.ci_high == pytest.approx(650 + 1.959964 * se, abs=0.01)


def test_no_returns_gives_no_ratio_rather_than_infinity():
    f = _frame().assign(returned=False, departure_date=pd.NaT)
    e = efficiency("MOH2", f, _support(), staying_12m=[])
    assert e.per_return.estimate is None and e.per_return.units == 0
    assert e.per_enrolled.estimate == 0.0
    assert e.largest_two_share is None


def test_delta_interval_agrees_with_a_seeded_bootstrap():
    rng = np.random.default_rng(7)
    n = 3000
    returned = rng.random(n) < 0.35
    amount = np.where(returned, rng.gamma(2.0, 800.0, n), 0.0)
    ids = [f"c{i}" for i in range(n)]
    frame = pd.DataFrame(
        {"client_id": ids, "returned": returned, "departure_date": pd.Timestamp("2017-01-01")}
    )
    support = pd.DataFrame(
        {"client_id": ids, "amount_eur": amount, "support_date": pd.Timestamp("2017-02-01")}
    )[returned]
    e = efficiency("X", frame, support, staying_12m=[])
    boot = []
    for _ in range(400):
        i = rng.integers(0, n, n)
        boot.append(amount[i].sum() / returned[i].sum())
    lo, hi = np.percentile(boot, [2.5, 97.5])
    assert e.per_return.ci_low == pytest.approx(lo, rel=0.03)
    assert e.per_return.ci_high == pytest.approx(hi, rel=0.03)


def test_table_has_one_row_per_project_and_denominator():
    e = efficiency("MOH1", _frame(), _support(), staying_12m=["a"])
    t = efficiency_table([e])
    assert list(t["per"]) == ["enrolled client", "verified return", "returnee staying at 12 months"]
    assert list(t["units"]) == [4, 2, 1]


def test_a_withheld_spending_ratio_stays_a_metric_that_says_so():
    """Two clients with support (fewer than 5 contributors): both ratios are withheld, and the
    metric stays with a reason, so a report referring to it says 'withheld' instead of
    failing on a missing key (the 1,000-client bench failed to render that way)."""
    from evaluation.publish.efficiency_results import efficiency_metrics
    from evaluation.report.metric_refs import format_metric

    e = efficiency("MOH1", _frame(), _support(), staying_12m=["a"])
    m = efficiency_metrics([e], threshold=5)
    assert sorted(m) == ["moh1.support_eur_per_enrolled", "moh1.support_eur_per_return"]
    for key, value in m.items():
        assert value["estimate"] is None and value["reason"]
        assert format_metric(key, value, "estimate") == "withheld by disclosure control"
        assert format_metric(key, value) == "withheld by disclosure control"
    # six returnees with 100..600 after their return: no dominance (top two 1100 of 2100),
    # so the ratio is shown: 2100 / 6 = 350 per return
    ids = list("uvwxyz")
    frame = pd.DataFrame({"client_id": ids, "returned": True,
                          "departure_date": pd.Timestamp("2017-01-01")})  # fmt: skip
    support = pd.DataFrame({"client_id": ids, "amount_eur": [100.0 * k for k in range(1, 7)],
                            "support_date": pd.Timestamp("2017-02-01")})  # fmt: skip
    shown = efficiency_metrics([efficiency("MOH1", frame, support, staying_12m=[])], threshold=5)
    assert shown["moh1.support_eur_per_return"]["estimate"] == pytest.approx(350.0)
