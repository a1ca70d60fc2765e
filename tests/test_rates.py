"""Rates against hand-computed fractions and the closed Wilson formula written out here."""

import math

import pandas as pd
import pytest

from evaluation.analysis import published
from evaluation.analysis.rates import minimum_detectable_difference, newcombe, wilson

Z = 1.959963984540054


def wilson_by_hand(n: int, N: int) -> tuple[float, float]:
    p = n / N
    centre = (2 * n + Z**2) / (2 * (N + Z**2))
    half = Z * math.sqrt(Z**2 + 4 * n * (1 - p)) / (2 * (N + Z**2))
    return centre - half, centre + half


@pytest.mark.parametrize("n,N", [(51, 148), (123, 319), (46, 319), (77, 319), (1, 7), (88, 113)])
def test_wilson_matches_closed_formula(n, N):
    r = wilson(n, N)
    lo, hi = wilson_by_hand(n, N)
    assert r.estimate == pytest.approx(n / N)
    assert r.ci_low == pytest.approx(lo, abs=1e-12)
    assert r.ci_high == pytest.approx(hi, abs=1e-12)


def test_wilson_edges_and_errors():
    assert wilson(0, 10).ci_low == 0.0
    assert wilson(10, 10).ci_high == 1.0
    with pytest.raises(ValueError):
        wilson(5, 0)
    with pytest.raises(ValueError):
        wilson(11, 10)


def test_published_headline_rates_equal_hand_fractions():
    figures = published.read("data/published/figures.csv")
    rates = published.headline_rates(figures)
    assert rates["enh.referral_rate"].estimate == pytest.approx(123 / 319)
    assert rates["enh.referral_rate_moh"].estimate == pytest.approx(46 / 319)
    assert rates["enh.referral_rate_other"].estimate == pytest.approx(77 / 319)
    assert rates["moh1.return_rate"].estimate == pytest.approx(51 / 148)
    assert [round(100 * r.estimate, 1) for r in rates.values()] == [38.6, 14.4, 24.1, 34.5]
    assert (rates["moh1.return_rate"].n, rates["moh1.return_rate"].N) == (51, 148)


def test_describe_states_rate_interval_and_denominator():
    assert wilson(51, 148).describe() == "34.5 % (95 % CI 27.3–42.4 %; 51 of 148)"


def test_newcombe_worked_example():
    # Newcombe (1998), Statistics in Medicine 17:873, Table II example (56/70 vs 48/80)
    d = newcombe(56, 70, 48, 80)
    assert d.estimate == pytest.approx(0.2)
    assert d.ci_low == pytest.approx(0.0524, abs=5e-4)
    assert d.ci_high == pytest.approx(0.3339, abs=5e-4)


def test_mdd_has_the_power_it_claims():
    from statsmodels.stats.power import NormalIndPower
    from statsmodels.stats.proportion import proportion_effectsize

    p0, n1, n2 = 51 / 148, 148, 100
    mdd = minimum_detectable_difference(p0, n1, n2)
    h = proportion_effectsize(p0 + mdd, p0)
    power = NormalIndPower().power(effect_size=h, nobs1=n1, alpha=0.05, ratio=n2 / n1)
    assert power == pytest.approx(0.8, abs=1e-6)
    assert minimum_detectable_difference(p0, 1000, 1000) < mdd


def test_dtv_context_table_is_wide_by_year():
    figures = published.read("data/published/figures.csv")
    wide = published.context_departures(figures)
    row = wide.set_index("year").loc["2016"]
    assert int(row["independent and verified"]) == 6760
    assert isinstance(wide, pd.DataFrame) and len(wide) == 6


def test_figure_counts_below_threshold_are_masked():
    from evaluation.report.plots import count_label

    assert [count_label(n) for n in (0, 1, 4, 5, 51)] == ["0", "<5", "<5", "5", "51"]
    assert count_label(9, threshold=10) == "<10"


def test_rate_bars_do_not_draw_a_withheld_rate():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from evaluation.report.plots import rate_bars

    fig, ax = plt.subplots()
    rate_bars(ax, ["big", "small"], [wilson(46, 319), wilson(3, 40)])
    assert len(ax.patches) == 1  # one bar: the rate with 3 of 40 is withheld
    texts = [t.get_text() for t in ax.texts]
    assert "withheld (fewer than 5)" in texts and not any("3/40" in t for t in texts)
    plt.close(fig)


def test_mean_interval_worked_by_hand():
    from evaluation.analysis.rates import mean_interval

    # mean 1.73 / 4 = 0.4325; squared deviations sum to 0.140675, / 3 -> sd 0.216545;
    # se = sd / 2 = 0.108272; t(0.975, 3 df) = 3.182446 (tables) -> half-width 0.344571
    lo, hi = mean_interval([0.2, 0.33, 0.5, 0.7])
    assert lo == pytest.approx(0.087929, abs=1e-5)
    assert hi == pytest.approx(0.777071, abs=1e-5)
    assert mean_interval([0.5]) is None
    assert mean_interval([0.4, 0.4, 0.4]) == pytest.approx((0.4, 0.4))


def test_a_mean_score_reads_with_its_interval_and_no_percent_sign():
    from evaluation.report.metric_refs import format_metric

    value = {"mean": 0.4325, "n": 4, "ci_low": 0.087929, "ci_high": 0.777071, "method": "t"}
    assert format_metric("moh1.rss_composite_12m", value) == "0.43 (95 % CI 0.09–0.78)"
