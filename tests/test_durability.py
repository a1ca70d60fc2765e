"""Durability of reintegration: each test checks a value worked out by hand on data made for it."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from evaluation.analysis import (
    attrition,
    monitoring_windows,
    remigration,
    response_weights,
    rss_scores,
    trajectories,
)
from evaluation.analysis.rates import Z95
from evaluation.analysis.time_axis import DAYS_PER_MONTH

DAY0 = pd.Timestamp("2017-01-10")


def _returnees(ids: list[str], **cols: list) -> pd.DataFrame:
    base = {
        "client_id": ids,
        "departure_date": [DAY0] * len(ids),
        "country": ["NGA"] * len(ids),
        "sex": ["male"] * len(ids),
        "age_band": ["30-44"] * len(ids),
        "main_support": ["none"] * len(ids),
    }
    base.update(cols)
    return pd.DataFrame(base)


def _contact(
    cid: str,
    window: str,
    reached: bool,
    status: str | None = None,
    reason=None,
    days: int | None = None,
    scores=(np.nan, np.nan, np.nan),
) -> dict:
    days = monitoring_windows.WINDOW_MONTHS[window] * 30 if days is None else days
    return {
        "contact_id": f"{cid}-{window}",
        "client_id": cid,
        "window": window,
        "contact_date": DAY0 + pd.Timedelta(days=days),
        "reached": reached,
        "not_reached_reason": None if reached else (reason or "no_answer"),
        "residence_status": status if reached else None,
        "rss_economic": scores[0],
        "rss_social": scores[1],
        "rss_psychosocial": scores[2],
    }


# --- Kaplan–Meier -----------------------------------------------------------------------------


def test_kaplan_meier_matches_hand_table() -> None:
    # 8 subjects; a tie of two events and one censoring at t=2; censorings at 3 and 5.
    time = [1, 2, 2, 2, 3, 4, 5, 6]
    event = [1, 1, 1, 0, 0, 1, 0, 1]
    # By hand: t=1 r=8 d=1 S=7/8; t=2 r=7 d=2 S=7/8*5/7=5/8; t=4 r=3 d=1 S=5/8*2/3=5/12;
    # t=6 r=1 d=1 S=0.
    km = remigration.kaplan_meier(time, event)
    assert km["time"].tolist() == [0, 1, 2, 4, 6]
    assert km["n_risk"].tolist() == [8, 8, 7, 3, 1]
    assert km["n_events"].tolist() == [0, 1, 2, 1, 1]
    np.testing.assert_allclose(km["survival"], [1, 7 / 8, 5 / 8, 5 / 12, 0])
    # Greenwood at t=2: S^2 * (1/(8*7) + 2/(7*5)).
    se2 = (5 / 8) * math.sqrt(1 / 56 + 2 / 35)
    assert km.loc[2, "se"] == pytest.approx(se2)
    # log(-log) interval at t=1: S^exp(±z se / (S |log S|)) with se = sqrt(S(1-S)/8).
    s, se = 7 / 8, math.sqrt(7 / 8 * 1 / 8 / 8)
    h = Z95 * se / (s * abs(math.log(s)))
    assert km.loc[1, "ci_low"] == pytest.approx(s ** math.exp(h))
    assert km.loc[1, "ci_high"] == pytest.approx(s ** math.exp(-h))
    assert remigration.numbers_at_risk(time, [0, 2, 3, 5, 7]) == [8, 7, 4, 2, 0]


def test_remigration_times_event_at_first_remigration_else_last_confirmed_stay() -> None:
    ret = _returnees(["a", "b", "c"])
    mon = pd.DataFrame(
        [
            _contact("a", "arrival", True, "in_country_of_return", days=0),
            _contact("a", "m3", True, "in_country_of_return", days=91),
            _contact("a", "m6", True, "re_migrated", days=183),
            _contact("a", "m12", True, "re_migrated", days=365),
            _contact("b", "arrival", True, "in_country_of_return", days=2),
            _contact("b", "m1", True, "in_country_of_return", days=30),
            _contact("b", "m3", False),
            _contact("c", "arrival", False),  # never confirmed: left out
        ]
    )
    fol = monitoring_windows.follow_up(mon, ret)
    t = remigration.remigration_times(fol, ret, time_scale="contact").set_index("client_id")
    assert t.loc["a", "event"] == 1
    assert t.loc["a", "time"] == pytest.approx(183 / DAYS_PER_MONTH)
    assert t.loc["b", "event"] == 0
    assert t.loc["b", "time"] == pytest.approx(30 / DAYS_PER_MONTH)
    assert not t.loc["c", "included"]
    w = remigration.remigration_times(fol, ret).set_index("client_id")  # nominal window months
    assert (w.loc["a", "time"], w.loc["b", "time"]) == (6.0, 1.0)


def test_km_by_group_skips_small_cells() -> None:
    times = pd.DataFrame(
        {
            "client_id": list("abcdefg"),
            "country": ["NGA"] * 5 + ["ETH"] * 2,
            "main_support": ["cash"] * 7,
            "time": [1.0, 2, 3, 4, 5, 1, 2],
            "event": [1, 0, 1, 0, 0, 1, 0],
            "included": [True] * 7,
        }
    )
    km, notes = remigration.km_by_group(times, "country", min_cell=5)
    assert set(km["group"]) == {"NGA"}
    assert notes == ["ETH"]
    # NGA: t=1 r=5 -> 4/5; t=3 r=3 -> 4/5*2/3.
    assert km["survival"].iloc[-1] == pytest.approx(4 / 5 * 2 / 3)


# --- Bounds and completeness ------------------------------------------------------------------


def _bounds_data() -> tuple[pd.DataFrame, pd.DataFrame]:
    ids = ["s1", "s2", "r1", "nr", "norec", "unk", "left6", "late"]
    ret = _returnees(ids)
    ret.loc[ret["client_id"] == "late", "departure_date"] = pd.Timestamp("2020-06-01")
    mon = pd.DataFrame(
        [
            _contact("s1", "m12", True, "in_country_of_return"),
            _contact("s2", "m12", True, "in_country_of_return"),
            _contact("r1", "m12", True, "re_migrated"),
            _contact("nr", "m12", False, reason="phone_disconnected"),
            # norec: no m12 row at all
            _contact("unk", "m12", True, "unknown"),
            _contact("left6", "m6", True, "re_migrated"),
            _contact("left6", "m12", False, reason="moved_unknown"),
            # late: departed 2020-06-01, m12 after the cut-off, no row: not due
        ]
    )
    return mon, ret


def test_three_bounds_by_counting() -> None:
    mon, ret = _bounds_data()
    fol = monitoring_windows.follow_up(mon, ret, cutoff=dt.date(2020, 12, 31))
    b = attrition.durability_bounds(fol, "m12")
    # Due: 7 (late excluded). Stayed 2; re-migrated r1 and left6 (carried forward) = 2;
    # unknown: nr, norec, unk = 3.
    assert (b.due, b.stayed, b.re_migrated, b.unknown, b.carried_forward) == (7, 2, 2, 3, 1)
    assert (b.complete.n, b.complete.N) == (2, 4)
    assert (b.worst.n, b.worst.N) == (2, 7)
    assert (b.best.n, b.best.N) == (5, 7)
    assert b.worst.estimate <= b.complete.estimate <= b.best.estimate
    assert attrition.staying(fol, "m12").estimate == pytest.approx(0.5)

    plain = attrition.durability_bounds(
        monitoring_windows.follow_up(mon, ret, carry_forward_remigration=False), "m12"
    )
    # Without carrying forward, left6 is unknown, and 'late' (no cut-off given) is lost.
    assert (plain.complete.n, plain.complete.N) == (2, 3)
    assert (plain.worst.n, plain.worst.N) == (2, 8)
    assert (plain.best.n, plain.best.N) == (7, 8)


def test_completeness_matrix_by_counting() -> None:
    mon, ret = _bounds_data()
    fol = monitoring_windows.follow_up(mon, ret, cutoff=dt.date(2020, 12, 31))
    c = attrition.completeness_matrix(fol).set_index("window")
    m12 = c.loc["m12"]
    assert m12["due"] == 7 and m12["not_due"] == 1
    assert m12["reached"] == 4  # s1, s2, r1, unk
    assert m12["phone_disconnected"] == 1 and m12["moved_unknown"] == 1
    assert m12["no_record"] == 1  # norec
    assert m12["status_unknown"] == 1
    assert m12["share_reached"] == pytest.approx(4 / 7)
    m6 = c.loc["m6"]
    # At 6 months only left6 was reached; 'late' is due (2020-12-01 before the cut-off).
    assert (m6["due"], m6["reached"], m6["no_record"]) == (8, 1, 7)
    reasons = [*monitoring_windows.NOT_REACHED_REASONS, monitoring_windows.NO_RECORD, "reached"]
    assert (c[reasons].sum(axis=1) == c["due"]).all()


# --- Scores -----------------------------------------------------------------------------------


def _rss(tmp_path, weights=(2, 1, 1), require_all=True) -> rss_scores.RSSConfig:
    path = tmp_path / "rss.yaml"
    path.write_text(
        "version: test-1\nverified: false\n"
        f"weights: {{economic: {weights[0]}, social: {weights[1]}, psychosocial: {weights[2]}}}\n"
        f"require_all_dimensions: {str(require_all).lower()}\ncutoffs: [0.66, 0.33, 0.5]\n"
    )
    return rss_scores.load_rss_config(path)


def test_weighted_composite_by_hand(tmp_path) -> None:
    rss = _rss(tmp_path)
    assert rss.cutoffs == (0.33, 0.5, 0.66)
    f = pd.DataFrame(
        {
            "rss_economic": [0.6, 0.9, np.nan],
            "rss_social": [0.2, 0.3, 0.5],
            "rss_psychosocial": [0.4, 0.3, 0.7],
        }
    )
    comp = rss_scores.composite_scores(f, rss)["rss_composite"]
    # (2*0.6 + 0.2 + 0.4)/4 = 0.45; (1.8 + 0.3 + 0.3)/4 = 0.6; missing economic -> missing.
    assert comp.iloc[0] == pytest.approx(0.45)
    assert comp.iloc[1] == pytest.approx(0.6)
    assert np.isnan(comp.iloc[2])
    lenient = rss_scores.composite_scores(f, _rss(tmp_path, require_all=False))["rss_composite"]
    assert lenient.iloc[2] == pytest.approx((0.5 + 0.7) / 2)


def test_share_above_cutoffs_by_counting() -> None:
    scored = pd.DataFrame(
        {"window": ["m12"] * 5 + ["m6"], "rss_composite": [0.2, 0.33, 0.5, 0.7, np.nan, 0.9]}
    )
    s = rss_scores.share_above(scored, (0.33, 0.5, 0.66)).set_index(["window", "cutoff"])
    assert tuple(s.loc[("m12", 0.33), ["n", "N"]]) == (3, 4)  # at or above: 0.33, 0.5, 0.7
    assert tuple(s.loc[("m12", 0.5), ["n", "N"]]) == (2, 4)
    assert tuple(s.loc[("m12", 0.66), ["n", "N"]]) == (1, 4)
    assert tuple(s.loc[("m6", 0.66), ["n", "N"]]) == (1, 1)
    assert s.loc[("arrival", 0.5), "N"] == 0


def test_committed_rss_config_is_flagged_unverified() -> None:
    rss = rss_scores.load_rss_config()
    assert rss.verified is False
    assert rss.cutoffs == (0.33, 0.5, 0.66)
    assert rss.version and any("MEASURE" in s for s in rss.sources)
    assert sum(rss.normalised_weights.values()) == pytest.approx(1.0)


# --- IPW --------------------------------------------------------------------------------------


def test_ipw_with_saturated_model_equals_cell_weighting() -> None:
    # 10 women: 6 with known residence (4 stayed); 50 men: 40 known (20 stayed).
    rows, fol_rows = [], []
    for sex, n, known, stayed in (("female", 10, 6, 4), ("male", 50, 40, 20)):
        for i in range(n):
            cid = f"{sex}{i}"
            rows.append(cid)
            outcome = (
                monitoring_windows.STAYED
                if i < stayed
                else monitoring_windows.REMIGRATED
                if i < known
                else monitoring_windows.LOST
            )
            fol_rows.append({"client_id": cid, "sex": sex, "outcome": outcome})
    ret = _returnees(rows, sex=[r["sex"] for r in fol_rows])
    fol = pd.DataFrame(fol_rows).drop(columns="sex").assign(window="m12", response="reached")
    r = response_weights.ipw_durability(
        fol, ret, "m12", covariates=("sex",), min_responders=1, min_nonresponders=1
    )
    # Weights 1/0.6 and 1/0.8: (4/0.6 + 20/0.8) / (6/0.6 + 40/0.8).
    expected = (4 / 0.6 + 20 / 0.8) / (6 / 0.6 + 40 / 0.8)
    assert r.done
    assert r.estimate == pytest.approx(expected, abs=1e-6)
    assert r.estimate == pytest.approx(10 / 60 * 4 / 6 + 50 / 60 * 20 / 40, abs=1e-6)
    assert r.max_weight == pytest.approx(1 / 0.6, abs=1e-6)
    assert r.ci_low < r.estimate < r.ci_high
    small = response_weights.ipw_durability(fol, ret, "m12", covariates=("sex",))
    assert not small.done and "46" in small.reason and "14" in small.reason


# --- Trajectories -----------------------------------------------------------------------------


def test_mixedlm_on_balanced_data_recovers_mean_change() -> None:
    rng = np.random.default_rng(7)
    rows = []
    for i in range(12):
        base = rng.normal(0.5, 0.1)
        for w, shift in (("arrival", 0.0), ("m6", 0.05), ("m12", 0.12)):
            rows.append(
                {
                    "client_id": f"c{i}",
                    "window": w,
                    "rss_composite": base + shift + rng.normal(0, 0.03),
                }
            )
    scored = pd.DataFrame(rows)
    t = trajectories.trajectory_model(scored)
    assert t.method == "mixedlm"
    means = scored.groupby("window")["rss_composite"].mean()
    got = t.table.set_index("window")["change"]
    # Balanced design: the GLS fixed effect equals the difference of window means.
    assert got["m6"] == pytest.approx(means["m6"] - means["arrival"], abs=1e-6)
    assert got["m12"] == pytest.approx(means["m12"] - means["arrival"], abs=1e-6)


def test_trajectory_falls_back_with_reason_when_too_few() -> None:
    scored = pd.DataFrame(
        {
            "client_id": ["a", "a", "b"],
            "window": ["arrival", "m6", "arrival"],
            "rss_composite": [0.4, 0.5, 0.6],
        }
    )
    t = trajectories.trajectory_model(scored)
    assert t.method == "descriptive" and "1 returnees" in t.message
    assert t.table.set_index("window").loc["arrival", "mean"] == pytest.approx(0.5)


# --- Who counts as a returnee -----------------------------------------------------------------


def test_returnees_are_verified_departures_linked_to_the_project() -> None:
    clients = pd.DataFrame(
        {
            "client_id": ["a", "b", "c", "d", "e"],
            "sex": ["male", "female", "male", "male", "female"],
            "birth_year": [1980, 1990, 1970, 1985, None],
            "country_of_return": ["NGA", "ETH", "IRQ", "GIN", "ARM"],
            "household_size": [1, 2, 3, 1, 1],
        }
    )
    enrolments = pd.DataFrame(
        {
            "enrolment_id": ["e1", "e2", "e3", "e4", "e5"],
            "client_id": list("abcde"),
            "project": ["MOH1", "MOH1", "MOH1", "MOH2", "MOH1"],
        }
    )
    departures = pd.DataFrame(
        {
            "departure_id": ["d1", "d2", "d3", "d4", "d5"],
            "client_id": list("abcde"),
            "enrolment_id": ["e1", "e2", "e3", "e4", "e5"],
            "departure_date": ["2017-01-01"] * 5,
            "departure_type": [
                "independent_verified",
                "independent_verified",
                "forced",
                "independent_verified",
                "independent_verified",
            ],
            "verification": [
                "iom_confirmed",
                "unverified",
                "dtv_verified",
                "dtv_verified",
                "partner_confirmed",
            ],
            "destination": ["NGA", "ETH", "IRQ", "GIN", None],
        }
    )
    support = pd.DataFrame(
        {
            "client_id": ["a", "a", "a"],
            "support_type": ["cash", "housing", "education"],
            "amount_eur": [500.0, 1500.0, 1500.0],
            "support_date": ["2017-02-01", "2017-03-01", "2017-02-15"],
        }
    )
    tables = {
        "clients": clients,
        "enrolments": enrolments,
        "departures": departures,
        "support": support,
    }
    r = monitoring_windows.returnees(tables, "MOH1").set_index("client_id")
    assert sorted(r.index) == ["a", "e"]  # b unverified, c forced, d other project
    assert r.loc["a", "main_support"] == "education"  # tie on amount: the earlier one
    assert r.loc["e", "main_support"] == "none"
    assert r.loc["e", "country"] == "ARM"  # no destination: planned country of return
    assert r.loc["a", "age_band"] == "30-44" and r.loc["e", "age_band"] == "unknown"


def test_trajectory_model_fits_every_returnee():
    import numpy as np
    import pandas as pd

    from evaluation.analysis.trajectories import trajectory_model

    rng = np.random.default_rng(1)
    ids = np.repeat([f"r{i:03d}" for i in range(60)], 2)
    window = np.tile(["arrival", "m12"], 60)
    level = np.repeat(rng.normal(0.5, 0.05, 60), 2)
    y = level + np.where(window == "m12", 0.1, 0.0) + rng.normal(0, 0.01, 120)
    scored = pd.DataFrame({"client_id": ids, "window": window, "rss_composite": y})
    t = trajectory_model(scored)
    assert t.n_returnees == 60 and "sample" not in t.message and "60 returnees" in t.message
    # every returnee scored twice: the change is the mean of the 60 differences
    change = t.table.set_index("window").loc["m12", "change"]
    assert change == pytest.approx(np.mean(y[1::2] - y[::2]), abs=1e-12)
