"""The durability analysis on integer codes (issue 16) gives what the joins on string ids gave:
each fast path is checked against the plain pandas computation on seeded data with the awkward
cases (duplicates, missing ids, unsorted returnees, windows outside the plan)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evaluation.analysis import efficiency, landmark, monitoring_windows, remigration
from evaluation.analysis.keyed_codes import left_join_unique

RNG = np.random.default_rng(16)
WINDOWS = list(monitoring_windows.WINDOWS)


def _ids(n: int, prefix: str = "c") -> list[str]:
    return [f"{prefix}{i:04d}" for i in range(n)]


def test_left_join_unique_is_the_merge_on_every_path():
    clients = pd.DataFrame(
        {
            "client_id": pd.Series(_ids(50), dtype="str"),
            "sex": pd.Series(RNG.choice(["f", "m", None], 50), dtype="str"),
            "birth_year": pd.array(RNG.integers(1950, 2000, 50), dtype="Int64"),
        }
    )
    cases = {
        "primary key": pd.Series(["c0003", "c0049", "c0003", "c0010"], dtype="str"),
        "a key without a row": pd.Series(["c0003", "zzz"], dtype="str"),
        "a missing key": pd.Series(["c0003", None], dtype="str"),
        "object keys": pd.Series(["c0003", "c0010"], dtype=object),
    }
    for name, keys in cases.items():
        left = pd.DataFrame({"client_id": keys, "n": np.arange(len(keys))}, index=keys.index + 7)
        right = clients.astype({"client_id": keys.dtype})
        got = left_join_unique(left, right, "client_id")
        pd.testing.assert_frame_equal(got, left.merge(right, on="client_id", how="left"), obj=name)
    doubled = pd.concat([clients, clients.iloc[[3]]], ignore_index=True)  # c0003 twice
    left = pd.DataFrame({"client_id": pd.Series(["c0003", "c0004"], dtype="str")})
    got = left_join_unique(left, doubled, "client_id")
    assert got["client_id"].tolist() == ["c0003", "c0003", "c0004"]  # the merge's three rows


def _monitoring(ids: list[str], n: int) -> pd.DataFrame:
    reached = RNG.random(n) < 0.7
    status = RNG.choice(["in_country_of_return", "re_migrated", None], n)
    return pd.DataFrame(
        {
            "client_id": pd.Series(RNG.choice(ids + ["other", None], n), dtype="str"),
            "window": pd.Series(RNG.choice(WINDOWS + ["m24"], n), dtype="str"),
            "contact_date": pd.Timestamp("2019-01-01")
            + pd.to_timedelta(RNG.integers(0, 500, n), "D"),
            "reached": reached,
            "not_reached_reason": pd.Series(
                np.where(reached, None, RNG.choice(["no_answer", "refused"], n)), dtype="str"
            ),
            "residence_status": pd.Series(np.where(reached, status, None), dtype="str"),
            "rss_economic": RNG.random(n),
            "rss_social": RNG.random(n),
            "rss_psychosocial": RNG.random(n),
        }
    )


def _returnees(ids: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "client_id": pd.Series(ids, dtype="str"),
            "departure_date": pd.Timestamp("2018-06-01")
            + pd.to_timedelta(RNG.integers(0, 400, len(ids)), "D"),
            "country": pd.Series(RNG.choice(["NGA", "GEO"], len(ids)), dtype="str"),
            "main_support": "none",
        }
    )


def test_follow_up_grid_is_the_two_column_join_sorted_by_client_and_window():
    ids = _ids(40)
    mon = _monitoring(ids, 260)  # duplicate contacts per window, strangers, a window m24
    for order in ("sorted", "shuffled"):
        ret = _returnees(ids if order == "sorted" else list(RNG.permutation(ids)))
        got = monitoring_windows.follow_up(mon, ret, cutoff=pd.Timestamp("2019-06-30").date())
        # second method: the join on (client_id, window) strings, then the stable sort
        grid = ret[["client_id", "departure_date"]].merge(
            pd.DataFrame({"window": WINDOWS}), how="cross"
        )
        cols = ["client_id", "window", "contact_date", "reached", "residence_status"]
        want = grid.merge(mon[cols], on=["client_id", "window"], how="left")
        want["w"] = pd.Categorical(want["window"], categories=WINDOWS, ordered=True)
        want = want.sort_values(["client_id", "w"], kind="stable").reset_index(drop=True)
        assert len(got) == len(want) > 5 * len(ids)  # duplicate contacts give extra rows
        assert got["client_id"].tolist() == want["client_id"].tolist()
        assert got["window"].tolist() == want["window"].tolist()
        assert got["contact_date"].equals(want["contact_date"])
        assert got["reached"].tolist() == want["reached"].fillna(False).astype(bool).tolist()
        months = want["window"].map(monitoring_windows.WINDOW_MONTHS)
        assert got["months"].tolist() == months.tolist()
        # stayed at 12 months without the grid (the efficiency ratios' stayers)
        stayed = got.loc[(got["window"] == "m12") & (got["outcome"] == "stayed"), "client_id"]
        quick = monitoring_windows.staying_at(mon, ret["client_id"], "m12")
        assert sorted(quick) == sorted(stayed) and len(quick) > 0


def test_remigration_times_and_main_support_match_string_groupings():
    ids = _ids(60)
    ret = _returnees(ids)
    fol = monitoring_windows.follow_up(_monitoring(ids, 400), ret)
    got = remigration.remigration_times(fol, ret).set_index("client_id")
    obs = fol[fol["reached"] & fol["outcome"].isin(["stayed", "re_migrated"])]
    obs = obs[~obs["carried_forward"]]
    first_left = obs[obs["outcome"] == "re_migrated"].groupby("client_id")["months"].min()
    last_seen = obs[obs["outcome"] == "stayed"].groupby("client_id")["months"].max()
    for cid in ids:
        event = cid in first_left.index
        assert got.loc[cid, "event"] == int(event)
        want = first_left.get(cid) if event else last_seen.get(cid, np.nan)
        assert np.isnan(got.loc[cid, "time"]) if pd.isna(want) else got.loc[cid, "time"] == want
    assert got["event"].sum() > 5 and got["included"].sum() > got["event"].sum()

    n = 300
    support = pd.DataFrame(
        {
            "client_id": pd.Series(RNG.choice(ids + ["other", None], n), dtype="str"),
            "support_type": pd.Series(RNG.choice(["cash", "housing", "medical"], n), dtype="str"),
            "amount_eur": np.where(RNG.random(n) < 0.2, np.nan, RNG.choice([100.0, 250.0], n)),
            "support_date": pd.Timestamp("2018-07-01")
            + pd.to_timedelta(RNG.integers(0, 30, n), "D"),
        }
    )
    main = monitoring_windows.main_support_type(support, ret["client_id"])
    s = support[support["client_id"].isin(ids)].assign(a=lambda d: d["amount_eur"].fillna(0.0))
    for cid in ids:
        rows = s[s["client_id"] == cid].sort_values(
            ["a", "support_date", "support_type"], ascending=[False, True, True], kind="stable"
        )
        assert main[cid] == (rows["support_type"].iloc[0] if len(rows) else "none")
    assert (main != "none").sum() > 30
    by = landmark.support_by_landmark(support, ret, 1.0)
    dep = ret.set_index("client_id")["departure_date"]
    limit = support["client_id"].map(dep) + pd.to_timedelta(1.0 * 365.25 / 12, "D")
    want = support[support["client_id"].isin(ids) & (support["support_date"] <= limit)]
    assert by.index.tolist() == want.index.tolist() and len(want) > 0


def test_efficiency_columns_are_enough_for_the_ratios():
    tables = {
        "enrolments": pd.DataFrame(
            {"enrolment_id": ["e1", "e2", "e3"], "project": ["MOH1", "MOH1", "MOH2"]}
        ),
        "departures": pd.DataFrame(
            {
                "client_id": ["a", "b", "c"],
                "enrolment_id": ["e1", "e2", "e3"],
                "departure_date": pd.to_datetime(["2019-01-01"] * 3),
                "departure_type": ["independent_verified"] * 3,
                "verification": ["document", "unverified", "document"],
            }
        ),
        "monitoring": pd.DataFrame(
            {
                "client_id": ["a", "b", "c"],
                "window": ["m12"] * 3,
                "reached": [True, True, True],
                "residence_status": ["in_country_of_return"] * 3,
            }
        ),
    }
    assert set(tables) | {"support"} == set(efficiency.COLUMNS)
    assert {k: list(v.columns) for k, v in tables.items()} == {
        k: efficiency.COLUMNS[k] for k in tables
    }
    # a is MOH1's only verified returnee (b's departure is unverified, c went with MOH2)
    ids = monitoring_windows.returnee_ids(tables, "MOH1")
    assert ids.tolist() == ["a"]
    assert monitoring_windows.staying_at(tables["monitoring"], ids, "m12").tolist() == ["a"]


def test_shared_codes_hash_path_equals_the_factorize_path():
    from evaluation.analysis.keyed_codes import shared_codes

    first = ["b", None, "a", "b", "c"]
    second = ["a", "z", None, "c", "b", "b"]
    arrow = shared_codes(pd.Series(first, dtype="str"), pd.Series(second, dtype="str"))
    plain = shared_codes(pd.Series(first, dtype=object), pd.Series(second, dtype=object))
    # by hand: first's distinct values b, a, c take 0, 1, 2; the missing value and z get -1
    assert arrow[0].tolist() == plain[0].tolist() == [0, -1, 1, 0, 2]
    assert arrow[1].tolist() == plain[1].tolist() == [1, -1, -1, 2, 0, 0]
    assert arrow[2] == plain[2] == 3


@pytest.mark.parametrize("kind", ["str", "category", "object"])
def test_stayed_means_reached_in_the_country_of_return(kind: str) -> None:
    status = pd.Series(["in_country_of_return", None, "re_migrated", "in_country_of_return"] * 2)
    reached = pd.Series([True, True, True, None, False, False, None, True], dtype="boolean")
    got = monitoring_windows.reached_in_country(reached, status.astype(kind))
    # by hand: only rows reached (True) with status in_country_of_return, i.e. rows 0 and 7
    assert got.tolist() == [True, False, False, False, False, False, False, True]
