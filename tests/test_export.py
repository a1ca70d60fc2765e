"""Safe exports (issue 8 item 3): text that a spreadsheet would run is neutralised; numbers stay."""

from __future__ import annotations

import csv

import openpyxl
import pandas as pd
import pytest

from evaluation.publish.export import neutralise, write_csv, write_xlsx

TRIGGERS = ["=1+1", "+SUM(A1:A2)", "-2+3", "@cmd", "\t=1", "\r=1", '=HYPERLINK("http://x")']


def _frame() -> pd.DataFrame:
    n = len(TRIGGERS)
    return pd.DataFrame(
        {
            "text": TRIGGERS,
            "count": [-3, -1, 0, 1, 2, 5, 51][:n],
            "share": [-0.5, -1.25, 0.0, 0.25, 0.5, 1.0, 0.345][:n],
            "label": pd.Categorical(["=CAT()"] * n),
            "plain": ["MOH1", "NGA", "a-b", "x=y", "1", "ok", "ETH"][:n],
        }
    )


def _csv_rows(path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_neutralise_prefixes_exactly_the_formula_starts():
    # carriage returns become newlines so a CSV writer quotes the field
    expected = ["'" + v.replace("\r", "\n") for v in TRIGGERS]
    assert [neutralise(v) for v in TRIGGERS] == expected
    assert neutralise("x=y") == "x=y"
    assert neutralise(-3) == -3 and neutralise(-0.5) == -0.5
    assert neutralise(None) is None


def _csv_frame() -> pd.DataFrame:
    # values starting with CR are checked in the carriage-return test below
    return _frame().query("~text.str.startswith('\\r')").reset_index(drop=True)


def test_csv_text_cells_are_neutralised(tmp_path):
    rows = _csv_rows(write_csv(_csv_frame(), tmp_path / "t.csv"))
    assert [r["text"] for r in rows] == ["'" + v for v in TRIGGERS if not v.startswith("\r")]
    assert {r["label"] for r in rows} == {"'=CAT()"}
    assert [r["plain"] for r in rows] == ["MOH1", "NGA", "a-b", "x=y", "1", "ETH"]


def test_csv_numbers_stay_numbers(tmp_path):
    path = write_csv(_csv_frame(), tmp_path / "t.csv")
    rows = _csv_rows(path)
    assert [r["count"] for r in rows] == ["-3", "-1", "0", "1", "2", "51"]
    assert [r["share"] for r in rows] == ["-0.5", "-1.25", "0", "0.25", "0.5", "0.345"]
    back = pd.read_csv(path)
    assert pd.api.types.is_integer_dtype(back["count"])
    assert back["count"].tolist() == [-3, -1, 0, 1, 2, 51]
    assert pd.api.types.is_float_dtype(back["share"])


def test_xlsx_text_cells_are_strings_not_formulas(tmp_path):
    path = write_xlsx(_frame(), tmp_path / "t.xlsx")
    ws = openpyxl.load_workbook(path).active
    header = [c.value for c in ws[1]]
    text_col = header.index("text") + 1
    label_col = header.index("label") + 1
    for i in range(len(TRIGGERS)):
        for col in (text_col, label_col):
            cell = ws.cell(row=i + 2, column=col)
            assert cell.data_type == "s", (cell.value, cell.data_type)
            assert isinstance(cell.value, str) and cell.value.startswith("'")
    # XML normalises a stored CR to LF on reading, so compare after the prefix
    assert ws.cell(row=2, column=text_col).value == "'=1+1"
    assert ws.cell(row=5, column=text_col).value == "'@cmd"


def test_xlsx_numbers_stay_numeric_cells(tmp_path):
    path = write_xlsx(_frame(), tmp_path / "t.xlsx")
    ws = openpyxl.load_workbook(path).active
    header = [c.value for c in ws[1]]
    counts = [ws.cell(row=i + 2, column=header.index("count") + 1) for i in range(7)]
    shares = [ws.cell(row=i + 2, column=header.index("share") + 1) for i in range(7)]
    assert all(c.data_type == "n" for c in counts + shares)
    assert [c.value for c in counts] == [-3, -1, 0, 1, 2, 5, 51]
    assert [c.value for c in shares] == [-0.5, -1.25, 0.0, 0.25, 0.5, 1.0, 0.345]


def test_suppressed_table_exports_markers_as_text_and_counts_as_numbers(tmp_path):
    mixed = pd.DataFrame({"country": ["NGA", "ETH"], "n": pd.Series([12, "<5"], dtype=object)})
    ws = openpyxl.load_workbook(write_xlsx(mixed, tmp_path / "m.xlsx")).active
    assert (ws["B2"].value, ws["B2"].data_type) == (12, "n")
    assert (ws["B3"].value, ws["B3"].data_type) == ("<5", "s")


def test_headers_are_neutralised_too(tmp_path):
    df = pd.DataFrame({"=SUM(A1)": [1]})
    ws = openpyxl.load_workbook(write_xlsx(df, tmp_path / "h.xlsx")).active
    assert ws["A1"].data_type == "s"
    with open(write_csv(df, tmp_path / "h.csv"), encoding="utf-8") as fh:
        assert fh.readline().startswith("'")


@pytest.mark.parametrize("value", ["\r=1", "abc\r=1+1"])
def test_csv_carriage_return_cannot_start_a_new_row(tmp_path, value):
    # lineterminator="\n" makes the csv module quote fields with \n but not with \r; readers
    # (Python csv, pandas, spreadsheets) then split the row and '=1' opens a new one
    df = pd.DataFrame({"text": [value], "n": [1]})
    rows = _csv_rows(write_csv(df, tmp_path / "cr.csv"))
    assert len(rows) == 1 and rows[0]["n"] == "1"
