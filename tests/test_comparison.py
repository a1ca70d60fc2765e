"""Project comparison: Newcombe (1998) worked example and minimum detectable difference sanity."""

import math

import pytest
from statsmodels.stats.power import NormalIndPower

from evaluation.analysis.comparison import compare, comparison_table
from evaluation.analysis.rates import wilson


def test_difference_reproduces_newcombe_1998_table_ii():
    # Newcombe (1998) Stat Med 17:873, Table II, example (a): 56/70 vs 48/80 → 0.0524 to 0.3339.
    (c,) = compare({"B": wilson(48, 80), "A": wilson(56, 70)}, baseline="B")
    assert c.difference.estimate == pytest.approx(56 / 70 - 48 / 80)
    assert c.difference.ci_low == pytest.approx(0.0524, abs=5e-5)
    assert c.difference.ci_high == pytest.approx(0.3339, abs=5e-5)
    m = c.metrics()
    diff = m["b_vs_a.return_rate_diff"]
    assert diff["n"] == [56, 48] and diff["N"] == [70, 80]
    assert diff["contrast"] == "A − B"
    assert "interval excludes zero" in c.sentence()


def _cohen_h(p1: float, p2: float) -> float:
    return 2 * math.asin(math.sqrt(p1)) - 2 * math.asin(math.sqrt(p2))


def test_minimum_detectable_difference_has_80_percent_power_and_shrinks_with_n():
    base = wilson(51, 148)
    (small,) = compare({"MOH1": base, "MOH2": wilson(30, 100)}, baseline="MOH1")
    (large,) = compare({"MOH1": base, "MOH2": wilson(300, 1000)}, baseline="MOH1")
    assert 0 < large.mdd < small.mdd < 1
    p0 = base.estimate
    power = NormalIndPower().power(
        effect_size=_cohen_h(p0 + small.mdd, p0), nobs1=148, alpha=0.05, ratio=100 / 148
    )
    assert power == pytest.approx(0.8, abs=1e-6)
    assert small.key == "moh1_vs_moh2"
    assert set(small.metrics()) == {"moh1_vs_moh2.return_rate_diff", "moh1_vs_moh2.mdd_80"}


def test_table_and_unknown_baseline():
    comps = compare({"MOH1": wilson(51, 148), "MOH2": wilson(40, 120)}, baseline="MOH1")
    t = comparison_table(comps)
    assert list(t["difference"]) == pytest.approx([40 / 120 - 51 / 148])
    assert "includes zero" in comps[0].sentence()
    with pytest.raises(ValueError):
        compare({"MOH1": wilson(1, 2)}, baseline="MOH3")


def test_compare_pairs_uses_each_declared_baseline():
    from evaluation.analysis.comparison import compare_pairs
    from evaluation.analysis.rates import newcombe, wilson

    rates = {"MOH1": wilson(51, 148), "MOH2": wilson(58, 161), "MOH3": wilson(20, 80)}
    comps = compare_pairs(rates, "MOH1:MOH2, MOH2:MOH3")
    assert [(c.baseline, c.other) for c in comps] == [("MOH1", "MOH2"), ("MOH2", "MOH3")]
    ref = newcombe(20, 80, 58, 161)  # MOH3 minus its baseline MOH2
    assert comps[1].difference.estimate == ref.estimate
    assert (comps[1].difference.ci_low, comps[1].difference.ci_high) == (ref.ci_low, ref.ci_high)


def test_overlapping_samples_get_no_independent_samples_interval():
    from evaluation.analysis.comparison import compare_pairs
    from evaluation.analysis.rates import wilson

    rates = {"MOH1": wilson(2, 4), "MOH2": wilson(3, 4)}
    members = {"MOH1": {"a", "b", "c", "d"}, "MOH2": {"c", "d", "e", "f"}}  # c, d in both
    (c,) = compare_pairs(rates, "MOH1:MOH2", members=members)
    assert c.overlap == 2 and not c.independent
    assert c.difference.estimate == pytest.approx(0.25)  # 3/4 − 2/4, still described
    m = c.metrics()["moh1_vs_moh2.return_rate_diff"]
    assert (m["ci_low"], m["ci_high"], m["overlap"]) == (None, None, 2)
    assert math.isnan(c.row()["ci_low"]) and math.isnan(c.row()["ci_high"])
    text = c.sentence()
    assert "2 persons are in both samples" in text and "Newcombe's interval assumes" in text
    assert "CI for the difference" not in text
    (apart,) = compare_pairs(rates, "MOH1:MOH2", members={"MOH1": {"a"}, "MOH2": {"b"}})
    assert apart.independent and "CI for the difference" in apart.sentence()


def test_crude_comparison_counts_carry_overs_once_from_their_first_enrolment():
    from test_estimands import _tables

    from evaluation.analysis import conversion as cv
    from evaluation.analysis.comparison import person_comparisons
    from evaluation.analysis.rates import newcombe

    people = [
        {"client": "a1", "project": "MOH1", "enrol": "2016-01-01", "dep": "2016-03-01"},
        {"client": "a2", "project": "MOH1", "enrol": "2016-01-01"},
        # carry-over: enrolled in MOH1, returned through MOH2
        {"client": "c1", "project": "MOH1", "enrol": "2017-06-01", "exit": "2018-03-31",
         "reason": "project_end"},
        {"client": "c1", "project": "MOH2", "enrol": "2018-04-10", "dep": "2018-05-01"},
        {"client": "b1", "project": "MOH2", "enrol": "2019-01-01", "dep": "2019-02-15"},
        {"client": "b2", "project": "MOH2", "enrol": "2019-01-01"},
    ]  # fmt: skip
    t = _tables(people)
    frames = {p: cv.client_frame(t, p) for p in ("MOH1", "MOH2")}
    # per project c1 is in both samples (1 of 3 against 2 of 3); per person c1 counts once,
    # in MOH1, where they did not return: 1 of 3 against 1 of 2
    rates, (c,) = person_comparisons(frames, t["enrolments"], "MOH1:MOH2", "first_enrolment")
    assert (rates["MOH1"].n, rates["MOH1"].N, rates["MOH2"].n, rates["MOH2"].N) == (1, 3, 1, 2)
    assert c.independent and c.carried == 1
    ref = newcombe(1, 2, 1, 3)
    assert (c.difference.ci_low, c.difference.ci_high) == (ref.ci_low, ref.ci_high)
    assert "clients enrolled in both projects are counted in the project of their first" in (
        c.sentence()
    )
    rates, (c,) = person_comparisons(frames, t["enrolments"], "MOH1:MOH2", "exclude")
    assert (rates["MOH1"].n, rates["MOH1"].N, rates["MOH2"].n, rates["MOH2"].N) == (1, 2, 1, 2)


def test_project_model_text_prints_its_counts_only_outside_a_checked_run(monkeypatch):
    """The project Cox model's n, events and persons left out are no cells of the joint
    disclosure ledger: printed in a library call, left out when a run's decision is loaded
    (its metric keeps only 'fitted' and the ratio)."""
    from types import SimpleNamespace

    from evaluation.publish import view
    from evaluation.publish.gate import _metric
    from evaluation.report.conversion_text import project_model_text

    m = SimpleNamespace(kind="cox", ok=False, n=279, events=103, ratio_name="hazard ratio",
                        reason="too few events for the model")  # fmt: skip
    c = SimpleNamespace(key="moh1_vs_moh2", baseline="MOH1", other="MOH2")
    models = {c.key: (m, 21)}
    plain = project_model_text([c], models)
    assert "279 clients, 103 events" in plain and "21 persons" in plain
    monkeypatch.setattr(view, "current", lambda: object())
    checked = project_model_text([c], models)
    assert checked.startswith("MOH2 vs MOH1: No cause-specific Cox model")
    assert not any(n in checked for n in ("279", "103", "21"))
    entry = {"n": 279, "events": 103, "fitted": False, "left_out": 21, "ratio": None}
    assert _metric("moh1_vs_moh2.return_project_cox", entry, None) == {
        "fitted": False,
        "ratio": None,
    }
