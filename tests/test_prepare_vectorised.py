"""The vectorised validation and pseudonymisation give what the per-row ways gave (issue 16)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

import numpy as np
import pandas as pd
import pytest

from evaluation.data import crosscheck, pseudonymise
from evaluation.data.membership import member, positions
from evaluation.data.rule_base import first_per_client, lookup
from evaluation.data.rules_cutoff import _latest_project

KEYS = [b"k" * 16, b"0123456789abcdef" * 4, b"a-key-longer-than-one-sha256-block-" * 3]


def _per_row(value: object, key: bytes) -> str:
    """The pseudonym as first specified: HMAC-SHA256 with the standard library, per value."""
    return "p_" + hmac.new(key, str(value).encode("utf-8"), hashlib.sha256).hexdigest()[:16]


@pytest.mark.parametrize("key", KEYS)
def test_hmac_of_many_messages_matches_the_standard_library(key: bytes) -> None:
    messages = [b"", b"C001", "é-ü".encode(), b"x" * 64, b"y" * 200]
    got = pseudonymise.hmac_sha256_many(messages, key)
    assert got == b"".join(hmac.digest(key, m, "sha256") for m in messages)


def test_pseudonymising_unique_ids_once_gives_the_per_row_mapping() -> None:
    key = KEYS[2]
    tables = {
        "clients": pd.DataFrame({"client_id": pd.Series(["C1", "C2", "C3"], dtype="str")}),
        "enrolments": pd.DataFrame(
            {
                "enrolment_id": pd.array(["E1", "E2", None, "E1"], dtype="str"),
                "client_id": pd.array(["C2", "C2", "C1", None], dtype="str"),
            },
            index=[2, 3, 4, 5],
        ),
    }
    out = pseudonymise.pseudonymise(tables, key)
    for name, df in tables.items():
        for col in df.columns:
            expected = [None if pd.isna(v) else _per_row(v, key) for v in df[col]]
            got = [None if pd.isna(v) else v for v in out[name][col]]
            assert got == expected, (name, col)
            assert out[name][col].index.equals(df.index)
    # the same client in two tables gets the same pseudonym, so the tables still join
    assert out["enrolments"]["client_id"].iloc[0] == out["clients"]["client_id"].iloc[1]
    assert tables["clients"]["client_id"].iloc[0] == "C1"  # the input is left untouched


def test_non_text_ids_are_hashed_as_their_text() -> None:
    got = pseudonymise.pseudonymise_series(pd.Series([1001, None, 7.5], dtype=object), KEYS[0])
    assert got.iloc[0] == _per_row(1001, KEYS[0]) and got.iloc[2] == _per_row(7.5, KEYS[0])
    assert pd.isna(got.iloc[1])


def test_the_second_process_hashes_exactly_what_this_one_would(monkeypatch) -> None:
    ids = pd.Series([f"S{i:05d}" for i in range(300)] + [None, "S00001"], dtype="str")
    monkeypatch.setattr(pseudonymise, "_PARALLEL_FROM", 2)  # force the two-process path
    got = pseudonymise.pseudonymise_series(ids, KEYS[1])
    expected = [None if pd.isna(v) else _per_row(v, KEYS[1]) for v in ids.tolist()]
    assert [None if pd.isna(v) else v for v in got] == expected


def test_positions_and_member_agree_with_map_and_isin_worked_by_hand() -> None:
    keys = pd.Series(["b", None, "z", "a"], dtype="str", index=[10, 11, 12, 13])
    index = pd.Index(["a", "b", None], dtype="str")
    # b is at 1, the missing key finds the missing index value at 2 (as Series.map does),
    # z is absent, a is at 0
    assert positions(keys, index).tolist() == [1, 2, -1, 0]
    values = pd.Series([1.0, 2.0, 3.0], index=index)
    pd.testing.assert_series_equal(lookup(keys, values), keys.map(values))
    # members: b and a; the missing value never is (missing keys are ignored)
    assert member(keys, index).tolist() == [True, False, False, True]
    cats = pd.CategoricalDtype(pd.Index(["a", "b", "z"], dtype="str"))
    as_cat = keys.astype(cats)
    assert member(as_cat, index.astype(cats)).tolist() == [True, False, False, True]
    assert positions(as_cat, index.astype(cats)).tolist() == [1, 2, -1, 0]


def test_lookup_keeps_map_semantics_for_dates_and_categoricals() -> None:
    enr = pd.DataFrame(
        {
            "enrolment_id": pd.Series(["E1", "E2"], dtype="str"),
            "client_id": pd.Series(["C1", "C1"], dtype="str"),
            "enrolment_date": pd.to_datetime(["2016-01-01", "2016-02-01"]).astype("M8[ns]"),
        }
    )
    sessions = pd.DataFrame({"enrolment_id": pd.Series(["E2", "E9", None], dtype="str")})
    by_id = enr.set_index("enrolment_id")["enrolment_date"]
    expected = sessions["enrolment_id"].map(by_id)
    pd.testing.assert_series_equal(lookup(sessions["enrolment_id"], by_id), expected)
    coded = crosscheck.encode_ids({"enrolments": enr, "sessions": sessions})
    got = lookup(
        coded["sessions"]["enrolment_id"],
        coded["enrolments"].set_index("enrolment_id")["enrolment_date"],
    )
    assert got.tolist() == expected.tolist()  # [2016-02-01, NaT, NaT]
    # the shared categories keep every value (as text) and the missing ones
    assert coded["sessions"]["enrolment_id"].astype(object).tolist() == ["E2", "E9", np.nan]


def test_first_date_per_client_on_codes_equals_the_groupby_on_text() -> None:
    records = pd.DataFrame(
        {
            "client_id": pd.Series(["C2", "C1", "C2", None, "C3"], dtype="str"),
            "d": pd.to_datetime(["2016-05-01", "2016-03-01", "2016-04-01", "2016-01-01", None]),
        }
    )
    coded = crosscheck.encode_ids({"support": records})["support"]
    got = first_per_client(coded, "d")
    # C2's earliest is 2016-04-01; C1 has one date; C3 none; the row without a client is left out
    assert dict(zip(got.index.astype(str), got.astype(str), strict=True)) == {
        "C2": "2016-04-01",
        "C1": "2016-03-01",
    }


def _sorted_latest(enr: pd.DataFrame, cutoffs: dict) -> pd.Series:
    """The per-client latest project as it was computed before: a sort on the cut-offs."""
    rank = {p: c for p, (c, _) in cutoffs.items()}
    return (
        enr.dropna(subset=["client_id", "project"])
        .assign(_c=lambda e: e["project"].map(rank))
        .sort_values("_c", na_position="first")
        .drop_duplicates("client_id", keep="last")
        .set_index("client_id")["project"]
    )


def test_latest_project_per_client_needs_no_sort_when_the_tie_cannot_matter() -> None:
    enr = pd.DataFrame(
        {
            "client_id": pd.Series(["C1", "C1", "C2", "C3", "C3", None], dtype="str"),
            "project": pd.Series(["ENH", "MOH1", "MOH1", "XYZ", "ENH", "ENH"], dtype="str"),
        }
    )
    late, early = dt.date(2016, 12, 31), dt.date(2016, 9, 30)
    cutoffs = {
        "*": (dt.date(2020, 12, 31), "data.cutoff"),
        "ENH": (late, "projects[ENH].cutoff"),
        "MOH1": (early, "projects[MOH1].cutoff"),
    }
    got = _latest_project(enr, cutoffs)
    # C1: ENH has the later cut-off; C2 only MOH1; C3: XYZ has none configured, so ENH
    assert got.to_dict() == {"C1": "ENH", "C2": "MOH1", "C3": "ENH"}
    assert got.to_dict() == _sorted_latest(enr, cutoffs).to_dict()
    # ENH and MOH1 on one cut-off set by two settings: the tie is broken as the sort did
    tied = {**cutoffs, "MOH1": (late, "projects[MOH1].cutoff")}
    assert _latest_project(enr, tied).to_dict() == _sorted_latest(enr, tied).to_dict()


def test_a_record_after_the_cutoff_of_the_clients_latest_project_worked_by_hand() -> None:
    enrolments = pd.DataFrame(
        {
            "enrolment_id": pd.array(["E1", "E2", "E3"], dtype="str"),
            "client_id": pd.array(["C1", "C1", "C2"], dtype="str"),
            "project": pd.array(["ENH", "MOH1", "MOH1"], dtype="str"),
            "enrolment_date": pd.to_datetime(["2016-01-01", "2016-02-01", "2016-03-01"]),
        },
        index=[2, 3, 4],
    )
    support = pd.DataFrame(
        {
            "client_id": pd.array(["C1", "C2", "C3"], dtype="str"),
            "support_date": pd.to_datetime(["2016-10-10"] * 3),
        },
        index=[2, 3, 4],
    )
    cutoffs = {
        "*": (dt.date(2020, 12, 31), "data.cutoff"),
        "ENH": (dt.date(2016, 12, 31), "projects[ENH].cutoff"),
        "MOH1": (dt.date(2016, 9, 30), "projects[MOH1].cutoff"),
    }
    tables = {"enrolments": enrolments, "support": support}
    files = {"enrolments": "enrolments.csv", "support": "support.csv"}
    found = [
        (p.table, p.row, p.message)
        for p in crosscheck.run_rules(tables, files, periods=None, cutoff=cutoffs)
        if p.rule == "on_or_before_cutoff"
    ]
    # C1's latest project is ENH (cut-off 2016-12-31): fine; C2 only has MOH1 (2016-09-30);
    # C3 has no enrolment, so the general cut-off applies: fine
    assert found == [
        (
            "support",
            3,
            "support.csv row 3, column support_date: 2016-10-10 is after the data cut-off "
            "2016-09-30 (set as projects[MOH1].cutoff in evaluation.yml); an event after the "
            "cut-off cannot be known yet (a typing error, or set a later cut-off)",
        )
    ]
