"""Funnel, chain, subgroups and return times on a small hand-made case file, counted by hand."""

import math

import pandas as pd
import pytest

from evaluation.analysis import conversion as cv
from evaluation.analysis import time_to_return
from evaluation.analysis.plan import load_plan
from evaluation.analysis.time_axis import DAYS_PER_MONTH
from evaluation.report import conversion_tables, conversion_text

D = pd.Timestamp


def tables() -> dict[str, pd.DataFrame]:
    clients = pd.DataFrame(
        {
            "client_id": ["c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8"],
            "sex": ["female", "male", "male", "female", "male", "male", "female", "male"],
            "birth_year": [1990, 1980, 1970, 1960, 2000, None, 1985, 1975],
            "country_of_return": ["NGA", "ETH", "GIN", "ARM", "IRQ", None, "NGA", "ETH"],
            "household_size": [1, 3, 4, 1, 2, 6, 1, 5],
            "years_in_nl": [1.5, 2.0, 10.0, 4.9, None, 7.0, 3.0, 12.0],
        }
    )
    enh = [("e1", "c1", "2016-01-10"), ("e2", "c2", "2016-01-10"), ("e3", "c3", "2016-06-30")]
    enh += [("e4", "c4", "2016-07-01"), ("e5", "c5", "2016-08-01"), ("e6", "c6", "2016-12-31")]
    rows = [(i, c, "ENH", d, None, None, None, "sp01") for i, c, d in enh]
    rows += [
        ("m1", "c1", "MOH1", "2016-03-01", "2016-04-01", "2016-07-01", "returned", "sp02"),
        ("m2", "c2", "MOH1", "2016-01-01", None, None, None, "sp02"),
        ("m7", "c7", "MOH1", "2016-05-01", "2016-06-01", None, None, "sp03"),
        ("m8", "c8", "MOH1", "2016-06-01", None, "2016-09-01", "residence_permit", "sp03"),
    ]
    enrolments = pd.DataFrame(
        rows,
        columns=[
            "enrolment_id",
            "client_id",
            "project",
            "enrolment_date",
            "reintegration_plan_date",
            "exit_date",
            "exit_reason",
            "support_point",
        ],
    )
    enrolments["intake_route"] = "self_referral"
    sessions = pd.DataFrame(
        {
            "session_id": ["s1", "s2", "s3", "s4", "s5"],
            "enrolment_id": ["e1", "e1", "e2", "e3", "e4"],
        }
    )
    referrals = pd.DataFrame(
        {
            "referral_id": ["r1", "r2", "r3", "r4", "r5"],
            "enrolment_id": ["e1", "e2", "e2", "e3", "e5"],
            "referral_date": ["2016-02-01", "2016-02-15", "2016-02-15", "2016-07-01", "2016-09-01"],
            "receiving_org": ["MOH", "MOH", "IOM", "ROS", "OTHER"],
            "status": ["accepted", "accepted", "sent", "sent", "declined"],
        }
    )
    departures = pd.DataFrame(
        {
            "departure_id": ["d1", "d2", "d3", "d4", "d5"],
            "client_id": ["c1", "c7", "c2", "c8", "c3"],
            "enrolment_id": ["m1", None, "m2", None, None],
            "departure_date": [
                "2016-07-01",
                "2016-08-01",
                "2016-05-01",
                "2016-08-15",
                "2016-12-01",
            ],
            "departure_type": [
                "independent_verified",
                "independent_verified",
                "without_supervision",
                "independent_verified",
                "independent_verified",
            ],
            "verification": [
                "dtv_verified",
                "iom_confirmed",
                "dtv_verified",
                "unverified",
                "partner_confirmed",
            ],
        }
    )
    return {
        "clients": clients,
        "enrolments": enrolments,
        "sessions": sessions,
        "referrals": referrals,
        "departures": departures,
    }


def wilson_closed(n: int, N: int, z: float = 1.959963984540054) -> tuple[float, float]:
    p = n / N
    centre = (2 * n + z**2) / (2 * (N + z**2))
    half = z * math.sqrt(z**2 + 4 * n * (1 - p)) / (2 * (N + z**2))
    return centre - half, centre + half


def test_enh_funnel_counts_by_hand():
    t = tables()
    frame = cv.client_frame(t, "ENH", kind="counselling")
    f = cv.funnel(frame, "ENH", kind="counselling").set_index("step")
    assert f.loc["Enrolled in ENH", "n"] == 6
    assert f.loc["Counselled (≥ 1 session)", ["n", "N"]].tolist() == [4, 6]
    assert f.loc["Referred to a return organisation", "n"] == 4  # c1, c2, c3, c5
    assert f.loc["  to MOH", "n"] == 2  # c1, c2
    assert f.loc["  to other organisations", "n"] == 3  # c2 (IOM), c3 (ROS), c5 (other)
    assert f.loc["    to IOM", "n"] == 1 and f.loc["    to ROS", "n"] == 1
    assert "    to Solid Road" not in f.index
    # Any verified departure after ENH enrolment counts for counselling: c1 and c3 (via ROS).
    assert f.loc["Returned (verified departure)", "n"] == 2
    low, high = wilson_closed(4, 6)
    row = f.loc["Counselled (≥ 1 session)"]
    assert row["ci_low"] == pytest.approx(low) and row["ci_high"] == pytest.approx(high)
    rates = cv.referral_rates(frame)
    assert (rates["any"].n, rates["moh"].n, rates["other"].n) == (4, 2, 3)
    text = conversion_text.referral_sentence("ENH", rates)
    assert text.startswith("Of the 6 clients enrolled in ENH, 4 were referred")
    assert "Referred to MOH: 33.3 % (95 % CI" in text and "2 of 6" in text


def test_moh_funnel_and_verified_return_definition():
    frame = cv.client_frame(tables(), "MOH1")
    f = cv.funnel(frame, "MOH1").set_index("step")
    assert f.loc["Enrolled in MOH1", "n"] == 4
    assert f.loc["Reintegration plan made", "n"] == 2  # m1, m7
    # c1 linked by enrolment_id; c7 in window without an id; c2 without supervision and
    # c8 unverified never count.
    assert f.loc["Returned (verified departure)", ["n", "N"]].tolist() == [2, 4]
    assert set(frame.loc[frame["returned"], "client_id"]) == {"c1", "c7"}


def test_cohorts_are_half_years():
    frame = cv.client_frame(tables(), "ENH", kind="counselling")
    assert frame.set_index("client_id")["cohort"].to_dict() == {
        "c1": "2016-H1",
        "c2": "2016-H1",
        "c3": "2016-H1",
        "c4": "2016-H2",
        "c5": "2016-H2",
        "c6": "2016-H2",
    }
    cf = cv.cohort_funnel(frame, "ENH", kind="counselling")
    counselled = cf.loc[cf["step"] == "Counselled (≥ 1 session)"].set_index("cohort")["n"]
    assert counselled.to_dict() == {"2016-H1": 3, "2016-H2": 1}


def test_chain_counts_linked_people_not_products():
    steps = cv.chain(tables(), targets=("MOH1",))
    assert steps[["n", "N"]].values.tolist() == [
        [2, 6],  # c1, c2 referred to MOH
        [1, 2],  # only c1 enrolled in MOH1 after the referral (c2 enrolled before it)
        [1, 1],  # c1 returned
        [1, 2],  # returned of all referred
    ]
    text = conversion_text.chain_sentence(steps, threshold=1)
    assert "2 ENH clients were referred to MOH" in text and "1 of 2 (50.0 %" in text
    assert "not products" in text
    assert "withheld" in conversion_text.chain_sentence(steps, threshold=5)
    shown, _ = conversion_tables.publishable_chain(steps, threshold=5)
    assert shown.loc[1, "n"] in ("<5", "x") and shown.loc[2, "N"] == "x"


def test_subgroup_bands_and_rates():
    frame = cv.client_frame(tables(), "MOH1", regions={"sp02": "North"})
    by = frame.set_index("client_id")
    assert by.loc["c1", "age_band"] == "18–29"  # 2016 - 1990 = 26
    assert by.loc["c1", "household_type"] == "single"
    assert by.loc["c2", "household_type"] == "couple or small (2–3)"
    assert by.loc["c8", "household_type"] == "family (4+)"
    assert by.loc["c1", "stay_band"] == "under 2 years"
    assert by.loc["c2", "stay_band"] == "2–4 years"
    assert by.loc["c8", "stay_band"] == "10+ years"
    assert by.loc["c1", "region"] == "North" and by.loc["c7", "region"] == "unknown"
    sub = cv.subgroup_rates(frame, "returned", ["sex", "region"]).set_index(["variable", "group"])
    assert sub.loc[("sex", "female"), ["n", "N"]].tolist() == [2, 2]
    assert sub.loc[("sex", "male"), ["n", "N"]].tolist() == [0, 2]
    assert sub.loc[("region", "North"), ["n", "N"]].tolist() == [1, 2]
    mf, left_out = cv.model_frame(frame)
    assert left_out == 0 and by.loc["c1", "age"] == 26
    assert mf.set_index("client_id").loc["c8", "age_10"] == pytest.approx(4.1)


def test_return_times_status_and_censoring():
    frame = cv.client_frame(tables(), "MOH1")
    rt = time_to_return.return_times(
        frame, load_plan().return_, end=D("2018-03-31").date(), cutoff=D("2017-01-01").date()
    )
    rt.index = frame["client_id"]
    m = DAYS_PER_MONTH
    assert rt.loc["c1", "status"] == 1 and rt.loc["c1", "time"] == pytest.approx(122 / m)
    assert rt.loc["c7", "status"] == 1 and rt.loc["c7", "time"] == pytest.approx(92 / m)
    assert rt.loc["c8", "status"] == 2 and rt.loc["c8", "cause"] == "residence_permit"
    assert rt.loc["c8", "time"] == pytest.approx(92 / m)
    # c2 still enrolled: censored at the earlier of project end and cut-off (366 days, leap year).
    assert rt.loc["c2", "status"] == 0 and rt.loc["c2", "time"] == pytest.approx(366 / m)
    assert time_to_return.data_cutoff(tables()) == D("2016-12-31").date()
    ex = time_to_return.exit_table(rt).set_index("cause")["n"]
    assert ex.to_dict() == {"returned": 2, "censored": 1, "residence_permit": 1}


def _exits_frame() -> pd.DataFrame:
    rows = [  # client, exit date, exit reason, verified departure date
        ("w", "2016-02-01", "withdrew", None),
        ("l", "2016-03-01", "lost_contact", None),
        ("x", "2016-02-15", "returned_other_org", None),
        ("r", "2016-04-10", "returned", "2016-04-10"),
        ("late", "2016-08-01", "returned", "2016-08-01"),  # after the cut-off
        ("o", "2016-05-01", "moved", None),
        ("e", None, None, None),  # still enrolled
    ]
    f = pd.DataFrame(rows, columns=["client_id", "exit_date", "exit_reason", "departure_date"])
    f["exit_date"] = pd.to_datetime(f["exit_date"])
    f["departure_date"] = pd.to_datetime(f["departure_date"])
    f["enrolment_date"] = D("2016-01-01")
    f["returned"] = f["departure_date"].notna()
    f["cohort"] = "2016-H1"
    return f


def test_return_times_handle_withdrawal_and_lost_contact_as_the_plan_declares():
    import dataclasses

    plan = load_plan().return_
    assert plan.withdrawal_handling == "competing"
    end, cutoff = D("2016-12-31").date(), D("2016-06-30").date()
    rt = time_to_return.return_times(_exits_frame(), plan, end=end, cutoff=cutoff)
    rt.index = _exits_frame()["client_id"]
    days = (rt["time"] * DAYS_PER_MONTH).round().astype(int)
    # days from 2016-01-01 (a leap year), counted by hand; follow-up ends at 2016-06-30
    assert days.to_dict() == {"w": 31, "l": 60, "x": 45, "r": 100, "late": 181, "o": 121, "e": 181}
    assert rt["status"].to_dict() == {"w": 2, "l": 2, "x": 2, "r": 1, "late": 0, "o": 0, "e": 0}
    assert (rt["potential"] * DAYS_PER_MONTH).round().eq(181).all()
    censored = dataclasses.replace(plan, withdrawal_handling="censored")
    alt = time_to_return.return_times(_exits_frame(), censored, end=end, cutoff=cutoff)[
        "status"
    ].tolist()
    assert alt == [0, 0, 2, 1, 0, 0, 0]  # withdrawal and lost contact alike, censored
    # counselling: a return through another organisation is never a competing exit
    enh = time_to_return.return_times(
        _exits_frame(), plan, end=end, cutoff=cutoff, kind="counselling"
    )
    assert enh["status"].tolist() == [2, 2, 0, 1, 0, 0, 0]
    text = conversion_text.exits_sentence(plan)
    assert "Withdrew and lost contact are handled alike, as competing" in text


def test_return_time_causes_by_hand_whatever_the_index_and_text_dtype():
    plan = load_plan().return_
    end, cutoff = D("2016-12-31").date(), D("2016-06-30").date()
    # returned, the competing exit's reason, else censored (the late return and "moved" too)
    by_hand = ["withdrew", "lost_contact", "returned_other_org", "returned", "censored",
               "censored", "censored"]  # fmt: skip
    frame = _exits_frame()
    frame.index = [3, 3, 1, 1, 0, 9, 9]  # repeated labels: the causes are matched by position
    for reasons in ("str", object):
        frame["exit_reason"] = frame["exit_reason"].astype(reasons)
        rt = time_to_return.return_times(frame, plan, end=end, cutoff=cutoff)
        assert rt["cause"].tolist() == by_hand
        assert rt["cause"].dtype == "str" and rt.index.tolist() == [3, 3, 1, 1, 0, 9, 9]
        assert time_to_return.exit_table(rt).set_index("cause")["n"].to_dict() == {
            "censored": 3, "lost_contact": 1, "returned": 1, "returned_other_org": 1,
            "withdrew": 1,
        }  # fmt: skip


def test_cohort_table_shows_potential_follow_up_and_withholds_small_cohorts():
    cohorts = pd.DataFrame({"cohort": ["2016-H1", "2016-H1", "2018-H1"], "step": ["a", "b", "a"]})
    follow = pd.DataFrame(
        {
            "project": "MOH1",
            "cohort": ["2016-H1", "2018-H1"],
            "N": [12, 3],
            "potential_min": [21.04, 0.5],
            "potential_median": [24.0, 1.0],
            "followable_6m": [12, 0],
        }
    )
    t = conversion_tables.cohort_table(cohorts, follow, 6, threshold=5)
    assert t.iloc[:, 2].tolist() == ["21.0–24.0", "21.0–24.0", "x"]
    assert t.iloc[:, 3].tolist() == ["12", "12", "x"]
    follow.loc[0, "followable_6m"] = 4  # a small count to the horizon in a large cohort
    saved = conversion_tables.publishable_follow_up(follow, threshold=5)
    assert saved.loc[0].tolist() == ["MOH1", "2016-H1", 12, 21.04, 24.0, "x"]
    assert saved.loc[1].tolist() == ["MOH1", "2018-H1", "x", "x", "x", "x"]


def test_publishable_subgroups_hide_small_counts():
    sub = pd.DataFrame(
        {
            "variable": "sex",
            "label": "Sex",
            "group": ["female", "male", "other"],
            "n": [12, 3, 6],
            "N": [40, 30, 9],
        }
    )
    sub["estimate"], sub["ci_low"], sub["ci_high"] = sub["n"] / sub["N"], 0.0, 1.0
    shown, legend = conversion_tables.publishable_subgroups(sub, threshold=5)
    rows = shown.set_index("group")
    assert rows.loc["female", "n"] == 12 and rows.loc["female", "rate"] == "30.0 %"
    assert rows.loc["male", "n"] == "<5" and rows.loc["male", "rate"] == "x"
    # 'other' has N - n = 3 < 5 (the 3 non-returners would be disclosed): withheld too.
    assert rows.loc["other", "n"] != 6 and rows.loc["other", "rate"] == "x"
    assert "fewer than 5" in legend
    # A table too small to protect is withheld as a whole rather than published.
    frame = cv.client_frame(tables(), "MOH1")
    tiny, _ = conversion_tables.publishable_subgroups(cv.subgroup_rates(frame, "returned", ["sex"]))
    assert len(tiny) == 1 and "withheld" in tiny["group"].iloc[0]


def test_cohort_headline_keeps_only_the_headline_steps():
    import pandas as pd

    from evaluation.analysis.conversion import cohort_headline

    cohorts = pd.DataFrame(
        {
            "cohort": ["2016-H1"] * 4 + ["2016-H2"] * 4,
            "step": ["Enrolled in MOH1", "Reintegration plan made", "Returned (verified departure)",
                     "Other"] * 2,
            "n": [10, 6, 4, 1, 12, 7, 5, 2],
        }
    )  # fmt: skip
    out = cohort_headline(cohorts, "return")
    assert out["n"].tolist() == [6, 4, 7, 5]
    assert set(out["step"]) == {"Reintegration plan made", "Returned (verified departure)"}
