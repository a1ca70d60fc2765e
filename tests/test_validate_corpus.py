"""A corpus of broken datasets, one flaw each: the report names the rule, the row and the column.

Each case starts from the small valid dataset in conftest_contract.py (which validates cleanly),
changes one thing, and states by hand where the flaw is: CSV row numbers count the header as
row 1, so the n-th data row (0-based) is row n + 2.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from conftest_contract import PERIODS, valid_csv, valid_frames, write_dataset

from evaluation.data.validate import validate_dataset

Frames = dict[str, pd.DataFrame]
CLIENT_IDS = ("C001", "C002", "C003", "C004", "C005", "C999")


def _set(table: str, row: int, column: str, value: str) -> Callable[[Frames], None]:
    def edit(frames: Frames) -> None:
        frames[table].loc[row, column] = value

    return edit


def _append(table: str, values: dict[str, str]) -> Callable[[Frames], None]:
    def edit(frames: Frames) -> None:
        df = frames[table]
        frames[table] = pd.concat([df, pd.DataFrame([values])], ignore_index=True).fillna("")

    return edit


def _drop_column(table: str, column: str) -> Callable[[Frames], None]:
    def edit(frames: Frames) -> None:
        frames[table] = frames[table].drop(columns=[column])

    return edit


# (id, edit of the frames, expected table, rule, row, column)
FRAME_CASES = [
    ("missing_column", _drop_column("clients", "sex"), "clients", "missing_column", None, "sex"),
    (
        "text_in_integer",
        _set("clients", 0, "household_size", "two"),
        "clients",
        "invalid_integer",
        2,
        "household_size",
    ),
    (
        "text_in_number",
        _set("clients", 1, "years_in_nl", "abc"),
        "clients",
        "invalid_number",
        3,
        "years_in_nl",
    ),
    (
        "fraction_in_integer",
        _set("clients", 2, "household_size", "2.5"),
        "clients",
        "invalid_integer",
        4,
        "household_size",
    ),
    (
        "unknown_code",
        _set("enrolments", 2, "intake_route", "walk_in"),
        "enrolments",
        "unknown_code",
        4,
        "intake_route",
    ),
    (
        "unknown_support_point",
        _set("enrolments", 3, "support_point", "sp22"),
        "enrolments",
        "unknown_code",
        5,
        "support_point",
    ),
    (
        "bad_iso_code",
        _set("clients", 0, "nationality", "NGR"),
        "clients",
        "unknown_code",
        2,
        "nationality",
    ),
    (
        "duplicate_id",
        _set("sessions", 4, "session_id", "S01"),
        "sessions",
        "duplicate_value",
        6,
        "session_id",
    ),
    (
        "invalid_date",
        _set("enrolments", 4, "enrolment_date", "2017-02-30"),
        "enrolments",
        "invalid_date",
        6,
        "enrolment_date",
    ),
    (
        "exit_before_enrolment",
        _set("enrolments", 1, "exit_date", "2016-03-01"),
        "enrolments",
        "exit_after_enrolment",
        3,
        "exit_date",
    ),
    (
        "date_outside_period",
        _set("enrolments", 0, "enrolment_date", "2015-09-30"),
        "enrolments",
        "enrolment_in_project_period",
        2,
        "enrolment_date",
    ),
    (
        "moh2_date_in_moh1_period",
        _set("enrolments", 3, "enrolment_date", "2018-03-01"),
        "enrolments",
        "enrolment_in_project_period",
        5,
        "enrolment_date",
    ),
    (
        "required_value_empty",
        _set("enrolments", 0, "project", ""),
        "enrolments",
        "required",
        2,
        "project",
    ),
    (
        "exit_reason_missing",
        _set("enrolments", 2, "exit_reason", ""),
        "enrolments",
        "exit_reason_when_exited",
        4,
        "exit_reason",
    ),
    (
        "not_a_boolean",
        _set("enrolments", 0, "consent_research", "maybe"),
        "enrolments",
        "invalid_boolean",
        2,
        "consent_research",
    ),
    (
        "birth_year_out_of_range",
        _set("clients", 3, "birth_year", "1900"),
        "clients",
        "out_of_range",
        5,
        "birth_year",
    ),
    (
        "negative_amount",
        _set("support", 0, "amount_eur", "-50"),
        "support",
        "out_of_range",
        2,
        "amount_eur",
    ),
    (
        "orphan_departure",
        _set("departures", 1, "client_id", "C999"),
        "departures",
        "departure_client_exists",
        3,
        "client_id",
    ),
    (
        "departure_enrolment_of_other_client",
        _set("departures", 0, "enrolment_id", "E06"),
        "departures",
        "departure_enrolment_same_client",
        2,
        "enrolment_id",
    ),
    (
        "departure_before_referral",
        _append(
            "departures",
            {
                "departure_id": "D04",
                "client_id": "C002",
                "departure_date": "2017-04-01",
                "departure_type": "without_supervision",
                "facilitated_by": "NONE",
                "verification": "unverified",
                "destination": "ETH",
            },
        ),
        "departures",
        "departure_after_referral",
        5,
        "departure_date",
    ),
    (
        "two_verified_departures",
        _append(
            "departures",
            {
                "departure_id": "D04",
                "client_id": "C001",
                "departure_date": "2016-12-01",
                "departure_type": "independent_verified",
                "facilitated_by": "IOM",
                "verification": "dtv_verified",
                "destination": "NGA",
            },
        ),
        "departures",
        "one_verified_departure_per_client",
        5,
        "client_id",
    ),
    (
        "orphan_referral",
        _set("referrals", 1, "enrolment_id", "E99"),
        "referrals",
        "referral_enrolment_exists",
        3,
        "enrolment_id",
    ),
    (
        "session_before_enrolment",
        _set("sessions", 0, "session_date", "2016-01-01"),
        "sessions",
        "session_after_enrolment",
        2,
        "session_date",
    ),
    (
        "support_without_departure",
        _append(
            "support",
            {
                "support_id": "SU04",
                "client_id": "C004",
                "support_type": "cash",
                "modality": "cash",
                "amount_eur": "100",
                "partner": "arm_partner",
                "support_date": "2018-01-01",
            },
        ),
        "support",
        "support_client_departed",
        5,
        "client_id",
    ),
    (
        "monitoring_before_departure",
        _set("monitoring", 0, "contact_date", "2016-08-01"),
        "monitoring",
        "monitoring_after_departure",
        2,
        "contact_date",
    ),
    (
        "monitoring_without_verified_departure",
        _append(
            "monitoring",
            {
                "contact_id": "M05",
                "client_id": "C003",
                "window": "arrival",
                "contact_date": "2019-02-01",
                "reached": "false",
                "not_reached_reason": "no_answer",
            },
        ),
        "monitoring",
        "monitoring_needs_verified_departure",
        6,
        "client_id",
    ),
    (
        "not_reached_without_reason",
        _set("monitoring", 1, "not_reached_reason", ""),
        "monitoring",
        "not_reached_reason_iff_not_reached",
        3,
        "not_reached_reason",
    ),
    (
        "outcome_when_not_reached",
        _set("monitoring", 1, "residence_status", "re_migrated"),
        "monitoring",
        "no_outcome_when_not_reached",
        3,
        "residence_status",
    ),
    (
        "rss_out_of_range",
        _set("monitoring", 2, "rss_social", "1.4"),
        "monitoring",
        "out_of_range",
        4,
        "rss_social",
    ),
    (
        "duplicate_client_window",
        _set("monitoring", 3, "window", "arrival"),
        "monitoring",
        "duplicate_combination",
        5,
        "client_id, window",
    ),
    (
        "bad_partner_code",
        _set("support", 2, "partner", "IRQ Partner"),
        "support",
        "pattern",
        4,
        "partner",
    ),
]


def _problems(folder: Path) -> tuple[list, object]:
    _, report = validate_dataset(folder, PERIODS)
    return report.errors, report


def _assert_no_client_ids(report) -> None:
    text = report.to_markdown() + json.dumps(report.to_dict())
    for cid in CLIENT_IDS:
        assert cid not in text, f"client id {cid} leaked into the report"


def test_valid_dataset_passes(tmp_path: Path) -> None:
    tables, report = validate_dataset(write_dataset(tmp_path), PERIODS)
    assert report.ok, report.to_markdown()
    assert report.problems == []
    assert report.row_counts == {
        "clients": 5,
        "enrolments": 6,
        "sessions": 5,
        "referrals": 2,
        "departures": 3,
        "support": 3,
        "monitoring": 4,
    }
    enr = tables["enrolments"]
    assert str(enr["enrolment_date"].dtype).startswith("datetime64")
    assert enr["consent_research"].dtype == bool
    assert enr["consent_research"].tolist() == [True, True, False, True, True, True]
    assert tables["support"]["amount_eur"].sum() == pytest.approx(2300.5)


@pytest.mark.parametrize(
    ("edit", "table", "rule", "row", "column"),
    [case[1:] for case in FRAME_CASES],
    ids=[case[0] for case in FRAME_CASES],
)
def test_broken_frame(tmp_path: Path, edit, table, rule, row, column) -> None:
    frames = valid_frames()
    edit(frames)
    errors, report = _problems(write_dataset(tmp_path, frames))
    assert not report.ok
    hits = [p for p in errors if (p.table, p.rule, p.row, p.column) == (table, rule, row, column)]
    assert hits, f"expected {rule} at {table} row {row} column {column}; got " + "; ".join(
        f"{p.table}/{p.rule}/{p.row}/{p.column}" for p in errors
    )
    assert {p.rule for p in errors} == {rule}, "one flaw should give one kind of problem"
    assert f"row {row}" in hits[0].message if row is not None else column in hits[0].message
    _assert_no_client_ids(report)


def test_invalid_date_message_quotes_value(tmp_path: Path) -> None:
    frames = valid_frames()
    frames["enrolments"].loc[4, "enrolment_date"] = "2017-02-30"
    errors, _ = _problems(write_dataset(tmp_path, frames))
    assert errors[0].message.startswith(
        "enrolments.csv row 6, column enrolment_date: 2017-02-30 is not a valid date"
    )
    assert errors[0].value == "2017-02-30"


def test_orphan_message_hides_client_id(tmp_path: Path) -> None:
    frames = valid_frames()
    frames["departures"].loc[1, "client_id"] = "C999"
    errors, _ = _problems(write_dataset(tmp_path, frames))
    assert errors[0].value is None
    assert (
        errors[0].message == "departures.csv row 3, column client_id: this client does not "
        "exist in clients"
    )


# ---- flaws in the files themselves


def _write_all(folder: Path, skip: str | None = None) -> dict[str, str]:
    texts = valid_csv()
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in texts.items():
        if name != skip:
            (folder / f"{name}.csv").write_text(text, encoding="utf-8")
    return texts


def test_empty_file(tmp_path: Path) -> None:
    _write_all(tmp_path, skip="support")
    (tmp_path / "support.csv").write_bytes(b"")
    errors, report = _problems(tmp_path)
    assert [(p.table, p.rule) for p in errors] == [("support", "empty_file")]
    assert "support.csv is empty" in errors[0].message
    assert "support" not in report.row_counts


def test_missing_table(tmp_path: Path) -> None:
    _write_all(tmp_path, skip="departures")
    errors, _ = _problems(tmp_path)
    # rules that need departures are skipped, not failed: only the missing file is reported
    assert [(p.table, p.rule) for p in errors] == [("departures", "missing_table")]


def test_wrong_delimiter(tmp_path: Path) -> None:
    texts = _write_all(tmp_path, skip="referrals")
    (tmp_path / "referrals.csv").write_text(texts["referrals"].replace(",", "\t"), "utf-8")
    errors, _ = _problems(tmp_path)
    assert [(p.table, p.rule, p.row) for p in errors] == [("referrals", "csv_delimiter", 1)]
    assert "tab" in errors[0].message


def test_wrong_encoding(tmp_path: Path) -> None:
    texts = _write_all(tmp_path, skip="clients")
    text = texts["clients"].replace("needs a quiet room", "café nearby")
    (tmp_path / "clients.csv").write_bytes(text.encode("cp1252"))
    errors, _ = _problems(tmp_path)
    assert [(p.table, p.rule, p.row) for p in errors] == [("clients", "encoding", 3)]


def test_extra_field_in_a_row(tmp_path: Path) -> None:
    texts = _write_all(tmp_path, skip="referrals")
    lines = texts["referrals"].splitlines()
    lines[2] += ",extra"
    (tmp_path / "referrals.csv").write_text("\n".join(lines) + "\n", "utf-8")
    errors, _ = _problems(tmp_path)
    assert [(p.table, p.rule, p.row) for p in errors] == [("referrals", "csv_field_count", 3)]


def test_header_not_on_first_row_of_excel_sheet(tmp_path: Path) -> None:
    import openpyxl

    _write_all(tmp_path, skip="clients")
    clients = valid_frames()["clients"]
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["Clients export VWN"])
    ws.append([])
    ws.append(list(clients.columns))
    for rec in clients.itertuples(index=False):
        ws.append([v if v != "" else None for v in rec])
    ws.cell(row=6, column=6, value="many")  # household_size of the third client (sheet row 6)
    book.save(tmp_path / "clients.xlsx")
    errors, report = _problems(tmp_path)
    got = sorted((p.rule, p.row, p.column) for p in errors)
    assert got == [("header_not_on_first_row", 3, None), ("invalid_integer", 6, "household_size")]
    assert report.row_counts["clients"] == 5


def test_unknown_file_is_only_a_warning(tmp_path: Path) -> None:
    _write_all(tmp_path)
    (tmp_path / "notes.txt").write_text("hello", "utf-8")
    _, report = validate_dataset(tmp_path, PERIODS)
    assert report.ok
    assert [(p.rule, p.severity) for p in report.problems] == [("unknown_file", "warning")]


def test_many_problems_are_counted_and_capped(tmp_path: Path) -> None:
    frames = valid_frames()
    sessions = frames["sessions"]
    many = pd.concat([sessions] * 6, ignore_index=True)
    many["session_id"] = [f"S{i:03d}" for i in range(len(many))]
    many["mode"] = "carrier_pigeon"
    frames["sessions"] = many
    _, report = _problems(write_dataset(tmp_path, frames))
    assert len(report.errors) == 30
    md = report.to_markdown()
    assert "| unknown_code | 30 |" in md
    assert "… and 10 more" in md
    assert md.count("carrier_pigeon is not one of the allowed codes") == 20
    md_path, json_path = report.write(tmp_path / "out")
    data = json.loads(json_path.read_text("utf-8"))
    assert data["ok"] is False and data["n_errors"] == 30 and len(data["problems"]) == 30
    assert md_path.read_text("utf-8") == md


def test_corpus_size() -> None:
    file_cases = 6  # empty, missing table, delimiter, encoding, field count, Excel header
    assert len(FRAME_CASES) + file_cases >= 25
