"""The helpers that keep the pipeline linear in clients and relations (issue 16)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

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


def test_sparse_rows_are_the_dense_matrix_nonzero_entries():
    """SparseRows.from_entries against the dense matrix built entry by entry (np.add.at):
    duplicate places add up, a place adding up to 0 is dropped with a row left empty, and the
    rows kept are those with an entry, in order."""
    from evaluation.publish.extremes import SparseRows

    rng = np.random.default_rng(7)
    for _ in range(50):
        n_rows, n_cols = rng.integers(1, 8, 2)
        k = int(rng.integers(0, 25))
        row, col = rng.integers(0, n_rows, k), rng.integers(0, n_cols, k)
        value = rng.choice([-1.0, 1.0], k)
        dense = np.zeros((n_rows, n_cols))
        np.add.at(dense, (row, col), value)
        got, kept = SparseRows.from_entries(row, col, value, int(n_cols))
        want_rows = np.flatnonzero(dense.any(axis=1))
        assert kept.tolist() == want_rows.tolist()
        sub = dense[want_rows]
        r, c = np.nonzero(sub)
        assert got.index.tolist() == c.tolist() and got.values.tolist() == sub[r, c].tolist()
        starts = np.searchsorted(r, np.arange(len(want_rows)))
        assert got.starts.tolist() == starts.tolist()


def test_extremes_reads_sparse_rows_as_the_dense_ones():
    from evaluation.publish.extremes import SparseRows

    # the system of the worked example above, entered out of order with a cancelling pair
    row = np.array([1, 0, 1, 0, 0, 0])
    col = np.array([2, 1, 1, 0, 2, 2])
    value = np.array([-1.0, 1.0, 1.0, 1.0, 1.0, -1.0])
    rows, kept = SparseRows.from_entries(row, col, value, 3)
    assert kept.tolist() == [0, 1]
    got = extremes(rows, [10.0, 2.0], np.zeros(3), np.full(3, 8.0), None, [0, 1, 2])
    assert got == [(2.0, 8.0), (2.0, 8.0), (0.0, 6.0)]


def test_lookup_on_integer_codes_agrees_with_the_arrow_lookup():
    """lookup on integer codes (a table indexed by code) gives what Arrow's index_in gives on
    the same values as text: the first equal value's position, -1 when absent or missing."""
    from evaluation.data import membership

    rng = np.random.default_rng(11)
    for _ in range(200):
        n_keys, n_values = rng.integers(1, 30, 2)
        keys = rng.integers(0, 12, n_keys).astype(float)
        values = rng.integers(0, 12, n_values).astype(float)
        keys[rng.random(n_keys) < 0.2] = np.nan
        values[rng.random(n_values) < 0.2] = np.nan
        k, v = pd.Series(keys), pd.Series(values)
        assert membership._small_codes(k, v) is not None
        text = [pd.Series([None if np.isnan(x) else f"id{int(x)}" for x in a], dtype="str")
                for a in (keys, values)]  # fmt: skip
        want = membership.lookup(*text)
        assert membership.lookup(k, v).tolist() == want.tolist()
        if not np.isnan(values).any():  # int64 codes take the same path
            ints = pd.Series(values.astype(np.int64))
            assert membership.lookup(k, ints).tolist() == want.tolist()
    # by hand: keys 3, missing, 5, 9 among values 5, 3, 3, missing
    got = membership.lookup(pd.Series([3.0, np.nan, 5.0, 9.0]), pd.Series([5.0, 3.0, 3.0, np.nan]))
    assert got.tolist() == [1, -1, 0, -1]
    # fractions, negatives and huge numbers are not codes: Arrow decides
    for odd in ([0.5, 1.0], [-1.0, 2.0], [1e12, 1.0]):
        assert membership._small_codes(pd.Series(odd), pd.Series([1.0])) is None
    assert membership.lookup(pd.Series([0.5, 1.0]), pd.Series([1.0, 0.5])).tolist() == [1, 0]


def test_each_keeps_the_items_order_on_threads_and_raises_the_first_error():
    import threading

    from evaluation.data.threads import each

    names: set[str] = set()

    def square(x: int) -> int:
        names.add(threading.current_thread().name)
        return x * x

    assert each(square, range(6)) == [0, 1, 4, 9, 16, 25]
    assert names != {threading.current_thread().name}  # the work ran on the pool's threads
    names.clear()
    assert each(square, [3], workers=2) == [9] and each(square, [1, 2], workers=1) == [1, 4]
    assert names == {threading.current_thread().name}  # one item or one worker: this thread
    assert each(square, []) == []

    def fails(x: int) -> int:
        if x == 2:
            raise ValueError("two")
        return x

    with pytest.raises(ValueError, match="two"):
        each(fails, range(4))
