"""Durability cells in the joint check: a hand-worked differencing attack on the curves by
support type against the overall curve, and acro's residual degrees-of-freedom rule."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from adversary import attack_ledger

from evaluation.publish.joint import PRIMARY, Decision, Rules, check
from evaluation.publish.ledger import Ledger, make_key
from evaluation.publish.ledger_durability import _groups


def _support_ledger() -> tuple[Ledger, dict[str, int]]:
    """Followed from the landmark: 9 with housing and 8 with nothing, all still followed after
    month 9; 6 with cash, of whom 3 left in the first three months (1 re-migrated). The overall
    curve prints 23, 20, 20, 20 at risk at months 0, 3, 6, 9 (durability_km.csv)."""
    times = pd.DataFrame(
        {
            "main_support": ["housing"] * 9 + ["none"] * 8 + ["cash"] * 6,
            "time": [12.0] * 17 + [1.0, 1.0, 2.0, 12.0, 12.0, 12.0],
            "event": [0] * 17 + [1, 0, 0, 0, 0, 0],
        }
    )
    led = Ledger()
    overall = {}
    for m in (0, 3, 6, 9, 10):
        overall[m] = led.count(
            make_key("P", "km_at_risk", month=m),
            (times["time"] >= m).sum(),
            population="p",
            numerator="at risk",
            artefact="results/p/durability_km.csv" if m < 10 else (),
        )
    _groups(
        led,
        times,
        "main_support",
        "P",
        (0, 3, 6, 9),
        10,
        ["results/p/durability_km_by_support.csv"],
        {},
        "p",
        5,
        list(overall.values()),
    )
    return led, {m: led.cells[k].value for m, k in overall.items()}


def test_by_support_table_by_table_leaks_cash_by_differencing():
    led, overall = _support_ledger()
    cash3 = make_key("P", "km_at_risk", main_support="cash", month=3)
    assert overall == {0: 23, 3: 20, 6: 20, 9: 20, 10: 20}
    assert led.cells[cash3].value == 3  # by hand: 6 − 3 who left before month 3
    # table by table: the by-support table hides its own small cells (cash at 3, 6, 9 months)
    own = {
        k: PRIMARY
        for k, c in led.cells.items()
        if "durability_km_by_support.csv" in "".join(c.artefacts) and 1 <= c.value < 5
    }
    assert set(own) == {
        make_key("P", "km_at_risk", main_support="cash", month=m) for m in (3, 6, 9)
    }
    ranges = attack_ledger(led, Decision(Rules(), own))
    # 20 at risk overall at month 3, minus housing 9 and none 8, leaves cash 3 exactly
    assert ranges[cash3] == (3, 3)


def test_by_support_joint_decision_protects_cash():
    led, _ = _support_ledger()
    cash3 = make_key("P", "km_at_risk", main_support="cash", month=3)
    d = check(led)
    assert not d.shown(cash3)
    assert d.withheld[cash3] == PRIMARY
    ranges = attack_ledger(led, d)
    assert ranges, "the joint check withheld nothing"
    assert all(hi - lo >= 5 for lo, hi in ranges.values()), ranges
    # the cash curve's first step (1 re-migration among 6) is not shown either
    assert not d.shown(make_key("P", "km_step", main_support="cash", month=0))


def test_residual_degrees_of_freedom_rule_worked_by_hand():
    """ACRO's MinimumDoFCheck: observations minus coefficients must be at least 10. Three
    windows scored 4, 3 and 3 times: 10 scores, 3 coefficients, 7 spare, so the changes are
    withheld; 5, 5 and 3: 13 − 3 = 10 spare, shown (ACRO fails only below the threshold)."""
    from evaluation.publish.durability_view import trajectory_shown
    from evaluation.publish.model_rules import dof_fails, trajectory_dof_fails
    from evaluation.publish.view import View

    assert dof_fails(10, 3) == "residual degrees of freedom 7 < 10"
    assert trajectory_dof_fails([4, 3, 3, 0]) == "residual degrees of freedom 7 < 10"
    assert trajectory_dof_fails([5, 5, 3]) is None
    values = {}
    for w, n in (("arrival", 5), ("m1", 5), ("m3", 3)):
        values[make_key("P", "scored", window=w, score="composite")] = n
    derived = frozenset(make_key("P", "trajectory", window=w) for w in ("arrival", "m1", "m3"))
    view = View(Decision(Rules()), values, derived)

    def table(ns):
        return pd.DataFrame(
            {
                "window": ["arrival", "m1", "m3"],
                "change": [0.0, 0.1, 0.2],
                "ci_low": [None, 0.0, 0.1],
                "ci_high": [None, 0.2, 0.3],
                "n": ns,
                "mean": [0.4, 0.5, 0.6],
                "sd": [0.1, 0.1, 0.1],
                "method": "mixedlm",
            }
        )

    shown = trajectory_shown(table([5, 5, 3]), view, "P")
    assert list(shown["change"]) == [0.0, 0.1, 0.2]
    values[make_key("P", "scored", window="arrival", score="composite")] = 4
    shown = trajectory_shown(table([4, 5, 3]), View(Decision(Rules()), values, derived), "P")
    assert list(shown["change"]) == ["x", "x", "x"]  # 12 − 3 = 9 < 10
    assert list(shown["mean"]) == [0.4, 0.5, 0.6]  # the means are no model estimates


@pytest.mark.parametrize("seed", range(10))
def test_adversary_cannot_narrow_group_curves(seed):
    """Random curves by group (3 or 4 groups of 1 to 12 returnees, re-migrations and last
    contacts anywhere in 15 months, the grid every 6 months) linked to the overall curve as the
    ledger links them: after the joint check no withheld count is narrower than the threshold
    for the adversary."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 13, size=rng.integers(3, 5))
    times = pd.DataFrame(
        {
            "country": np.repeat([f"C{i}" for i in range(len(sizes))], sizes),
            "time": rng.choice(np.arange(0.0, 15.0, 0.5), size=sizes.sum()),
            "event": rng.integers(0, 2, size=sizes.sum()),
        }
    )
    led = Ledger()
    grid, after = (0, 6, 12), 13
    overall = [
        led.count(make_key("P", "km_at_risk", month=m), (times["time"] >= m).sum(),
                  population="p", numerator="at risk",
                  artefact="results/p/durability_km.csv" if m < after else ())
        for m in (*grid, after)
    ]  # fmt: skip
    _groups(led, times, "country", "P", grid, after,
            ["results/p/durability_km_by_country.csv"], {}, "p", 5, overall)  # fmt: skip
    d = check(led)
    ranges = attack_ledger(led, d)
    assert all(hi - lo >= 5 for lo, hi in ranges.values()), ranges
    # every printed group count the check withheld is one the adversary was asked about
    printed = {k for k, c in led.cells.items() if c.artefacts and not d.shown(k)}
    assert printed <= set(ranges)
