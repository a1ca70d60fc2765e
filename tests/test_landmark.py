"""Re-migration by support type without immortal time: the landmark of analysis_plan.yaml.

Two hand-built groups of returnees share the same fate (2 of 10 re-migrate at 1 month, 2 at
6 months, 6 stay to 12 months). Group A gets cash at departure, and housing (a larger amount)
5 months later — only those still in the country can receive it. Grouping by the main support
ever received puts A's early leavers under 'cash' and its survivors under 'housing', which then
looks more durable than B's business support (75 % against 61 %). Grouped by the support
received by the landmark and followed from it, both types stay at 75 %. Every expected value
is a Kaplan–Meier product worked out by hand.
"""

from __future__ import annotations

import pandas as pd
import pytest
from scipy.stats import binomtest

from evaluation.analysis import durability as D
from evaluation.analysis import monitoring_windows, remigration
from evaluation.analysis.plan import load_plan
from evaluation.report import durability_text

DAY0 = pd.Timestamp("2017-01-10")
PLAN = load_plan()
STAYED, LEFT = "in_country_of_return", "re_migrated"
# fate → residence recorded at each window reached (later windows: not reached)
FATES = {
    "left_m1": [("arrival", STAYED), ("m1", LEFT)],
    "left_m6": [("arrival", STAYED), ("m1", STAYED), ("m3", STAYED), ("m6", LEFT)],
    "stayed": [(w, STAYED) for w in ("arrival", "m1", "m3", "m6", "m12")],
    "lost_after_m1": [("arrival", STAYED), ("m1", STAYED)],
    "lost_after_m3": [("arrival", STAYED), ("m1", STAYED), ("m3", STAYED)],
}
GROUP = ["left_m1"] * 2 + ["left_m6"] * 2 + ["stayed"] * 6


def _tables() -> dict[str, pd.DataFrame]:
    people = [(f"a{k}", f, "A") for k, f in enumerate([*GROUP, "lost_after_m3"])]
    people += [(f"b{k}", f, "B") for k, f in enumerate([*GROUP, "lost_after_m1"])]
    support, monitoring = [], []
    for cid, fate, group in people:
        if group == "A":
            support.append((cid, "cash", 500.0, DAY0))
            if fate in ("left_m6", "stayed"):  # still in the country at day 150
                support.append((cid, "housing", 1500.0, DAY0 + pd.Timedelta(days=150)))
        else:
            support.append((cid, "business", 1000.0, DAY0 + pd.Timedelta(days=30)))
        reached = dict(FATES[fate])
        for w, months in monitoring_windows.WINDOW_MONTHS.items():
            monitoring.append(
                {
                    "contact_id": f"{cid}-{w}",
                    "client_id": cid,
                    "window": w,
                    "contact_date": DAY0 + pd.Timedelta(days=30 * months),
                    "reached": w in reached,
                    "not_reached_reason": None if w in reached else "no_answer",
                    "residence_status": reached.get(w),
                    "rss_economic": None,
                    "rss_social": None,
                    "rss_psychosocial": None,
                }
            )
    ids = [p[0] for p in people]
    return {
        "clients": pd.DataFrame(
            {
                "client_id": ids,
                "sex": "male",
                "birth_year": 1980,
                "country_of_return": "NGA",
                "household_size": 1,
            }
        ),
        "enrolments": pd.DataFrame(
            {"enrolment_id": [f"e_{c}" for c in ids], "client_id": ids, "project": "MOH1"}
        ),
        "departures": pd.DataFrame(
            {
                "departure_id": [f"d_{c}" for c in ids],
                "client_id": ids,
                "enrolment_id": [f"e_{c}" for c in ids],
                "departure_date": DAY0,
                "departure_type": "independent_verified",
                "verification": "dtv_verified",
                "destination": "NGA",
            }
        ),
        "support": pd.DataFrame(
            support, columns=["client_id", "support_type", "amount_eur", "support_date"]
        ),
        "monitoring": pd.DataFrame(monitoring),
    }


def _end_survival(km: pd.DataFrame) -> dict[str, float]:
    return km.groupby("group")["survival"].last().to_dict()


def test_naive_grouping_by_later_support_is_biased():
    t = _tables()
    ret = monitoring_windows.returnees(t, "MOH1")
    times = remigration.remigration_times(monitoring_windows.follow_up(t["monitoring"], ret), ret)
    naive, _ = remigration.km_by_group(times, "main_support", min_cell=1)
    # housing: A's 8 still there at day 150 (2 leave at 6 months, one lost after m3 has no
    # housing): 6/8; business: B's 11 (2 leave at 1, one censored at 1, 2 leave at 6):
    # 9/11 · 6/8; cash: A's two early leavers and the one lost after m3: 1/3 · ... = 0 at 1.
    assert _end_survival(naive)["housing"] == pytest.approx(6 / 8)
    assert _end_survival(naive)["business"] == pytest.approx(9 / 11 * 6 / 8)
    assert _end_survival(naive)["cash"] == pytest.approx(1 / 3)


def test_landmark_groups_by_support_received_by_then_and_follows_from_it():
    landmark = PLAN.durability.landmark_months
    assert landmark == 3  # the hand computation below is for the plan's 3 months
    a = D.analyse(_tables(), "MOH1", min_cell=1, **PLAN.durability.analysis_options)
    lm = a.landmark
    # 4 re-migrated at 1 month (2 per group), b's one lost after m1: censored before the
    # landmark; a's one lost after m3 is still in the country at it (followed 0 months)
    assert (lm.months, lm.remigrated_before, lm.censored_before, lm.excluded) == (3, 4, 1, 5)
    assert len(lm.times) == 17
    # by the landmark A had cash only (housing came at day 150), B business (day 30)
    groups = lm.times.groupby("main_support")["client_id"].apply(lambda s: sorted(s.str[0]))
    assert groups.to_dict() == {"business": ["b"] * 8, "cash": ["a"] * 9}
    km = a.km_support
    # from the landmark: both lose 2 of 8 at risk 3 months later (6 − 3): 6/8 each — no bias
    assert _end_survival(km) == pytest.approx({"business": 6 / 8, "cash": 6 / 8})
    assert km.loc[km["time"] == 3, "n_risk"].tolist() == [8, 8]
    assert set(km["n_group"]) == {8, 9}
    text = durability_text.describe_support_landmark(a)
    assert "3 months after return" in text and "5 of the returnees" in text
    assert "17 are followed from it" in text


def test_landmark_default_reads_the_plan():
    a = D.analyse(_tables(), "MOH1", min_cell=1)
    assert a.landmark.months == PLAN.durability.landmark_months
    assert D.metrics(a)["moh1.support_landmark"] == {
        "landmark_months": 3.0,
        "followed": 17,
        "excluded": 5,
    }
    strict = D.analyse(_tables(), "MOH1", min_cell=1, threshold=6)
    assert D.metrics(strict)["moh1.support_landmark"]["excluded"] is None  # 5 < 6: withheld


def test_no_event_bound_uses_the_level_it_is_given():
    t = _tables()
    # nobody re-migrates: every returnee stays to 12 months
    keep = t["monitoring"]["client_id"].str.startswith("a")
    mon = t["monitoring"].loc[keep].copy()
    mon["reached"] = True
    mon["residence_status"] = STAYED
    mon["not_reached_reason"] = None
    t["monitoring"] = mon
    a = D.analyse(t, "MOH1", min_cell=1, threshold=1)
    text = durability_text.describe_survival(a, 0.90)
    # 11 followed to 12 months, no event: exact one-sided 90 % lower bound = two-sided 80 %
    low = binomtest(11, 11).proportion_ci(confidence_level=0.80, method="exact").low
    assert f"at least {100 * low:.0f} %" in text
    assert "one-sided 90 % exact bound; no event among 11 followed" in text
