"""publish.dominance: hand-worked (n, k) and minimum-contributor decisions."""

from evaluation.publish.dominance import check_amounts


def test_two_large_contributors_dominate():
    # 5 contributors: 4000 + 4000 of 8400 = 95.2 % > 85 %
    c = check_amounts([4000, 4000, 100, 200, 100])
    assert not c.safe and "largest" in c.reason
    assert round(c.top_share, 3) == 0.952


def test_spread_amounts_pass():
    # top two 300 + 250 of 1250 = 44 %
    c = check_amounts([300, 250, 200, 250, 250])
    assert c.safe and round(c.top_share, 2) == 0.44


def test_too_few_contributors_fail_even_when_spread():
    c = check_amounts([100, 100, 100, 100], threshold=5)
    assert not c.safe and c.contributors == 4 and "fewer than 5" in c.reason


def test_zero_and_missing_amounts_are_not_contributors():
    c = check_amounts([0, float("nan"), 500, 500, 500, 500, 500])
    assert c.contributors == 5 and c.safe
