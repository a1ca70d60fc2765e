"""The shortcuts of the disclosure check (issue 16) give the answers of the full solve.

Each shortcut is checked against a second method: the relaxation-first extremes against the
integer program solved outright, the stored-table proofs against the check without them, the
identifier codes against the identifiers, the horizon counts against the estimator's table.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pandas as pd
import pytest

from evaluation.analysis import survival
from evaluation.data.id_codes import code_ids
from evaluation.data.membership import member
from evaluation.publish import extremes as extremes_module
from evaluation.publish import joint
from evaluation.publish.extremes import extremes
from evaluation.publish.ledger import AMOUNT, Ledger
from evaluation.publish.ledger_build import _group_sums
from evaluation.publish.ledger_synthetic import synthetic_ledger
from evaluation.publish.witnesses import Witnesses


def test_relaxation_first_gives_the_integer_optimum_worked_by_hand():
    # 2x + 3y = 7 and z = x + y - 3 with 0 <= x, y <= 5, 0 <= z <= 9 (z continuous).
    # Relaxed: y = (7 - 2x) / 3 and z >= 0 give x >= 2, y >= 0 gives x <= 3.5, so x runs
    # over [2, 3.5]; in integers only x = 2, y = 1 (and so z = 0) solves it.
    rows = np.array([[2.0, 3.0, 0.0], [1.0, 1.0, -1.0]])
    ints = np.array([True, True, False])
    args = (rows, [7.0, 3.0], np.zeros(3), np.array([5.0, 5.0, 9.0]), ints, [0, 1, 2])
    for relax_first in (True, False):
        got = extremes(*args, relax_first=relax_first)
        np.testing.assert_allclose(got, [(2.0, 2.0), (1.0, 1.0), (0.0, 0.0)], atol=1e-9)
    # without integrality the relaxation is the answer: x in [2, 3.5]
    relaxed = extremes(rows, [7.0, 3.0], np.zeros(3), np.array([5.0, 5.0, 9.0]), None, [0])
    assert relaxed[0] == pytest.approx((2.0, 3.5))


def _ledger_with_amounts() -> Ledger:
    """Count tables linked through a never-printed cell, and an amount split three ways of
    which one part is dominated by one person."""
    led = Ledger()
    for key, v, art, public in (
        ("all", 40, "t1", True), ("a", 3, "t1", False), ("b", 15, "t1", False),
        ("c", 22, "t1", False), ("a2", 1, "t2", False), ("ab", 18, "t2", False),
        ("a2~rest", 2, (), False),
    ):  # fmt: skip
        led.count(key, v, population="p", numerator="n", artefact=art, public=public)
    led.relate("all", ["a", "b", "c"])
    led.relate("ab", ["a", "b"])
    led.relate("a", ["a2", "a2~rest"])
    for key, v, contributions in (
        ("eur1", 5000.0, [4800.0, 50.0, 50.0, 50.0, 50.0]),
        ("eur2", 2500.0, [500.0] * 5),
        ("eur3", 1500.0, [300.0] * 5),
        ("eur", 9000.0, ()),
    ):
        led.count(key, v, population="p", numerator="eur", artefact="t3", kind=AMOUNT,
                  contributions=contributions)  # fmt: skip
    led.relate("eur", ["eur1", "eur2", "eur3"])
    return led


def _full_solve(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check without its shortcuts: every question solved, integer programs outright."""
    monkeypatch.setattr(joint._System, "witnessed", lambda self, *a: False)
    full = functools.partial(extremes_module.extremes, relax_first=False)
    monkeypatch.setattr(extremes_module, "extremes", full)


@pytest.mark.parametrize(
    "make",
    [
        _ledger_with_amounts,
        functools.partial(synthetic_ledger, 3, 150, points=4, cohorts=3),
        functools.partial(synthetic_ledger, 7, 800, points=8, cohorts=5),
    ],
)
def test_check_with_shortcuts_decides_as_the_full_solve(make, monkeypatch):
    fast = joint.check(make(), joint.Rules(threshold=5))
    with monkeypatch.context() as m:
        _full_solve(m)
        full = joint.check(make(), joint.Rules(threshold=5))
    assert fast.withheld and fast.withheld == full.withheld
    assert fast.ranges == full.ranges
    assert fast.rounds == full.rounds


def test_stored_tables_prove_only_what_is_feasible_worked_by_hand():
    # all = x + y, all = 10 shown; x = 3 and y = 7 withheld (so each at least 1)
    led = Ledger()
    led.count("all", 10, population="p", numerator="n", artefact="t")
    led.count("x", 3, population="p", numerator="n", artefact="t")
    led.count("y", 7, population="p", numerator="n", artefact="t")
    led.relate("all", ["x", "y"])
    hidden = {"x": joint.PRIMARY, "y": joint.SECONDARY}
    wide = lambda r: r[1] - r[0] >= 5  # noqa: E731
    keys, truth, counts = ["x", "y"], np.array([3.0, 7.0]), np.array([True, True])
    w = Witnesses(led.cells, cap=21.0, unpublished=frozenset())
    assert not w.proves("x", hidden, True, wide)  # the true table alone: x = 3 only
    w.add(keys, np.array([7.5, 2.5]), truth, counts)  # a relaxed solution: not integral
    assert not w.proves("x", hidden, True, wide)
    # it is a solution of the relaxation: x over 3..7.5, so 3..7 for a count, 4 apart
    assert w.proves("x", hidden, False, lambda r: r == (3.0, 7.0))
    assert not w.proves("x", hidden, False, wide)
    w.add(keys, np.array([8.0, 2.0]), truth, counts)  # x = 8: the range 3..8 is 5 wide
    assert w.proves("x", hidden, True, wide)
    # with y shown the table changing y is no solution, and x is pinned at 3
    assert not w.proves("x", {"x": joint.PRIMARY}, True, wide)
    # the solver agrees: x runs over 1..9 with y withheld
    rng = joint._System(led).ranges(hidden, ["x"], integer=True)
    assert rng["x"] == (1, 9)


def test_identifier_codes_link_and_sort_as_the_identifiers():
    clients = pd.DataFrame({"client_id": pd.Series(["p_b", "p_a", "p_c"], dtype="str")})
    enrolments = pd.DataFrame(
        {
            "enrolment_id": pd.Series(["e_2", "e_1"], dtype="str"),
            "client_id": pd.Series(["p_c", "p_a"], dtype="str"),
        }
    )
    departures = pd.DataFrame(
        {
            "departure_id": pd.Series(["d_1", "d_2"], dtype="str"),
            "client_id": pd.Series(["p_a", "p_b"], dtype="str"),
            "enrolment_id": pd.Series([None, "e_1"], dtype="str"),
        }
    )
    tables = {"clients": clients, "enrolments": enrolments, "departures": departures}
    coded = code_ids(tables)
    c = coded["clients"]["client_id"].tolist()
    assert c[1] < c[0] < c[2]  # p_a < p_b < p_c
    assert coded["enrolments"]["client_id"].tolist() == [c[2], c[1]]
    assert coded["departures"]["client_id"].tolist() == [c[1], c[0]]
    e = coded["enrolments"]["enrolment_id"].tolist()
    dep_e = coded["departures"]["enrolment_id"].tolist()
    assert math.isnan(dep_e[0]) and dep_e[1] == e[1]
    # a table's own row identifier is not a link: left as it was, and so is the input
    assert coded["departures"]["departure_id"].tolist() == ["d_1", "d_2"]
    assert clients["client_id"].tolist() == ["p_b", "p_a", "p_c"]


def test_ranks_of_numbers_worked_by_hand_and_in_two_halves():
    from evaluation.data import id_codes

    top = 1 << 63
    hand = np.array([5, 2, 5, top, 9, top - 1], dtype=np.uint64)
    assert id_codes._ranks(hand).tolist() == [1, 0, 1, 4, 2, 3]
    # two threads, one per half (below 2**63 and from it): the places one thread gives
    rng = np.random.default_rng(7)
    many = rng.integers(0, 2**64 - 1, size=id_codes._HALVES_FROM + 1000, dtype=np.uint64)
    third = len(many) // 3
    many[:third] = many[third : 2 * third]  # repeated numbers in both halves
    many[:2] = [top - 1, top]  # the two numbers either side of the split
    one = id_codes._ranks(many, workers=1)
    two = id_codes._ranks(many, workers=2)
    assert np.array_equal(one, two)
    assert one[1] == one[0] + 1  # 2**63 - 1 and 2**63 are neighbours in sorted order
    assert one.max() + 1 == len(np.unique(many))


def test_numeric_membership_ignores_missing_keys():
    assert member(pd.Series([3, 1, 2]), [1.0, None]).tolist() == [False, True, False]


def test_group_sums_match_the_groups_one_by_one():
    frame = pd.DataFrame(
        {"cohort": ["b", "a", "b", None, "a"], "x": [True, False, True, True, True], "y": 1}
    )
    sizes, sums = _group_sums(frame, frame["cohort"], ["x", "y"])
    for c, sub in frame.groupby("cohort", sort=True):
        assert sizes[c] == len(sub) and sums.at[c, "x"] == sub["x"].sum()
    assert sizes.to_dict() == {"a": 2, "b": 2} and sums["x"].to_dict() == {"a": 1, "b": 2}


def test_horizon_counts_are_the_estimators_counts():
    # returns (status 1) at 1, 2 and 7 months; one censored at 2, one competing exit at 5
    time, status = [1.0, 2.0, 2.0, 5.0, 7.0], [1, 0, 1, 2, 1]
    got = survival.horizon_counts(time, status, [2, 6])
    assert (got.N, got.events) == (5, 3)
    assert got.horizons()["n"].tolist() == [2, 2]  # returns by 2 and by 6 months
    assert got.horizons()["at_risk"].tolist() == [4, 1]  # still followed at 2 and 6 months
    full = survival.cumulative_incidence(time, status).horizons([2, 6])
    for col in ("horizon_months", "n", "N", "at_risk"):
        assert got.horizons()[col].tolist() == full[col].tolist()
