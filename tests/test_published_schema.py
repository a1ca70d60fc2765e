"""data/published/figures.csv meets its schema; broken copies are caught with row and rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from evaluation.data.validate import validate_published

FIGURES = Path(__file__).resolve().parents[1] / "data" / "published" / "figures.csv"


def test_published_figures_validate() -> None:
    df, report = validate_published(FIGURES)
    assert report.ok, report.to_markdown()
    assert df["figure_id"].is_unique
    values = df.set_index("figure_id")["value"]
    assert values["enh.clients_enrolled"] == 319
    assert values["enh.referred_moh"] == 46
    assert df["source_verified"].dtype == bool
    assert (df["period_start"] <= df["period_end"]).all()


def _broken(tmp_path: Path, line: int, old: str, new: str) -> Path:
    lines = FIGURES.read_text("utf-8").splitlines()
    assert old in lines[line - 1], f"{old!r} not on line {line}"
    lines[line - 1] = lines[line - 1].replace(old, new, 1)
    path = tmp_path / "figures.csv"
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path


@pytest.mark.parametrize(
    ("old", "new", "rule", "column"),
    [
        (",319,", ",-319,", "out_of_range", "value"),
        (",persons,", ",people,", "unknown_code", "unit"),
        (",ENH,", ",XYZ,", "unknown_code", "project"),
        ("2018-03-31", "2015-03-31", "period_order", "period_end"),
        ("2015-10-01", "2015-13-01", "invalid_date", "period_start"),
        (",true,", ",maybe,", "invalid_boolean", "source_verified"),
        (",319,", ",many,", "invalid_number", "value"),
    ],
)
def test_broken_published_row(tmp_path: Path, old: str, new: str, rule: str, column: str) -> None:
    _, report = validate_published(_broken(tmp_path, 2, old, new))
    assert [(p.rule, p.row, p.column) for p in report.errors] == [(rule, 2, column)]


def test_duplicate_figure_id(tmp_path: Path) -> None:
    lines = FIGURES.read_text("utf-8").splitlines()
    second_id = lines[2].split(",")[0]
    path = _broken(tmp_path, 2, lines[1].split(",")[0] + ",", second_id + ",")
    _, report = validate_published(path)
    assert sorted((p.rule, p.row) for p in report.errors) == [
        ("duplicate_value", 2),
        ("duplicate_value", 3),
    ]
