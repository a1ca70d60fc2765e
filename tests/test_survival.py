"""Cumulative incidence checked against hand-built Aalen–Johansen and Kaplan–Meier risk tables."""

import math

import numpy as np
import pandas as pd
import pytest

from evaluation.analysis.survival import (
    AALEN_JOHANSEN,
    KAPLAN_MEIER,
    at_risk,
    cumulative_incidence,
    median_text,
)

# Eight subjects, ties at t=2 (a return and a competing exit) and t=5 (competing + censored).
TIME = [1, 2, 2, 3, 4, 5, 5, 6, 7]
STATUS = [1, 2, 1, 0, 1, 3, 0, 1, 0]  # 3 = a second kind of competing exit (pooled with 2)


def hand_aalen_johansen():
    """Risk table by hand: F(t) = sum over event times of S(t-) * d1 / n."""
    # t  at risk  returns  any exit  S(t-)   increment S(t-) * returns / at risk
    # 1  9        1        1         1       1/9
    # 2  8        1        2         8/9     8/9 * 1/8 = 1/9
    # 3  6        0        0 (cens.) 2/3     -
    # 4  5        1        1         2/3     2/3 * 1/5 = 2/15
    # 5  4        0        1 (+cens) 8/15    -
    # 6  2        1        1         2/5     2/5 * 1/2 = 1/5
    return {
        1: 1 / 9,
        2: 2 / 9,
        3: 2 / 9,
        4: 2 / 9 + 2 / 15,
        5: 2 / 9 + 2 / 15,
        6: 2 / 9 + 2 / 15 + 1 / 5,
    }


def test_aalen_johansen_matches_hand_risk_table():
    ci = cumulative_incidence(TIME, STATUS)
    assert ci.method == AALEN_JOHANSEN
    assert (ci.N, ci.events, ci.competing, ci.censored) == (9, 4, 2, 3)
    for t, expected in hand_aalen_johansen().items():
        assert ci.at(t).estimate == pytest.approx(expected, abs=1e-12)
    # Between event times the estimate is carried forward.
    assert ci.at(4.5).estimate == pytest.approx(2 / 9 + 2 / 15)
    assert ci.at(0.5).estimate == 0.0


def test_competing_incidence_and_overall_survival_add_up():
    ci = cumulative_incidence(TIME, STATUS)
    # Competing increments: t=2: 8/9 * 1/8 = 1/9; t=5: S(5-) = 8/15 → 8/15 * 1/4 = 2/15.
    comp = ci.competing_curve
    last = comp["estimate"].iloc[-1]
    assert last == pytest.approx(1 / 9 + 2 / 15)
    # F_return + F_competing + S_all = 1 at the end; S_all(7) = 2/5 * 1/2 * (1 - 0/1) = 1/5.
    assert ci.curve["estimate"].iloc[-1] + last + 1 / 5 == pytest.approx(1.0)


def test_one_minus_km_is_the_aalen_johansen_without_competing_exits():
    status = [1, 0, 1, 0, 1, 0, 0, 1, 0]
    ci = cumulative_incidence(TIME, status)
    assert ci.method == KAPLAN_MEIER
    # KM by hand: t1 n=9 → 8/9; t2 n=8 → *7/8 = 7/9; t4 n=5 → *4/5 = 28/45; t6 n=2 → *1/2 = 14/45
    assert ci.at(1).estimate == pytest.approx(1 / 9)
    assert ci.at(3).estimate == pytest.approx(2 / 9)
    assert ci.at(5).estimate == pytest.approx(1 - 28 / 45)
    assert ci.at(6.5).estimate == pytest.approx(1 - 14 / 45)
    # Greenwood SE at t=4: S * sqrt(sum d/(n(n-d))) = 28/45*sqrt(1/72+1/56+1/20)
    row = ci.curve.loc[ci.curve["time"] == 4].iloc[0]
    assert row["se"] == pytest.approx(28 / 45 * math.sqrt(1 / 72 + 1 / 56 + 1 / 20))
    assert row["ci_low"] < row["estimate"] < row["ci_high"]


def test_interval_contains_estimate_and_stays_in_unit_range():
    ci = cumulative_incidence(TIME, STATUS)
    c = ci.curve.dropna()
    assert ((c["ci_low"] <= c["estimate"] + 1e-12) & (c["estimate"] <= c["ci_high"] + 1e-12)).all()
    assert ((c["ci_low"] >= 0) & (c["ci_high"] <= 1)).all()


def test_aalen_johansen_variance_at_first_event_is_binomial():
    # At the first event time (no censoring before), F = d/n and Var = F(1-F)/n exactly.
    ci = cumulative_incidence(TIME, STATUS)
    row = ci.curve.loc[ci.curve["time"] == 1].iloc[0]
    assert row["se"] == pytest.approx(math.sqrt((1 / 9) * (8 / 9) / 9))


def test_horizons_median_and_numbers_at_risk():
    ci = cumulative_incidence(TIME, STATUS)
    h = ci.horizons([2, 6])
    assert list(h["n"]) == [2, 4]  # returns observed by each horizon
    assert list(h["at_risk"]) == [8, 2]
    assert at_risk(TIME, [0, 2, 5, 8]) == [9, 8, 4, 0]
    # Incidence 2/9+2/15+1/5 = 0.5556 ≥ 0.5 first at t=6.
    assert ci.median() == 6
    km = cumulative_incidence([1, 2, 3], [1, 0, 0])
    assert km.median() is None
    assert "not reached" in median_text(km)


def test_rejects_bad_input():
    with pytest.raises(ValueError):
        cumulative_incidence([], [])
    with pytest.raises(ValueError):
        cumulative_incidence([1, -2], [1, 0])
    with pytest.raises(ValueError):
        cumulative_incidence(np.array([1.0, 2.0]), [1, -1])


def test_interval_is_carried_over_a_final_competing_exit():
    # The last subject leaves by a competing exit: statsmodels' variance is infinite there,
    # but the incidence of return does not change, so neither does its interval.
    ci = cumulative_incidence([1, 2, 3, 4, 5], [1, 0, 1, 0, 2])
    c = ci.curve.set_index("time")
    assert c.loc[5, "estimate"] == c.loc[3, "estimate"]
    assert np.isfinite(c.loc[5, "se"]) and c.loc[5, "se"] == c.loc[3, "se"]


def test_staying_curves_cut_short_name_their_month_in_the_legend():
    """Several curves: each one the decision cuts short says in its legend entry from which
    month it is withheld; one shown to the end says nothing; no shading (it would cover the
    other curves)."""
    import matplotlib.pyplot as plt

    from evaluation.report.plots.durability import survival_figure

    def curve(steps):
        return pd.DataFrame({"time": [0.0, *steps], "survival": [1.0] + [0.9] * len(steps),
                             "ci_low": 0.8, "ci_high": 1.0})  # fmt: skip

    cash, kind = "cash (n=40)", "in kind (n=30)"
    fig = survival_figure({cash: curve([2.0, 7.0]), kind: curve([4.0])},
                          {cash: [40, 30], kind: [30, "x"]}, (0, 6), end=12.0,
                          stops={cash: 12.0, kind: 3.0}, threshold=5)  # fmt: skip
    ax = fig.axes[0]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["cash (n=40)", "in kind (n=30), withheld after month 3"]
    assert not [q for q in ax.patches if q.get_hatch() == "//"]
    lines = {line.get_label(): line.get_xdata() for line in ax.get_lines()}
    assert max(lines["in kind (n=30), withheld after month 3"]) == 3.0  # the step at 4 is not drawn
    assert max(lines["cash (n=40)"]) == 12.0
    plt.close(fig)
