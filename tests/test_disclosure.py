"""Disclosure control (issue 8 item 2): small cells hidden, and no hidden cell can be worked out."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evaluation.analysis.rates import wilson
from evaluation.publish.disclosure import DisclosureError, describe_rate, is_withheld
from evaluation.publish.disclosure_audit import feasible_ranges, recoverable_cells
from evaluation.publish.suppress import suppress_table


def hidden_cells(st) -> dict[tuple[int, str], str]:
    r = st.reasons
    return {(i, c): r.at[i, c] for i in r.index for c in st.count_cols if r.at[i, c]}


def audit(st) -> dict:
    return recoverable_cells(
        st.unmasked,
        st.mask,
        st.count_cols,
        row_total=st.row_total,
        total_row=st.total_row,
        public_totals=st.public_totals,
        group_cols=list(st.group_cols) or None,
        rate_pairs=list(st.rate_pairs) or None,
        equal_cells=st.equal_cells,
    )


# ---------------------------------------------------------------- hand-worked tables


def test_one_way_smallest_complement_that_protects():
    # 2 is primary (<5 => 1..4). Hiding 6 as 'x' (=> >= 5): 2 + 6 = 8 = 47 - 9 - 30, so a reader
    # knows p + q = 8 with q >= 5: p in 1..3, q in 5..7. Not exact, so 6 suffices.
    df = pd.DataFrame({"country": ["NGA", "ETH", "GIN", "IRQ"], "n": [2, 6, 9, 30]})
    st = suppress_table(df, ["n"])
    assert st.table["n"].tolist() == ["<5", "x", 9, 30, 47]
    assert st.table["country"].tolist() == ["NGA", "ETH", "GIN", "IRQ", "Total"]
    assert hidden_cells(st) == {(0, "n"): "primary", (1, "n"): "secondary"}
    ranges = feasible_ranges(st).set_index("row")
    assert (ranges.at[0, "low"], ranges.at[0, "high"]) == (1, 3)
    assert (ranges.at[1, "low"], ranges.at[1, "high"]) == (5, 7)


def test_markers_leak_so_the_next_smallest_is_not_always_enough():
    # 1, 5, 20 (total 26). Hiding 1 and 5 as '<5' and 'x': p + q = 6, p <= 4, q >= 5 gives
    # p = 1 exactly. So the 20 is hidden instead: p + r = 21, r >= 5 -> p in 1..4.
    df = pd.DataFrame({"country": ["NGA", "ETH", "GIN"], "n": [1, 5, 20]})
    st = suppress_table(df, ["n"])
    assert set(hidden_cells(st)) == {(0, "n"), (2, "n")}
    assert st.table["n"].tolist() == ["<5", 5, "x", 26]
    # with one marker for everything a reader only knows hidden >= 1: p + q = 6 -> p in 1..5
    single = suppress_table(df, ["n"], split_markers=False)
    assert set(hidden_cells(single)) == {(0, "n"), (1, "n")}
    assert single.table["n"].tolist() == ["x", "x", 20, 26]


def test_two_way_pattern_worked_by_hand():
    #        a   b   c | total
    # r0     3  10  12 | 25      3 is primary. Every single complement lies in row r0 or in
    # r1     8   9  11 | 28      column a, leaving 3 alone in the other, so a rectangle is
    # r2     7  14   6 | 27      needed. Cheapest (by added value): r0c + r2a + r2c = 25.
    # total 18  33  29 | 80      Then p + q = 15, s + u = 13, p + s = 10, q + u = 18 with
    #                            q, s, u >= 5: u = 3 + p >= 5 so p in 2..4 (not exact).
    df = pd.DataFrame({"row": ["r0", "r1", "r2"], "a": [3, 8, 7], "b": [10, 9, 14]})
    df["c"] = [12, 11, 6]
    st = suppress_table(df, ["a", "b", "c"], row_total="total")
    assert hidden_cells(st) == {
        (0, "a"): "primary",
        (0, "c"): "secondary",
        (2, "a"): "secondary",
        (2, "c"): "secondary",
    }
    assert st.table.iloc[3].tolist() == ["Total", 18, 33, 29, 80]
    assert st.table["total"].tolist() == [25, 28, 27, 80]
    ranges = feasible_ranges(st).set_index(["row", "column"])
    assert (ranges.at[(0, "a"), "low"], ranges.at[(0, "a"), "high"]) == (2, 4)
    assert (ranges.at[(2, "c"), "low"], ranges.at[(2, "c"), "high"]) == (5, 7)
    assert audit(st) == {}


def test_auditor_recovers_cells_from_naive_masking():
    # Hiding only the primary cell: row r0 gives 25 - 10 - 12 = 3 back; the auditor must see it.
    df = pd.DataFrame({"row": ["r0", "r1"], "a": [3, 8], "b": [10, 9], "c": [12, 11]})
    st = suppress_table(df, ["a", "b", "c"], row_total="total")
    naive = st.reasons == "primary"
    assert recoverable_cells(st.unmasked, naive, st.count_cols, row_total="total") == {(0, "a"): 3}
    # chained: hiding r0a and r1a (column pair) still falls to each row equation
    chain = naive.copy()
    chain.at[1, "a"] = True
    got = recoverable_cells(st.unmasked, chain, st.count_cols, row_total="total")
    assert got == {(0, "a"): 3, (1, "a"): 8}


def test_zeros_published_by_default_and_hidden_on_request():
    df = pd.DataFrame({"k": ["a", "b", "c", "d"], "n": [0, 3, 10, 12]})
    st = suppress_table(df, ["n"])
    assert st.table["n"].tolist() == [0, "<5", "x", 12, 25]
    strict = suppress_table(df, ["n"], suppress_zero=True)
    assert strict.table["n"].tolist()[:2] == ["<5", "<5"]
    assert "(0–4)" in strict.legend and "(1–4)" in st.legend
    assert audit(strict) == {}


def test_threshold_is_configurable():
    df = pd.DataFrame({"k": ["a", "b", "c"], "n": [7, 12, 30]})
    st = suppress_table(df, ["n"], threshold=10)
    assert st.table["n"].tolist()[0] == "<10"
    assert "<10: fewer than 10" in st.legend
    assert suppress_table(df, ["n"]).n_hidden == 0


def test_rates_withheld_with_hidden_or_small_counts():
    enrolled = [40, 10, 4, 60]
    returned = [12, 9, 1, 20]
    rates = [wilson(n, big_n) for n, big_n in zip(returned, enrolled, strict=True)]
    df = pd.DataFrame(
        {
            "country": ["NGA", "ETH", "GIN", "IRQ"],
            "enrolled": enrolled,
            "returned": returned,
            "rate": [r.estimate for r in rates],
            "ci_low": [r.ci_low for r in rates],
            "ci_high": [r.ci_high for r in rates],
        }
    )
    pairs = [("returned", "enrolled", ["rate", "ci_low", "ci_high"])]
    st = suppress_table(df, ["enrolled", "returned"], rate_pairs=pairs)
    hid = hidden_cells(st)
    assert hid[(1, "returned")] == "complement"  # 9 of 10: the one who stayed is identifiable
    assert hid[(2, "enrolled")] == "primary" and hid[(2, "returned")] == "primary"
    assert st.table.loc[[1, 2], "rate"].tolist() == ["x", "x"]
    assert st.table.loc[[1, 2], "ci_high"].tolist() == ["x", "x"]
    assert audit(st) == {}
    # positive control: publishing the rate next to its N gives the numerator back
    # (ETH's 10 enrolled was hidden as the complement of GIN's 4 in the enrolled column)
    assert hid[(1, "enrolled")] == "secondary"
    leaky = st.mask.copy()
    leaky.loc[1, ["enrolled", "rate", "ci_low", "ci_high"]] = False
    got = recoverable_cells(st.unmasked, leaky, st.count_cols, rate_pairs=pairs)
    # rate x N = 9, then the public totals: 114 - 40 - 10 - 60 = 4 and 42 - 12 - 9 - 20 = 1
    assert got == {(1, "returned"): 9, (2, "enrolled"): 4, (2, "returned"): 1}


def test_group_subtotals_are_protected_within_each_group():
    # per-project totals are public (MOH1 returnees = 51), so each project needs its own pair
    df = pd.DataFrame(
        {
            "project": ["MOH1"] * 3 + ["MOH2"] * 3,
            "country": ["NGA", "ETH", "GIN"] * 2,
            "n": [2, 20, 29, 7, 8, 40],
        }
    )
    st = suppress_table(df, ["n"], group_cols=["project"])
    hid = hidden_cells(st)
    assert sum(r < 3 for r, _ in hid) >= 2
    assert audit(st) == {}
    assert all(row.low < row.high for row in feasible_ranges(st).itertuples())


def test_funnel_step_shares_its_n_with_the_next_steps_n():
    # 28 of 30 referred: the 2 not referred are identifiable, so 28 is hidden (complement).
    # Step 2's N is that same 28; unless the two are linked it is printed there.
    df = pd.DataFrame({"step": ["referred", "returned"], "n": [28, 20], "N": [30, 28]})
    kw = {"total_row": False, "public_totals": False, "rate_pairs": [("n", "N", [])]}
    link = [((0, "n"), (1, "N"))]
    naive = suppress_table(df, ["n", "N"], **kw)
    assert naive.table["n"].tolist() == ["x", 20] and naive.table["N"].tolist() == [30, 28]
    leak = recoverable_cells(
        naive.unmasked,
        naive.mask,
        ["n", "N"],
        total_row=False,
        public_totals=False,
        equal_cells=link,
    )
    assert leak == {(0, "n"): 28}
    st = suppress_table(df, ["n", "N"], equal_cells=link, **kw)
    assert st.table["n"].tolist() == ["x", 20] and st.table["N"].tolist() == [30, "x"]
    assert audit(st) == {}


def test_equal_cells_force_the_twin_to_be_hidden():
    # column 'copy' repeats b's 9. The only complement for a's 2 in column n is that 9, so
    # hiding it alone would leave its twin printed; a rectangle over both columns is needed:
    # p + q = 11, r + s = 21, q = s, with q, r, s >= 5 -> p in 1..4.
    df = pd.DataFrame({"k": ["a", "b"], "n": [2, 9], "copy": [12, 9]})
    link = [((1, "n"), (1, "copy"))]
    naive = suppress_table(df, ["n", "copy"])
    assert hidden_cells(naive) == {(0, "n"): "primary", (1, "n"): "secondary"}
    assert recoverable_cells(naive.unmasked, naive.mask, ["n", "copy"], equal_cells=link) == {
        (1, "n"): 9,
        (0, "n"): 2,
    }
    st = suppress_table(df, ["n", "copy"], equal_cells=link)
    assert set(hidden_cells(st)) == {(0, "n"), (1, "n"), (0, "copy"), (1, "copy")}
    assert audit(st) == {}


def test_unprotectable_table_raises():
    df = pd.DataFrame({"k": ["a", "b", "c"], "n": [3, 0, 0]})
    with pytest.raises(DisclosureError, match="merge small categories"):
        suppress_table(df, ["n"])


def test_hidden_margin_when_totals_are_not_public():
    # column a has one non-zero cell; with a private total the total itself is hidden
    df = pd.DataFrame({"k": ["r0", "r1", "r2"], "a": [3, 0, 0], "b": [9, 12, 20]})
    st = suppress_table(df, ["a", "b"], row_total="total", public_totals=False)
    assert st.table.at[3, "a"] != 3
    assert audit(st) == {}
    assert all(row.low < row.high for row in feasible_ranges(st).itertuples())


@pytest.mark.parametrize(
    "bad, match",
    [
        (pd.DataFrame({"n": [1, -2]}), "non-negative"),
        (pd.DataFrame({"n": [1.5, 2]}), "whole"),
        (pd.DataFrame({"n": [1, None]}), "without gaps"),
    ],
)
def test_invalid_counts_rejected(bad, match):
    with pytest.raises(ValueError, match=match):
        suppress_table(bad, ["n"])


def test_row_total_must_add_up():
    df = pd.DataFrame({"a": [5, 6], "b": [7, 8], "total": [12, 99]})
    with pytest.raises(ValueError, match="not the sum"):
        suppress_table(df, ["a", "b"], row_total="total")


# ---------------------------------------------------------------- random tables


def _one_way_feasible(values, hidden, bounds, total):
    """Closed form: each hidden cell's feasible values, given the others' marker intervals."""
    rest = total - sum(v for i, v in enumerate(values) if i not in hidden)
    out = {}
    for i in hidden:
        others = [bounds[j] for j in hidden if j != i]
        lo_o = sum(b[0] for b in others)
        hi_o = sum(b[1] for b in others)
        lo = max(bounds[i][0], rest - hi_o)
        hi = min(bounds[i][1], rest - lo_o)
        out[i] = (lo, hi)
    return out


def test_random_one_way_tables_against_closed_form():
    rng = np.random.default_rng(8)
    checked = refused = 0
    for _ in range(150):
        k = int(rng.integers(2, 7))
        values = rng.choice([0, 1, 2, 3, 4, 5, 6, 8, 12, 20, 35], size=k).tolist()
        df = pd.DataFrame({"k": [f"c{i}" for i in range(k)], "n": values})
        try:
            st = suppress_table(df, ["n"])
        except DisclosureError:
            # justified only if hiding every non-zero cell still gives a primary cell away
            everything = {i for i, v in enumerate(values) if v > 0}
            bounds = {i: (1, 4) if values[i] < 5 else (5, 10**6) for i in everything}
            ranges = _one_way_feasible(values, everything, bounds, sum(values))
            assert any(lo >= hi for i, (lo, hi) in ranges.items() if values[i] < 5)
            refused += 1
            continue
        hid = {r: why for (r, _), why in hidden_cells(st).items() if r < k}
        assert {i for i, v in enumerate(values) if 1 <= v <= 4} <= set(hid)
        bounds = {i: (1, 4) if why == "primary" else (5, 10**6) for i, why in hid.items()}
        for lo, hi in _one_way_feasible(values, hid, bounds, sum(values)).values():
            assert lo < hi
        assert audit(st) == {}
        checked += 1
    assert checked > 100 and refused > 0


def test_random_two_way_tables_stay_protected():
    rng = np.random.default_rng(2024)
    checked = 0
    for trial in range(60):
        n_rows, n_cols = int(rng.integers(2, 6)), int(rng.integers(2, 5))
        cols = [f"c{j}" for j in range(n_cols)]
        data = rng.choice([0, 1, 2, 3, 4, 5, 7, 9, 14, 25], size=(n_rows, n_cols))
        df = pd.DataFrame(data, columns=cols)
        df.insert(0, "k", [f"r{i}" for i in range(n_rows)])
        kwargs = {
            "row_total": "total" if trial % 2 else None,
            "split_markers": trial % 3 != 0,
            "suppress_zero": trial % 5 == 0,
            "public_totals": trial % 4 != 1,
        }
        try:
            st = suppress_table(df, cols, **kwargs)
        except DisclosureError:
            continue
        mask = st.mask
        low = 0 if kwargs["suppress_zero"] else 1
        assert all(
            mask.at[i, c] for i in range(n_rows) for c in cols if low <= data[i, cols.index(c)] <= 4
        )
        assert audit(st) == {}
        ranges = feasible_ranges(st)
        assert (ranges["low"] < ranges["high"]).all()
        assert ((ranges["low"] <= ranges["value"]) & (ranges["value"] <= ranges["high"])).all()
        # the brief's margin rule, checked on the mask alone: no row or column of body cells
        # with a hidden cell has exactly one hidden cell unless its margin is hidden as well
        body = mask.loc[: n_rows - 1, cols]
        for j in cols:
            if body[j].sum() == 1:
                assert not st.public_totals and mask.at[n_rows, j]
        if st.row_total:
            for i in range(n_rows):
                if body.loc[i].sum() == 1:
                    assert mask.at[i, "total"]
        checked += 1
    assert checked >= 40


# ---------------------------------------------------------------- single rates in sentences


@pytest.mark.parametrize(
    "n, big_n, withheld",
    [
        (51, 148, False),
        (0, 148, False),
        (148, 148, False),
        (3, 148, True),
        (145, 148, True),
        (4, 148, True),
        (143, 148, False),
        (0, 4, True),
        (5, 10, False),
        (2, 2, True),
    ],
)
def test_is_withheld(n, big_n, withheld):
    assert is_withheld(n, big_n) is withheld


def test_describe_rate():
    assert describe_rate(wilson(3, 148)) == "withheld (fewer than 5)"
    assert describe_rate(wilson(51, 148)) == wilson(51, 148).describe()
    assert describe_rate(wilson(7, 148), threshold=10) == "withheld (fewer than 10)"
