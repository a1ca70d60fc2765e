"""Reading real exports (CSV dialects, Excel, Parquet, mapping.yaml) and pseudonymisation."""

from __future__ import annotations

import hashlib
import hmac
import os
import stat
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest_contract import PERIODS, valid_csv, valid_frames, write_dataset

from evaluation.data import pseudonymise
from evaluation.data import read as io
from evaluation.data.validate import validate_dataset
from evaluation.errors import ConfigError

KEY = "test-key-0123456789abcdef"


def test_semicolon_csv_with_bom_decimal_comma_and_dutch_dates(tmp_path: Path) -> None:
    for name, text in valid_csv().items():
        if name == "clients":
            text = text.replace(",", ";").replace("4.5", "4,5").replace("6.25", "6,25")
        if name == "enrolments":
            text = text.replace(",", ";").replace("2016-01-10", "10-01-2016")
        (tmp_path / f"{name}.csv").write_bytes(text.encode("utf-8-sig"))
    tables, report = validate_dataset(tmp_path, PERIODS)
    assert report.ok, report.to_markdown()
    assert tables["clients"]["years_in_nl"].tolist()[:3] == [4.5, 2.0, 6.25]
    assert tables["enrolments"]["enrolment_date"].iloc[0] == pd.Timestamp("2016-01-10")
    assert list(tables["clients"].columns)[0] == "client_id"  # BOM stripped from the header


def test_row_numbers_follow_the_file_with_blank_and_multiline_rows() -> None:
    text = 'a,b\n1,"two\nlines"\n\n3,x\n'
    path = Path(os.environ.get("TMPDIR", "/tmp")) / "rows_test.csv"
    path.write_text(text, "utf-8")
    raw, problems = io.read_csv(path, "t")
    assert problems == []
    # as a spreadsheet shows it: header row 1; record "1" is row 2 although its quoted cell
    # spans two lines; the blank line is row 3; record "3" is row 4
    assert raw.rows.tolist() == [2, 4]
    assert raw.frame["b"].tolist() == ["two\nlines", "x"]
    path.unlink()


def test_parquet_and_xlsx_read_like_csv(tmp_path: Path) -> None:
    csv_tables, _ = validate_dataset(write_dataset(tmp_path / "csv"), PERIODS)
    for fmt in ("parquet", "xlsx"):
        tables, report = validate_dataset(write_dataset(tmp_path / fmt, fmt=fmt), PERIODS)
        assert report.ok, report.to_markdown()
        for name, df in csv_tables.items():
            pd.testing.assert_frame_equal(tables[name], df, check_dtype=False)


def test_xlsx_rows_are_sheet_rows(tmp_path: Path) -> None:
    frames = valid_frames()
    frames["sessions"].loc[2, "mode"] = "telepathy"
    write_dataset(tmp_path, frames, fmt="xlsx")
    _, report = validate_dataset(tmp_path, PERIODS)
    assert [(p.table, p.row, p.column) for p in report.errors] == [("sessions", 4, "mode")]
    assert report.errors[0].message.startswith("sessions.xlsx row 4, column mode: telepathy")


def test_mapping_translates_file_headers_and_codes(tmp_path: Path) -> None:
    frames = valid_frames()
    clients = frames.pop("clients").rename(
        columns={"client_id": "Cliëntnummer", "nationality": "Nationaliteit"}
    )
    clients["Nationaliteit"] = clients["Nationaliteit"].replace({"NGA": "Nigeria"})
    clients["Postcode"] = "1234AB"
    write_dataset(tmp_path, frames)
    clients.to_excel(tmp_path / "Clienten.xlsx", index=False)
    (tmp_path / "mapping.yaml").write_text(
        "tables:\n  clients:\n    file: Clienten.xlsx\n"
        '    columns: {"Cliëntnummer": client_id, Nationaliteit: nationality}\n'
        "    codes: {nationality: {Nigeria: NGA}}\n",
        "utf-8",
    )
    tables, report = validate_dataset(tmp_path, PERIODS)
    assert report.ok, report.to_markdown()
    assert tables["clients"]["nationality"].iloc[0] == "NGA"
    assert "Postcode" not in tables["clients"].columns
    # an unmapped header is reported, never silently dropped
    assert [(p.rule, p.column, p.severity) for p in report.problems] == [
        ("unknown_column", "Postcode", "warning")
    ]


def test_unknown_code_is_not_silently_mapped(tmp_path: Path) -> None:
    frames = valid_frames()
    frames["clients"].loc[1, "nationality"] = "Ethiopia"
    write_dataset(tmp_path, frames)
    (tmp_path / "mapping.yaml").write_text(
        "tables:\n  clients:\n    codes: {nationality: {Nigeria: NGA}}\n", "utf-8"
    )
    _, report = validate_dataset(tmp_path, PERIODS)
    assert [(p.rule, p.row, p.value) for p in report.errors] == [("unknown_code", 3, "Ethiopia")]


def test_bad_mapping_is_a_config_error(tmp_path: Path) -> None:
    write_dataset(tmp_path)
    (tmp_path / "mapping.yaml").write_text("tables:\n  clients:\n    colums: {}\n", "utf-8")
    with pytest.raises(ConfigError, match="colums"):
        validate_dataset(tmp_path, PERIODS)


def test_missing_folder_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        validate_dataset(tmp_path / "nope", PERIODS)


# ---- pseudonymisation


def _expected(value: str, key: str = KEY) -> str:
    digest = hmac.new(key.encode(), value.encode(), hashlib.sha256).hexdigest()
    return "p_" + digest[:16]


def test_pseudonymise_hashes_ids_and_drops_sensitive_columns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(pseudonymise.ENV_KEY, KEY)
    tables, _ = validate_dataset(write_dataset(tmp_path), PERIODS)
    out = pseudonymise.pseudonymise(tables)
    assert out["clients"]["client_id"].tolist() == [_expected(f"C00{i}") for i in range(1, 6)]
    assert out["departures"]["client_id"].iloc[0] == _expected("C001")
    assert "medical_needs" not in out["clients"] and "vulnerability_note" not in out["clients"]
    assert "counsellor_note" not in out["sessions"]
    assert tables["clients"]["client_id"].iloc[0] == "C001"  # input left untouched
    nulls = pseudonymise.pseudonymise_series(pd.Series(["C001", None, "C001"]), KEY.encode())
    assert nulls.iloc[0] == nulls.iloc[2] == _expected("C001") and pd.isna(nulls.iloc[1])
    # ids join across tables after hashing exactly as before
    joined = out["enrolments"].merge(out["clients"], on="client_id")
    assert len(joined) == len(out["enrolments"])


def test_key_file_and_default_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(pseudonymise.ENV_KEY, raising=False)
    outside = tmp_path / "keys" / "k.txt"
    outside.parent.mkdir()
    outside.write_text("file-key-abcdefghijklmnop\n")
    monkeypatch.setenv(pseudonymise.ENV_KEY_FILE, str(outside))
    assert pseudonymise.load_key() == b"file-key-abcdefghijklmnop"

    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "k.key").write_text("in-repo-key-abcdefghijkl")
    monkeypatch.setenv(pseudonymise.ENV_KEY_FILE, str(repo / "k.key"))
    with pytest.raises(ConfigError, match="inside the repository"):
        pseudonymise.load_key()

    monkeypatch.delenv(pseudonymise.ENV_KEY_FILE)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    key = pseudonymise.load_key()
    path = tmp_path / "home" / ".config" / "evaluation" / "pseudonym.key"
    assert path.read_text().strip().encode() == key and len(key) == 64
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert pseudonymise.load_key() == key  # stable once created

    monkeypatch.setenv(pseudonymise.ENV_KEY, "short")
    with pytest.raises(ConfigError, match="shorter"):
        pseudonymise.load_key()


def test_pseudonyms_differ_by_key() -> None:
    ids = pd.Series(["C001", "C002"])
    a = pseudonymise.pseudonymise_series(ids, b"a" * 16)
    b = pseudonymise.pseudonymise_series(ids, b"b" * 16)
    assert not np.any(a.to_numpy() == b.to_numpy())
    assert all(len(v) == 18 and v.startswith("p_") for v in a)


def test_identifiers_grouped_in_the_background_give_the_same_report(
    tmp_path: Path, monkeypatch
) -> None:
    """prepare groups the identifiers in a thread while the cross-table rules run (validate's
    `typed` returns a function): the report is the one validation gives without it."""
    from evaluation.data import crosscheck

    frames = valid_frames()
    frames["clients"].loc[1, "client_id"] = frames["clients"].loc[0, "client_id"]  # repeated
    frames["sessions"].loc[2, "mode"] = "telepathy"  # a value outside the code list
    write_dataset(tmp_path, frames)
    _, alone = validate_dataset(tmp_path, PERIODS)
    # file rows 2 and 3 share an id; the enrolment on row 4 was the overwritten client's
    assert [(p.table, p.column, p.row, p.rule) for p in alone.errors] == [
        ("clients", "client_id", 2, "duplicate_value"),
        ("clients", "client_id", 3, "duplicate_value"),
        ("enrolments", "client_id", 4, "enrolment_client_exists"),
        ("sessions", "mode", 4, "unknown_code"),
    ]

    calls: list[str] = []
    run_rules = crosscheck.run_rules
    monkeypatch.setattr(
        crosscheck, "run_rules", lambda *a, **k: calls.append("rules") or run_rules(*a, **k)
    )

    def later(typed: dict) -> object:
        free = pseudonymise.unrepeated(pseudonymise.id_groups(typed))
        return lambda: calls.append("asked") or free

    _, background = validate_dataset(tmp_path, PERIODS, typed=later)
    assert calls == ["rules", "asked"]  # asked once, after the rules ran
    assert background.to_dict() == alone.to_dict()
    _, known = validate_dataset(
        tmp_path, PERIODS, typed=lambda t: pseudonymise.unrepeated(pseudonymise.id_groups(t))
    )
    assert known.to_dict() == alone.to_dict()
