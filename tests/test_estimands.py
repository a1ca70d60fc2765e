"""The primary estimands of analysis_plan.yaml on hand-built records with known answers.

Every expected value is worked out here by hand or by a second method (binomial variance,
scipy's exact binomial interval, a plain-Python Aalen–Johansen loop), never by calling the
module under test for its own answer.
"""

from __future__ import annotations

import dataclasses
import math
from types import SimpleNamespace

import pandas as pd
import pytest
from scipy.stats import binomtest, norm

from evaluation.analysis import attrition, contrasts, estimands, monitoring_windows, sensitivity
from evaluation.analysis.bounds import no_event_bound
from evaluation.analysis.plan import load_plan
from evaluation.analysis.rates import wilson
from evaluation.report import estimand_text
from evaluation.report import summary as sm

DPM = 365.25 / 12
ENDS = {"MOH1": pd.Timestamp("2018-03-31").date(), "MOH2": pd.Timestamp("2020-10-31").date()}
CUTOFF = pd.Timestamp("2020-12-31").date()
PLAN = load_plan()


def _tables(people: list[dict]) -> dict[str, pd.DataFrame]:
    """people: client, project, enrol, exit, reason, dep (verified departure date, linked)."""
    enr, dep = [], []
    for i, p in enumerate(people):
        eid = f"e{i}"
        enr.append(
            {
                "enrolment_id": eid,
                "client_id": p["client"],
                "project": p["project"],
                "support_point": "sp01",
                "intake_route": "coa",
                "enrolment_date": p["enrol"],
                "reintegration_plan_date": None,
                "exit_date": p.get("exit"),
                "exit_reason": p.get("reason"),
            }
        )
        if p.get("dep"):
            dep.append(
                {
                    "departure_id": f"d{i}",
                    "client_id": p["client"],
                    "enrolment_id": eid,
                    "departure_date": p["dep"],
                    "departure_type": "independent_verified",
                    "verification": "dtv_verified",
                }
            )
    clients = pd.DataFrame(
        {
            "client_id": sorted({p["client"] for p in people}),
            "sex": "male",
            "birth_year": 1980,
            "years_in_nl": 5.0,
            "household_size": 1,
            "country_of_return": "IRQ",
        }
    )
    cols = ["departure_id", "client_id", "enrolment_id", "departure_date", "departure_type"]
    return {
        "clients": clients,
        "enrolments": pd.DataFrame(enr),
        "departures": pd.DataFrame(dep, columns=[*cols, "verification"]),
    }


HAND = [
    # MOH1: return after 60 days; withdrawal after 31 days; a late enrolment followed 30 days
    {"client": "a1", "project": "MOH1", "enrol": "2016-01-01", "dep": "2016-03-01",
     "exit": "2016-03-01", "reason": "returned"},
    {"client": "a2", "project": "MOH1", "enrol": "2016-01-01", "exit": "2016-02-01",
     "reason": "withdrew"},
    {"client": "a3", "project": "MOH1", "enrol": "2018-03-01"},
    # carry-over: MOH1 until its end, then MOH2 where they return
    {"client": "c1", "project": "MOH1", "enrol": "2017-06-01", "exit": "2018-03-31",
     "reason": "project_end"},
    {"client": "c1", "project": "MOH2", "enrol": "2018-04-10", "dep": "2018-05-01",
     "exit": "2018-05-01", "reason": "returned"},
    # MOH2: enrolled a month before the project ended; a return; lost contact; a return after
    # the start of COVID-19 travel restrictions
    {"client": "b1", "project": "MOH2", "enrol": "2020-10-01"},
    {"client": "b2", "project": "MOH2", "enrol": "2019-01-01", "dep": "2019-02-15",
     "exit": "2019-02-15", "reason": "returned"},
    {"client": "b3", "project": "MOH2", "enrol": "2019-01-01", "exit": "2019-03-01",
     "reason": "lost_contact"},
    {"client": "b4", "project": "MOH2", "enrol": "2020-01-01", "dep": "2020-06-01",
     "exit": "2020-06-01", "reason": "returned"},
]  # fmt: skip


def _by_client(t: pd.DataFrame) -> dict[str, tuple]:
    return {
        r.client_id: (r.project, round(r.time * DPM), int(r.status), round(r.potential * DPM))
        for r in t.itertuples()
    }


def test_each_person_once_from_first_enrolment_censored_where_follow_up_ends():
    t = estimands.person_times(_tables(HAND), ENDS, CUTOFF, PLAN.return_)
    # (project, days followed, status, days of potential follow-up), counted by hand
    assert _by_client(t) == {
        "a1": ("MOH1", 60, 1, 820),  # 2016-01-01 → 2018-03-31 is 820 days
        "a2": ("MOH1", 31, 2, 820),  # withdrawal is competing, as the plan declares
        "a3": ("MOH1", 30, 0, 30),  # late enrolment: censored at project end, not a non-return
        "c1": ("MOH1", 303, 0, 303),  # carry-over: once, in MOH1, from 2017-06-01
        "b1": ("MOH2", 30, 0, 30),
        "b2": ("MOH2", 45, 1, 669),
        "b3": ("MOH2", 59, 2, 669),  # lost contact treated alike with withdrawal
        "b4": ("MOH2", 152, 1, 304),
    }
    assert set(t.loc[t["carry_over"], "client_id"]) == {"c1"}


def test_sensitivity_choices_change_exactly_the_people_they_concern():
    tables = _tables(HAND)
    alt = _by_client(
        estimands.person_times(tables, ENDS, CUTOFF, PLAN.return_, withdrawal="censored")
    )
    assert alt["a2"] == ("MOH1", 31, 0, 820) and alt["b3"] == ("MOH2", 59, 0, 669)
    out = estimands.person_times(tables, ENDS, CUTOFF, PLAN.return_, carry_over="exclude")
    assert "c1" not in set(out["client_id"]) and len(out) == 7
    covid = _by_client(
        estimands.person_times(
            tables, ENDS, CUTOFF, PLAN.return_, censor_at=pd.Timestamp("2020-03-15").date()
        )
    )
    assert covid["b4"] == ("MOH2", 74, 0, 74)  # 2020-01-01 → 2020-03-15, censored
    assert covid["b1"] == ("MOH2", 0, 0, 0)  # enrolled after the restrictions: no follow-up


def _aalen_johansen(time, status, horizon):
    """Plain-Python Aalen–Johansen incidence of status 1 at a horizon (independent check)."""
    data = sorted(zip(time, status, strict=True))
    surv, inc, i, n = 1.0, 0.0, 0, len(data)
    while i < n and data[i][0] <= horizon:
        t = data[i][0]
        same = [s for tt, s in data if tt == t]
        at_risk = sum(1 for tt, _ in data if tt >= t)
        d1, d_all = same.count(1), sum(1 for s in same if s >= 1)
        inc += surv * d1 / at_risk
        surv *= 1 - d_all / at_risk
        i += len(same)
    return inc


def test_difference_without_censoring_matches_the_binomial_interval():
    # No censoring: the Aalen–Johansen incidence is the plain share, its variance p(1−p)/N.
    rows = []
    for proj, n_ev, n_comp, N in (("MOH1", 12, 8, 40), ("MOH2", 24, 6, 50)):
        for k in range(N):
            status = 1 if k < n_ev else 2 if k < n_ev + n_comp else 0
            rows.append({"project": proj, "client_id": f"{proj}{k}", "status": status,
                         "time": 1.0 + (k % 5) if status else 30.0})  # fmt: skip
    t = pd.DataFrame(rows)
    d = contrasts.cif_difference(t, "MOH1", "MOH2", 6, PLAN.inference)
    p1, p2 = 12 / 40, 24 / 50
    se = math.sqrt(p1 * (1 - p1) / 40 + p2 * (1 - p2) / 50)
    z = norm.ppf(0.975)
    assert d.estimate == pytest.approx(p2 - p1)
    assert d.ci_low == pytest.approx(p2 - p1 - z * se, abs=1e-9)
    assert d.ci_high == pytest.approx(p2 - p1 + z * se, abs=1e-9)
    # TOST at ±10 points, by hand with scipy's normal
    m = PLAN.inference.equivalence_margin
    tost = max(norm.sf((p2 - p1 + m) / se), norm.cdf((p2 - p1 - m) / se))
    assert d.tost_p == pytest.approx(tost) and not d.equivalent
    # the detectable rise has the power it claims (binomial variance at the alternative)
    up = d.mdd_up
    v = p1 * (1 - p1) / 40 + (p1 + up) * (1 - p1 - up) / 50
    assert norm.cdf(up / math.sqrt(v) - z) == pytest.approx(0.8, abs=1e-6)
    down = d.mdd_down
    v = p1 * (1 - p1) / 40 + (p1 - down) * (1 - p1 + down) / 50
    assert norm.cdf(down / math.sqrt(v) - z) == pytest.approx(0.8, abs=1e-6)


def test_late_enrolments_are_censored_not_counted_as_non_returners():
    # 10 early enrolments, 4 return by month 2; 10 enrolled a month before the end, none can
    # reach 6 months. Crude share 4/20 = 20 %; the incidence at 6 months is 4/10 = 40 %.
    rows = [{"project": "MOH1", "client_id": f"e{k}", "time": 2.0 if k < 4 else 24.0,
             "status": 1 if k < 4 else 0} for k in range(10)]  # fmt: skip
    rows += [{"project": "MOH1", "client_id": f"l{k}", "time": 1.0 + k / 20, "status": 0}
             for k in range(10)]  # fmt: skip
    t = pd.DataFrame(rows)
    ci = contrasts.cumulative_incidence(t["time"], t["status"])
    assert ci.at(6).estimate == pytest.approx(_aalen_johansen(t["time"], t["status"], 6))
    assert ci.at(6).estimate == pytest.approx(0.4)


def test_bootstrap_interval_agrees_with_the_variance_formula():
    rows = []
    for k in range(120):
        s = 1 if k % 3 == 0 else 2 if k % 3 == 1 else 0
        rows.append({"project": "A" if k < 60 else "B", "client_id": str(k), "status": s,
                     "time": 0.5 + (k * 7 % 23) / 2})  # fmt: skip
    t = pd.DataFrame(rows)
    boot = dataclasses.replace(PLAN.inference, interval_method="bootstrap", bootstrap_samples=300)
    a = contrasts.cif_difference(t, "A", "B", 6, PLAN.inference)
    b = contrasts.cif_difference(t, "A", "B", 6, boot)
    assert b.estimate == a.estimate
    assert b.se == pytest.approx(a.se, rel=0.2)  # second method, same answer within noise
    assert contrasts.cif_difference(t, "A", "B", 6, boot).se == b.se  # seeded


def test_overlapping_groups_are_refused():
    t = pd.DataFrame({"project": ["A", "B"], "client_id": ["x", "x"], "time": [1.0, 2.0],
                      "status": [1, 1]})  # fmt: skip
    with pytest.raises(ValueError, match="share persons"):
        contrasts.cif_difference(t, "A", "B", 6, PLAN.inference)


def test_no_events_give_a_one_sided_exact_bound():
    b = no_event_bound(20, 0.95)
    exact = binomtest(20, 20).proportion_ci(confidence_level=0.90, method="exact").low
    assert b.lower == pytest.approx(exact)
    assert b.describe().startswith("at least 86 %")
    assert no_event_bound(0) is None


def _returnees(rows):
    r = pd.DataFrame(rows, columns=["client_id", "departure_date"])
    r["departure_date"] = pd.to_datetime(r["departure_date"])
    return r


def _monitoring(rows):
    cols = ["client_id", "window", "contact_date", "reached", "not_reached_reason",
            "residence_status", "rss_economic", "rss_social", "rss_psychosocial"]  # fmt: skip
    return pd.DataFrame(rows, columns=cols)


def test_grace_period_and_deaths_in_durability_denominators():
    ret = _returnees([("r1", "2019-12-20"), ("r2", "2019-06-01"), ("r3", "2019-06-01")])
    mon = _monitoring(
        [
            ("r2", "m3", "2019-09-01", False, "deceased", None, None, None, None),
            ("r3", "m12", "2020-06-01", True, None, "in_country_of_return", 0.5, 0.5, 0.5),
        ]
    )
    cutoff = pd.Timestamp("2020-12-31").date()
    # r1's 12-month window fell due on 2020-12-19, 12 days before the cut-off
    plain = monitoring_windows.follow_up(mon, ret, cutoff=cutoff)
    b = attrition.durability_bounds(plain, "m12")
    assert (b.due, b.stayed, b.unknown) == (3, 1, 2)  # r1 lost, r2 (dead) lost
    planned = monitoring_windows.follow_up(
        mon, ret, cutoff=cutoff, grace_days=60, deaths_leave=True
    )
    b = attrition.durability_bounds(planned, "m12")
    assert (b.due, b.stayed, b.unknown) == (1, 1, 0)  # r1 not yet due, r2 left the denominator
    r2 = planned[planned["client_id"] == "r2"].set_index("window")["response"]
    assert r2[["m3", "m6", "m12"]].tolist() == ["died"] * 3 and r2["arrival"] == "no_record"


def test_tipping_point_by_hand():
    # 10 stayed, 2 re-migrated, 10 unknown of 22 due: (20 − k)/22 < 50 % needs k = 10
    t = sensitivity.tipping_point(10, 10, 22, 0.5)
    assert t.k == 10 and t.share(10) == pytest.approx(10 / 22)
    assert sensitivity.tipping_point(18, 10, 30, 0.5).k is None  # 18/30 ≥ 50 % even if all left


PLANTED = [
    # MOH1: 20 of 40 return one month after enrolment; MOH2: 20 of 40 return after a year.
    *[{"client": f"m1_{k}", "project": "MOH1", "enrol": "2016-01-01",
       "dep": "2016-02-01" if k < 20 else None, "exit": "2016-02-01" if k < 20 else "2018-03-31",
       "reason": "returned" if k < 20 else "project_end"} for k in range(40)],
    *[{"client": f"m2_{k}", "project": "MOH2", "enrol": "2018-05-01",
       "dep": "2019-05-01" if k < 20 else None, "exit": "2019-05-01" if k < 20 else "2020-10-31",
       "reason": "returned" if k < 20 else "project_end"} for k in range(40)],
]  # fmt: skip


def test_summary_reports_a_clear_six_month_difference_when_crude_rates_are_equal():
    tables = _tables(PLANTED)
    cfg = SimpleNamespace(
        cutoff=CUTOFF,
        projects=[SimpleNamespace(id=p, kind="return", end=e) for p, e in ENDS.items()],
    )
    heads = [sm.Headline(p, "return", wilson(20, 40)) for p in ENDS]  # equal crude shares
    diffs = sm.comparisons(tables, [("MOH1", "MOH2")], PLAN.return_.carry_over)
    assert diffs[0][2].estimate == 0  # 20 of 40 in each, every person in one project
    cif = sm.primary_contrasts(tables, cfg, PLAN)
    six = next(d for d in cif if d.horizon == 6)
    # by hand: 50 % vs 0 % at 6 months; se = sqrt(.25/40) from MOH1 alone (MOH2 has no event)
    se = math.sqrt(0.25 / 40)
    assert six.estimate == pytest.approx(-0.5)
    assert six.ci_low == pytest.approx(-0.5 - norm.ppf(0.975) * se)
    text = sm.conclusions(heads, diffs, 5, cif, PLAN)
    assert "no difference" not in text.lower() and "do not show" not in text
    assert "−50.0 percentage points" in text and "lower in MOH2" in text
    assert "6 months after first enrolment" in text


def test_equivalence_is_claimed_only_by_tost():
    rows = [{"project": p, "client_id": f"{p}{k}", "time": 1.0, "status": int(k % 2 == 0)}
            for p in ("A", "B") for k in range(2000)]  # fmt: skip
    t = pd.DataFrame(rows)
    plan = dataclasses.replace(PLAN, contrasts=())
    d = contrasts.cif_difference(t, "A", "B", 6, PLAN.inference)
    assert d.equivalent and "can be called equivalent" in estimand_text.contrast_sentence(d, plan)
    small = t[t["client_id"].str[1:].astype(int) < 20]
    d = contrasts.cif_difference(small, "A", "B", 6, PLAN.inference)
    text = estimand_text.contrast_sentence(d, plan)
    assert not d.equivalent and "neither show a difference nor rule one out" in text


def test_persons_computed_once_give_the_same_person_times():
    tables = _tables(HAND)
    people = estimands.persons(tables["enrolments"], list(ENDS))
    # by hand: c1 enrolled in MOH1 (2017-06-01) and later MOH2, so carried, first in MOH1
    assert set(people.carried) == {"c1"} and people.first["c1"] == "MOH1"
    for opts in ({}, {"carry_over": "exclude"}, {"withdrawal": "censored"}):
        pd.testing.assert_frame_equal(
            estimands.person_times(tables, ENDS, CUTOFF, PLAN.return_, people=people, **opts),
            estimands.person_times(tables, ENDS, CUTOFF, PLAN.return_, **opts),
        )
    other = estimands.persons(tables["enrolments"], ["MOH1"])
    with pytest.raises(ValueError, match="persons of"):
        estimands.person_times(tables, ENDS, CUTOFF, PLAN.return_, people=other)
