"""Regression tests for the failures of issue 18, each on the smallest input that showed it.

Valid input that crashed an analysis (header-only referrals, no departures, a configured project
without records), invalid input that was accepted (dates after the cut-off, a repeated column),
messages (a 10 MB value, rows after a multi-line cell, warnings on the console), intervals that
printed 'nan–nan %', a composite score on a cut-off counted below it, and a failed run that left
a pseudonymised data folder behind. The kernel retry is in test_kernel_retry.py.
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
from pathlib import Path

import casegen
import nbrun
import pandas as pd
import pytest
from conftest import ROOT, cli_env
from conftest_contract import PERIODS, config_for, valid_frames, write_dataset

from evaluation import config
from evaluation.data.validate import validate_dataset

CUTOFF = dt.date(2020, 12, 31)


def _prepared(tmp: Path, frames: dict[str, pd.DataFrame]) -> tuple[config.Config, Path]:
    cases = write_dataset(tmp / "cases", frames)
    cfg = config_for(tmp, cases)
    report = nbrun.prepare(cases, cfg, tmp / "prepared")
    assert report.ok, report.to_markdown()
    return cfg, tmp / "prepared"


def _params(cfg: config.Config, prepared: Path, tmp: Path, **extra: str) -> dict:
    return {
        "data_dir": str(prepared),
        "config_file": str(cfg.path),
        "synthetic": True,
        "results_dir": str(tmp / "results"),
        **extra,
    }


# --------------------------------------------------------------------------- valid input runs


def test_header_only_referrals_run_the_conversion_notebook(tmp_path: Path) -> None:
    """Was: conversion.ipynb failed at cell 13: TypeError: Cannot cast DatetimeArray to float64."""
    frames = valid_frames()
    frames["referrals"] = frames["referrals"].iloc[0:0]
    cfg, prepared = _prepared(tmp_path, frames)
    ns = nbrun.run_notebook(
        "conversion", _params(cfg, prepared, tmp_path, project="ENH"), tmp_path / "cwd"
    )
    assert "No ENH client was referred to MOH" in ns["_stdout"]
    chain = pd.read_csv(tmp_path / "results" / "conversion_chain.csv")
    # three steps (no 'of all referred' row without referrals), all withheld: 2 ENH clients
    assert chain["step"].str.strip().tolist() == [
        "ENH clients referred to MOH",
        "enrolled in MOH1 or MOH2",
        "returned (verified)",
    ]
    assert set(chain[["n", "N", "rate"]].to_numpy().ravel()) == {"x"}
    assert "nan" not in (tmp_path / "results" / "conversion_chain.csv").read_text()


def test_no_departures_at_all_run_the_comparison_notebook(tmp_path: Path) -> None:
    """Was: comparison.ipynb … DTypePromotionError."""
    frames = valid_frames()
    for name in ("departures", "support", "monitoring"):
        frames[name] = frames[name].iloc[0:0]
    cfg, prepared = _prepared(tmp_path, frames)
    params = _params(cfg, prepared, tmp_path, projects="MOH1,MOH2", pairs="MOH1:MOH2")
    params["stores_dir"] = nbrun.run_upstream(cfg, prepared, tmp_path, "comparison")
    nbrun.run_notebook("comparison", params, tmp_path / "cwd")
    table = pd.read_csv(tmp_path / "results" / "comparison_return_rates.csv")
    # by hand: MOH1 has clients C001, C004, C005 and MOH2 has C003; nobody returned
    assert table[["n_baseline", "N_baseline", "n_other", "N_other"]].iloc[0].tolist() == [
        0,
        3,
        0,
        1,
    ]


def test_a_configured_project_without_records_says_nothing_to_evaluate(tmp_path: Path) -> None:
    """Was: summary.ipynb … ValueError: no enrolments for project 'MOH2'."""
    frames = valid_frames()
    enr = frames["enrolments"]
    gone = set(enr.loc[enr["project"] == "MOH2", "enrolment_id"])
    frames["enrolments"] = enr[enr["project"] != "MOH2"]
    frames["sessions"] = frames["sessions"][~frames["sessions"]["enrolment_id"].isin(gone)]
    dep = frames["departures"]
    frames["departures"] = dep[~dep["enrolment_id"].isin(gone)]
    cfg, prepared = _prepared(tmp_path, frames)
    params = _params(cfg, prepared, tmp_path, published_file=str(cfg.published))
    params["stores_dir"] = nbrun.run_upstream(cfg, prepared, tmp_path, "summary")
    ns = nbrun.run_notebook("summary", params, tmp_path / "cwd")
    assert "Nothing to evaluate: MOH2 has no enrolments" in ns["_stdout"]
    ns = nbrun.run_notebook(
        "conversion", _params(cfg, prepared, tmp_path, project="MOH2"), tmp_path / "cwd"
    )
    assert ns["_stdout"].count("Nothing to evaluate: MOH2") >= 5  # every section says why
    # its three figures (funnel, cumulative incidence, models) are a sentence each, not a figure
    assert ns["_stdout"].count("_No figure. Nothing to evaluate: MOH2") == 3


# --------------------------------------------------------------------------- invalid input stops


def test_events_after_the_cutoff_are_errors_naming_the_setting(tmp_path: Path) -> None:
    """Was accepted: departures, forced exits and monitoring contacts dated 2099."""
    frames = valid_frames()
    frames["departures"].loc[1, "departure_date"] = "2099-01-10"  # row 3
    frames["enrolments"].loc[4, ["exit_date", "exit_reason"]] = ["2099-12-01", "forced_removal"]
    frames["monitoring"].loc[3, "contact_date"] = "2099-03-10"  # row 5
    _, report = validate_dataset(write_dataset(tmp_path, frames), PERIODS, cutoff=CUTOFF)
    found = {(p.table, p.row, p.column) for p in report.errors if p.rule == "on_or_before_cutoff"}
    assert found == {
        ("departures", 3, "departure_date"),
        ("enrolments", 6, "exit_date"),
        ("monitoring", 5, "contact_date"),
    }
    msg = next(p.message for p in report.errors if p.table == "departures")
    assert msg.startswith("departures.csv row 3, column departure_date: 2099-01-10 is after the")
    assert "data cut-off 2020-12-31 (set as data.cutoff in evaluation.yml)" in msg


def test_a_session_after_the_project_end_is_an_error(tmp_path: Path) -> None:
    frames = valid_frames()
    frames["sessions"].loc[0, "session_date"] = "2018-04-02"  # E01 is ENH, which ended 2018-03-31
    _, report = validate_dataset(write_dataset(tmp_path, frames), PERIODS, cutoff=CUTOFF)
    assert [(p.rule, p.row) for p in report.errors] == [("in_project_period", 2)]
    assert "after the end of project ENH (2018-03-31" in report.errors[0].message


def test_a_project_starting_after_the_cutoff_cannot_be_evaluated(tmp_path: Path) -> None:
    periods = {**PERIODS, "MOH3": (dt.date(2021, 3, 1), dt.date(2022, 1, 1))}
    _, report = validate_dataset(write_dataset(tmp_path), periods, cutoff=CUTOFF)
    assert [p.rule for p in report.errors] == ["project_observable"]
    assert "project MOH3 starts on 2021-03-01, after the data cut-off" in report.errors[0].message


@pytest.mark.parametrize("second", ["sex", " Sex "])
def test_a_repeated_column_is_an_error_not_a_silent_choice(tmp_path: Path, second: str) -> None:
    """Was accepted: the first 'sex' was used; the only trace a warning about 'sex.1'."""
    write_dataset(tmp_path)
    path = tmp_path / "clients.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines = [lines[0] + f",{second}"] + [ln + ",female" for ln in lines[1:]]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    _, report = validate_dataset(tmp_path, PERIODS, cutoff=CUTOFF)
    assert [(p.table, p.rule, p.row, p.column) for p in report.errors] == [
        ("clients", "duplicate_column", 1, "sex")
    ]
    assert report.errors[0].message.startswith("clients.csv row 1: columns 2 ('sex') and 11 (")
    assert not [p for p in report.problems if "sex.1" in p.message]


# --------------------------------------------------------------------------- messages


def test_a_huge_value_is_shortened_with_its_length(tmp_path: Path) -> None:
    frames = valid_frames()
    frames["clients"].loc[2, "sex"] = "y" * 10_485_760
    _, report = validate_dataset(write_dataset(tmp_path, frames), PERIODS, cutoff=CUTOFF)
    (problem,) = report.errors
    assert problem.row == 4 and problem.rule == "unknown_code"
    assert "(10,485,760 characters)" in problem.message
    assert len(problem.message) < 250 and len(problem.value) <= 80


def test_rows_after_a_multiline_cell_are_the_rows_a_spreadsheet_shows(tmp_path: Path) -> None:
    frames = valid_frames()
    frames["clients"].loc[1, "vulnerability_note"] = "first line\nsecond line\nthird line"
    frames["clients"].loc[3, "sex"] = "unknown"  # the 4th client: spreadsheet row 5
    write_dataset(tmp_path, frames)
    _, report = validate_dataset(tmp_path, PERIODS, cutoff=CUTOFF)
    assert [(p.row, p.column) for p in report.errors] == [(5, "sex")]
    assert report.errors[0].message.startswith("clients.csv row 5, column sex: unknown")


def test_validation_warnings_reach_the_console(tmp_path: Path, capsys) -> None:
    from evaluation.pipeline import prepare
    from evaluation.pipeline.jobs import Progress

    cases = write_dataset(tmp_path / "cases")
    (cases / "notes.txt").write_text("not a table\n", encoding="utf-8")
    cfg = config_for(tmp_path, cases)
    build = tmp_path / "build"
    prepare.prepare_all(cfg, build, Progress())
    err = capsys.readouterr().err
    assert "cases: 1 validation warning(s), not errors: unknown_file (1)" in err
    assert f"Full report: {build / 'validation' / 'report.md'}" in err
    assert "notes.txt is not part of the contract" in err


# --------------------------------------------------------------------------- numbers


def test_intervals_never_print_nan() -> None:
    """Was: a results file printed 'nan–nan %' (how follow-up ended: shares without intervals)."""
    from evaluation.report.conversion_tables import _pct_cells

    nan = float("nan")
    df = pd.DataFrame(
        {"n": [3, 0], "N": [10, 0], "estimate": [0.3, nan], "ci_low": [nan, nan], "ci_high": nan}
    )
    cells = _pct_cells(df)
    # Wilson 95 % for 3 of 10, by hand: centre 0.3 + 1.92/10 … = 10.8 % to 60.3 %
    assert cells["95 % CI"].tolist() == ["10.8–60.3 %", "— (no one in the denominator)"]
    assert cells["rate"].tolist() == ["30.0 %", "—"]


def test_a_composite_exactly_on_a_cutoff_counts_as_at_or_above() -> None:
    """Was: 0.32999999999999996 fell below 'at or above 0.33'."""
    from evaluation.analysis import rss_scores

    rss = rss_scores.load_rss_config()
    f = pd.DataFrame({"rss_economic": [0.11], "rss_social": [0.11], "rss_psychosocial": [0.77]})
    scored = rss_scores.composite_scores(f, rss).assign(window="m12")
    assert scored["rss_composite"].iloc[0] < 0.33  # (0.11 + 0.11 + 0.77) / 3 in floating point
    shares = rss_scores.share_above(scored, [0.33, 0.5])
    m12 = shares[shares["window"] == "m12"].set_index("cutoff")
    assert m12.loc[0.33, "n"] == 1 and m12.loc[0.5, "n"] == 0


# --------------------------------------------------------------------------- runs


def test_a_failed_run_leaves_no_new_data_folder(tmp_path: Path, monkeypatch) -> None:
    from evaluation.errors import ExecutionError
    from evaluation.pipeline import run as run_module

    monkeypatch.setenv("EVALUATION_PSEUDONYM_KEY", nbrun.KEY.decode())
    cfg = config_for(tmp_path, write_dataset(tmp_path / "cases"))
    build = tmp_path / "build"
    (build / "data" / "older").mkdir(parents=True)

    def fail(*args, **kwargs):
        assert any((build / "data").glob("*/.complete"))  # validated and pseudonymised by now
        raise ExecutionError("notebook x.ipynb failed at cell 1")

    monkeypatch.setattr(run_module, "run_jobs", fail)
    with pytest.raises(ExecutionError):
        run_module.run(cfg, run_module.RunOptions(build=build, quiet=True))
    assert sorted(p.name for p in (build / "data").iterdir()) == ["older"]


@pytest.mark.e2e
def test_an_all_header_only_dataset_runs_and_says_nothing_to_evaluate(tmp_path: Path) -> None:
    cases = casegen.header_only(tmp_path / "cases")
    cfg = config_for(tmp_path, cases)
    build = tmp_path / "build"
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "evaluation",
            "run",
            "--config",
            str(cfg.path),
            "--build",
            str(build),
            "--pandoc",
        ],
        cwd=ROOT,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert res.returncode == 0, res.stderr
    html = (build / "report" / "index.html").read_text(encoding="utf-8")
    for project in ("ENH", "MOH1", "MOH2"):
        assert f"Nothing to evaluate: {project} has no enrolments" in html
    assert "nan" not in (build / "results" / "metrics.json").read_text(encoding="utf-8").lower()
    shutil.rmtree(build, ignore_errors=True)
