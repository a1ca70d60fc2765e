"""The no-op rerun's stamp: it answers "up to date" only while every file, option, key and
output is as the last successful run left it; any change sends the run the full way."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from pathlib import Path

import pytest
from conftest import cli_env, run_cli

from evaluation.pipeline import noop_stamp

OPTIONS = {"config": "c", "build": "b", "data": None, "project": [], "pandoc": True,
           "render": False}  # fmt: skip
NAMES = ["notebooks", "results", "disclosure"]


@pytest.fixture
def built(tmp_path, monkeypatch):
    """A build folder with a complete run, its outputs linked, a data folder and a stamp."""
    monkeypatch.setenv("EVALUATION_PSEUDONYM_KEY", "k" * 40)
    data = tmp_path / "data"
    data.mkdir()
    (data / "clients.csv").write_text("client_id\nA\n")
    build = tmp_path / "build"
    run_dir = build / ".runs" / "abc"
    for name in NAMES:
        (run_dir / name).mkdir(parents=True)
        os.symlink(os.path.relpath(run_dir / name, build), build / name)
    (run_dir / ".complete").write_text("abc\n")
    (build / "manifest.json").write_text("{}")
    roots = [str(data)]
    noop_stamp.write(build, OPTIONS, roots, noop_stamp.fingerprint(OPTIONS, roots), "abc", NAMES)
    return build, data


def _later(path: Path, text: str) -> None:
    """Rewrite a file with the same size and a later modification time."""
    path.write_text(text)
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


def test_unchanged_is_up_to_date(built):
    build, _ = built
    assert noop_stamp.up_to_date(build, OPTIONS)


def test_a_data_file_changed_with_the_same_size(built):
    build, data = built
    _later(data / "clients.csv", "client_id\nB\n")
    assert not noop_stamp.up_to_date(build, OPTIONS)


def test_a_data_file_added_or_removed(built):
    build, data = built
    (data / "support.csv").write_text("x\n")
    assert not noop_stamp.up_to_date(build, OPTIONS)
    (data / "support.csv").unlink()
    assert noop_stamp.up_to_date(build, OPTIONS)
    (data / "clients.csv").unlink()
    assert not noop_stamp.up_to_date(build, OPTIONS)


def test_other_options_or_key(built, monkeypatch):
    build, _ = built
    assert not noop_stamp.up_to_date(build, {**OPTIONS, "pandoc": False})
    assert not noop_stamp.up_to_date(build, {**OPTIONS, "project": ["MOH1"]})
    monkeypatch.setenv("EVALUATION_PSEUDONYM_KEY", "m" * 40)
    assert not noop_stamp.up_to_date(build, OPTIONS)


def test_outputs_moved_or_run_incomplete(built):
    build, _ = built
    (build / ".runs" / "abc" / ".complete").unlink()
    assert not noop_stamp.up_to_date(build, OPTIONS)
    (build / ".runs" / "abc" / ".complete").write_text("abc\n")
    assert noop_stamp.up_to_date(build, OPTIONS)
    (build / "results").unlink()
    (build / ".runs" / "other" / "results").mkdir(parents=True)
    os.symlink(".runs/other/results", build / "results")
    assert not noop_stamp.up_to_date(build, OPTIONS)


def test_another_run_holds_the_folder(built):
    build, _ = built
    fd = os.open(build / ".lock", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        assert not noop_stamp.up_to_date(build, OPTIONS)
    finally:
        os.close(fd)
    assert noop_stamp.up_to_date(build, OPTIONS)


def test_a_file_changed_during_the_run_is_looked_at_again(built):
    """The stamp keeps the fingerprint taken as the run began."""
    build, data = built
    roots = [str(data)]
    before = noop_stamp.fingerprint(OPTIONS, roots)
    _later(data / "clients.csv", "client_id\nC\n")  # edited while the run reads
    noop_stamp.write(build, OPTIONS, roots, before, "abc", NAMES)
    assert not noop_stamp.up_to_date(build, OPTIONS)


def test_cli_answers_from_the_stamp_and_otherwise_runs_the_full_way(
    default_build, tmp_path, monkeypatch
):
    """On a copy of the default build: with a stamp for this command the rerun answers from
    it, without validating; with a stamp whose fingerprint does not match, the same command
    goes the full way (validation, cache keys) and finds nothing changed there."""
    from conftest import ROOT

    build = tmp_path / "build"
    shutil.copytree(default_build, build, symlinks=True)
    args = ["run", "--build", str(build), "--pandoc"]
    options = {"config": str(ROOT / "evaluation.yml"), "build": str(build.resolve()),
               "data": None, "project": [], "pandoc": True, "render": True}  # fmt: skip
    env = cli_env()
    for name in (*noop_stamp.KEY_ENV, "QUARTO_PATH", "PATH"):  # the CLI's environment
        if name in env:
            monkeypatch.setenv(name, env[name])
        else:
            monkeypatch.delenv(name, raising=False)
    roots = noop_stamp.roots_of(
        ROOT / "evaluation.yml",
        [ROOT / "data" / "synthetic" / "default", ROOT / "data" / "published" / "figures.csv"],
    )
    run_key = json.loads((build / "manifest.json").read_text())["run_key"]
    names = [*NAMES, "report"]
    noop_stamp.write(build, options, roots, noop_stamp.fingerprint(options, roots), run_key, names)
    fast = run_cli(*args, env=env)
    assert fast.returncode == 0, fast.stderr
    assert fast.stderr.strip().endswith(noop_stamp.MESSAGE)
    assert "validating inputs" not in fast.stderr  # answered from the stamp

    noop_stamp.write(build, options, roots, "0" * 64, run_key, names)
    full = run_cli(*args, env=env)
    assert full.returncode == 0, full.stderr
    assert "validating inputs" in full.stderr and noop_stamp.MESSAGE in full.stderr
    # the full way writes a true stamp again
    assert json.loads((build / noop_stamp.STAMP).read_text())["fingerprint"] != "0" * 64
