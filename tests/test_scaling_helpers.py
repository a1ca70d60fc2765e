"""The helpers that keep the pipeline linear in clients and relations (issue 16)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from evaluation.data.membership import member
from evaluation.publish.extremes import extremes
from evaluation.publish.ledger import Ledger, Relation


def test_member_matches_membership_worked_by_hand():
    values = pd.Series(["a", "b", None, "c", "a"], dtype="str")
    got = member(values, {"a", "c", None})
    # a and c are keys; the missing value is not a member (missing keys are ignored)
    assert got.tolist() == [True, False, False, True, True]
    assert member(values, pd.Series([], dtype="str")).tolist() == [False] * 5


def test_relate_keeps_one_copy_even_after_direct_appends():
    led = Ledger()
    for k, v in (("all", 7), ("x", 3), ("y", 4)):
        led.count(k, v, population="p", numerator=k)
    led.relate("all", ["x", "y"])
    led.relate("all", ["x", "y"])
    led.relations.append(Relation("all", ("y", "x"), "direct"))
    led.relate("all", ["y", "x"], "direct")  # already there, appended by hand
    assert led.relations == [Relation("all", ("x", "y")), Relation("all", ("y", "x"), "direct")]


def test_extremes_on_a_small_system_worked_by_hand():
    # x + y = 10, y - z = 2, 0 <= x, y, z <= 8: y in [2, 8], so x in [2, 8] and z in [0, 6]
    rows = np.array([[1.0, 1.0, 0.0], [0.0, 1.0, -1.0]])
    got = extremes(rows, [10.0, 2.0], np.zeros(3), np.full(3, 8.0), None, [0, 1, 2])
    assert got == [(2.0, 8.0), (2.0, 8.0), (0.0, 6.0)]
