"""Bad input costs nothing: every failure class gives its documented exit code, a plain message,
and leaves the previous report, results and notebooks byte-identical.

All tests start from one good build (a copy of the session's default build) and check it after
each failure. Exit codes: 1 invalid input data, 2 usage or configuration, 3 notebook or render
failure (and, through the CLI's OSError handler, a build folder that cannot be written).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from conftest import ROOT, TEST_KEY, cli_env, run_cli

pytestmark = pytest.mark.e2e

DEFAULT_DATA = ROOT / "data" / "synthetic" / "default"
CONFIG = ROOT / "evaluation.yml"


def snapshot(build: Path) -> dict[str, str]:
    """sha256 of every published file (through the symlinks) plus the link targets."""
    out = {}
    for name in ("report", "results", "notebooks"):
        link = build / name
        out[f"{name} ->"] = os.readlink(link) if link.is_symlink() else "not a link"
        for p in sorted(link.rglob("*")):
            if p.is_file():
                out[str(p.relative_to(build))] = hashlib.sha256(p.read_bytes()).hexdigest()
    out["manifest.json"] = hashlib.sha256((build / "manifest.json").read_bytes()).hexdigest()
    return out


@pytest.fixture(scope="module")
def good(default_build, tmp_path_factory):
    """(build, snapshot): a private copy of the default build and its published state."""
    build = tmp_path_factory.mktemp("failures") / "build"
    shutil.copytree(default_build, build, symlinks=True)
    state = snapshot(build)
    assert any(k.startswith("report/index.html") for k in state)
    assert len([k for k in state if k.startswith("results/")]) > 5
    return build, state


def assert_plain_failure(res, code: int, *phrases: str) -> None:
    """Exit code as documented, words instead of a traceback, the message names the problem."""
    assert res.returncode == code, f"exit {res.returncode}\n{res.stderr}"
    assert "Traceback" not in res.stderr
    assert res.stderr.startswith("error: ") or "\nerror: " in res.stderr
    for phrase in phrases:
        assert phrase in res.stderr, f"{phrase!r} not in:\n{res.stderr}"


def _copy_data(tmp_path: Path) -> Path:
    data = tmp_path / "cases"
    shutil.copytree(DEFAULT_DATA, data)
    return data


def _edit_line(path: Path, line_no: int, old: str, new: str) -> None:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    assert old in lines[line_no - 1]
    lines[line_no - 1] = lines[line_no - 1].replace(old, new, 1)
    path.write_text("".join(lines), encoding="utf-8")


# ---------------------------------------------------------------- invalid data: exit 1


def _bad_code(data: Path) -> None:
    _edit_line(data / "clients.csv", 2, ",male,", ",unknown,")


def _dangling_client(data: Path) -> None:
    _edit_line(data / "enrolments.csv", 2, "c000001", "c999999")


def _duplicate_id(data: Path) -> None:
    first = (data / "sessions.csv").read_text().splitlines()[1].split(",")[0]
    _edit_line(data / "sessions.csv", 3, "s000002", first)


def _missing_table(data: Path) -> None:
    (data / "support.csv").unlink()


def _exit_before_entry(data: Path) -> None:
    _edit_line(data / "enrolments.csv", 2, "2016-09-02", "2014-01-01")


INVALID = {
    "code outside the contract": (_bad_code, ["clients", "sex"]),
    "client id not in clients": (_dangling_client, ["enrolments", "client_id"]),
    "duplicate session id": (_duplicate_id, ["sessions", "session_id"]),
    "missing table": (_missing_table, ["support"]),
    "exit before enrolment": (_exit_before_entry, ["enrolments", "exit_date"]),
}


@pytest.mark.parametrize("case", sorted(INVALID))
def test_invalid_data_exit_1(good, tmp_path, case):
    build, before = good
    spoil, phrases = INVALID[case]
    data = _copy_data(tmp_path)
    spoil(data)
    res = run_cli("run", "--data", str(data), "--build", str(build), "--pandoc")
    assert_plain_failure(res, 1, "problem(s) found", "earlier outputs are untouched", *phrases)
    assert snapshot(build) == before
    report = (build / "validation" / "report.md").read_text()
    assert all(p in report for p in phrases)


# ---------------------------------------------------------------- unreadable file: exit 1


def _garbage_csv(data: Path) -> None:
    (data / "clients.csv").write_bytes(bytes(range(256)) * 40)


def _empty_csv(data: Path) -> None:
    (data / "clients.csv").write_bytes(b"")


def _xlsx_not_a_workbook(data: Path) -> None:
    (data / "clients.csv").rename(data / "clients.xlsx")


def _parquet_truncated(data: Path) -> None:
    import pandas as pd

    pd.read_csv(data / "clients.csv").to_parquet(data / "clients.parquet")
    (data / "clients.csv").unlink()
    raw = (data / "clients.parquet").read_bytes()
    (data / "clients.parquet").write_bytes(raw[: len(raw) // 2])


def _directory_not_file(data: Path) -> None:
    (data / "clients.csv").unlink()
    (data / "clients.csv").mkdir()


UNREADABLE = {
    "binary garbage in a CSV": _garbage_csv,
    "empty CSV": _empty_csv,
    "CSV named .xlsx": _xlsx_not_a_workbook,
    "truncated Parquet": _parquet_truncated,
    "folder where a file should be": _directory_not_file,
}


@pytest.mark.parametrize("case", sorted(UNREADABLE))
def test_unreadable_file_exit_1(good, tmp_path, case):
    build, before = good
    data = _copy_data(tmp_path)
    UNREADABLE[case](data)
    res = run_cli("run", "--data", str(data), "--build", str(build), "--pandoc")
    assert_plain_failure(res, 1, "clients")
    assert snapshot(build) == before


# ---------------------------------------------------------------- configuration: exit 2


def _config_variant(tmp_path: Path, old: str, new: str) -> Path:
    text = CONFIG.read_text(encoding="utf-8")
    assert old in text
    out = tmp_path / "evaluation.yml"
    out.write_text(text.replace(old, new, 1), encoding="utf-8")
    return out


CONFIGS = {
    "unknown project kind": ("kind: return", "kind: repatriation", ["kind", "repatriation"]),
    "end before start": ("end: 2018-03-31", "end: 2014-03-31", ["end", "before"]),
    "date not a date": ("start: 2015-10-01", "start: 1 October 2015", ["start", "YYYY-MM-DD"]),
    "not YAML": ("version: 1", "version: [1", ["not valid YAML"]),
    "duplicate project id": ("id: MOH2", "id: MOH1", ["MOH1", "twice"]),
}


@pytest.mark.parametrize("case", sorted(CONFIGS))
def test_wrong_configuration_exit_2(good, tmp_path, case):
    build, before = good
    old, new, phrases = CONFIGS[case]
    cfg = _config_variant(tmp_path, old, new)
    res = run_cli("run", "--config", str(cfg), "--build", str(build), "--pandoc")
    assert_plain_failure(res, 2, *phrases)
    assert snapshot(build) == before


USAGE = {
    "configuration file missing": (["--config", "no-such.yml"], {}, ["no-such.yml", "not exist"]),
    "unknown project": (["--project", "MOH9"], {}, ["MOH9"]),
    "data folder missing": (["--data", "no-such-folder"], {}, ["no-such-folder"]),
    "key too short": ([], {"EVALUATION_PSEUDONYM_KEY": "short"}, ["shorter than 16"]),
}


@pytest.mark.parametrize("case", sorted(USAGE))
def test_usage_errors_exit_2(good, case):
    build, before = good
    args, env, phrases = USAGE[case]
    res = run_cli("run", "--build", str(build), "--pandoc", *args, env=cli_env(**env))
    assert_plain_failure(res, 2, *phrases)
    assert snapshot(build) == before


def test_bad_option_exit_2(good):
    build, before = good
    res = run_cli("run", "--build", str(build), "--jobs", "many")
    assert res.returncode == 2
    assert "invalid int value" in res.stderr and "Traceback" not in res.stderr
    assert snapshot(build) == before


# ---------------------------------------------------------------- notebook error: exit 3


def _failing_notebooks(tmp_path: Path) -> Path:
    """The repo's notebooks (linked), with published.ipynb given a labelled cell that raises."""
    nbdir = tmp_path / "notebooks"
    nbdir.mkdir()
    for nb in (ROOT / "notebooks").glob("*.ipynb"):
        (nbdir / nb.name).symlink_to(nb)
    (nbdir / "published.ipynb").unlink()
    nb = nbformat.read(ROOT / "notebooks" / "published.ipynb", as_version=4)
    cell = nbformat.v4.new_code_cell(
        '#| label: fig-planted\nraise RuntimeError("planted failure for the test")'
    )
    nb.cells.append(cell)
    nbformat.write(nb, nbdir / "published.ipynb")
    return nbdir


def test_notebook_error_exit_3(good, tmp_path, monkeypatch, capsys):
    from evaluation import cli
    from evaluation.pipeline import jobs as pipeline

    build, before = good
    nbdir = _failing_notebooks(tmp_path)
    monkeypatch.setattr(pipeline, "_notebook_dir", lambda: nbdir)
    monkeypatch.setenv("EVALUATION_PSEUDONYM_KEY", TEST_KEY)
    monkeypatch.chdir(ROOT)
    code = cli.main(["run", "--build", str(build), "--pandoc", "--quiet"])
    err = capsys.readouterr().err
    assert code == 3, err
    kept = build / "failed" / "published.ipynb"
    where = re.search(
        r"notebook published\.ipynb \(published\) failed at cell (\d+) "
        r"\(label fig-planted\): RuntimeError: planted failure for the test\. "
        r"The executed copy with the error is (\S+)",
        err,
    )
    assert where, err
    assert where.group(2) == str(kept)
    executed = nbformat.read(kept, as_version=4)
    cell = executed.cells[int(where.group(1))]
    assert "planted failure" in cell.source and cell.outputs[0]["ename"] == "RuntimeError"
    assert snapshot(build) == before


# ---------------------------------------------------------------- render error: exit 3


def test_render_error_exit_3(good, monkeypatch, capsys):
    from evaluation import cli
    from evaluation.pipeline import run

    build, before = good
    original = run.stage_report

    def broken_stage(cfg, run_dir, stage):
        original(cfg, run_dir, stage)
        index = stage / "reports" / "index.qmd"
        index.write_text(
            index.read_text() + "\n{{< embed ../build/notebooks/published/"
            "published.ipynb#fig-does-not-exist >}}\n"
        )

    monkeypatch.setattr(run, "stage_report", broken_stage)
    monkeypatch.setenv("EVALUATION_PSEUDONYM_KEY", TEST_KEY)
    monkeypatch.chdir(ROOT)
    code = cli.main(["run", "--build", str(build), "--quiet"])  # no --pandoc: a new run key
    err = capsys.readouterr().err
    assert code == 3, err
    assert "cannot render" in err and "fig-does-not-exist" in err
    assert "Traceback" not in err
    assert snapshot(build) == before
    assert not list(build.glob(".stage-*"))


# ---------------------------------------------------------------- cannot write: non-zero


def _limit_file_size() -> None:
    """In the child: no file may grow past 16 KiB (root is bound by it too), like a full disk."""
    resource.setrlimit(resource.RLIMIT_FSIZE, (16 * 1024, 16 * 1024))


def test_full_disk_exit_4(good):
    build, before = good
    res = subprocess.run(
        [sys.executable, "-m", "evaluation", "run", "--build", str(build), "--no-render"],
        cwd=ROOT,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        preexec_fn=_limit_file_size,
    )
    assert_plain_failure(res, 4, "File too large", "earlier outputs are untouched")
    assert snapshot(build) == before


def test_build_path_not_a_folder(tmp_path):
    (tmp_path / "file").write_text("a regular file")
    res = run_cli("run", "--build", str(tmp_path / "file" / "build"), "--no-render")
    assert_plain_failure(res, 4, "Not a directory", str(tmp_path / "file"))


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through read-only permissions")
def test_read_only_build_exit_4(good):
    build, before = good
    os.chmod(build, 0o555)
    try:
        res = run_cli("run", "--build", str(build), "--no-render")
    finally:
        os.chmod(build, 0o755)
    assert_plain_failure(res, 4, "permission denied", "earlier outputs are untouched")
    assert snapshot(build) == before


def test_good_build_still_runs_after_all_failures(good):
    """After every failure above, the same build is still a no-op rerun: nothing was damaged."""
    build, before = good
    res = run_cli("run", "--build", str(build), "--pandoc")
    assert res.returncode == 0, res.stderr
    assert "nothing changed since the last run" in res.stderr
    assert snapshot(build) == before
    assert json.loads((build / "manifest.json").read_text())["run_key"] in before["report ->"]
