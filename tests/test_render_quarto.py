"""Quarto is run as a subprocess: its version is the CLI's own, and its exit status and error
text reach the user. A stand-in `quarto` script plays a failing Quarto, so these tests run
with or without the real CLI."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest
from conftest import cli_env, run_cli

from evaluation.errors import ExecutionError
from evaluation.report.render import Renderer, choose_renderer, render_quarto

QUARTO_MESSAGE = "ERROR: Unable to embed content from notebook 'missing.ipynb'"


@pytest.fixture
def failing_quarto(tmp_path) -> Path:
    """A `quarto` that reports version 9.9.9 and fails every render with exit status 7."""
    bin_dir = tmp_path / "fake-bin"
    bin_dir.mkdir()
    script = bin_dir / "quarto"
    script.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = "--version" ]; then echo 9.9.9; exit 0; fi\n'
        f'echo "{QUARTO_MESSAGE}" >&2\n'
        "exit 7\n"
    )
    script.chmod(0o755)
    return script


def test_choose_renderer_asks_the_cli_for_its_version(failing_quarto, monkeypatch):
    monkeypatch.delenv("QUARTO_PATH", raising=False)
    monkeypatch.setenv("PATH", f"{failing_quarto.parent}{os.pathsep}{os.environ['PATH']}")
    chosen = choose_renderer()
    assert (chosen.name, chosen.version) == ("quarto", "9.9.9")
    assert chosen.key == "quarto 9.9.9"
    assert choose_renderer(force_pandoc=True).name == "pandoc"


def test_quarto_exit_status_and_message_reach_the_caller(failing_quarto, tmp_path):
    stage = tmp_path / "stage"
    (stage / "reports").mkdir(parents=True)
    (stage / "reports" / "index.qmd").write_text("# Title\n\nText.\n")
    out = tmp_path / "out"
    with pytest.raises(ExecutionError) as err:
        render_quarto(stage, out, ("html",), Renderer("quarto", "9.9.9", str(failing_quarto)))
    assert "exit 7" in str(err.value)
    assert QUARTO_MESSAGE in str(err.value)
    assert not out.exists()


def test_cli_render_fails_with_quartos_message_and_keeps_the_last_report(
    default_build, failing_quarto, tmp_path
):
    """After a fallback run, `evaluation render` with a (failing) Quarto on PATH does render
    (the renderer is part of the run key), exits 3 with Quarto's own message, and leaves the
    fallback report in place."""
    build = tmp_path / "build"
    shutil.copytree(default_build, build, symlinks=True)
    report = build / "report" / "index.html"
    before = hashlib.sha256(report.read_bytes()).hexdigest()
    env = cli_env(quarto=True, PATH=f"{failing_quarto.parent}{os.pathsep}{os.environ['PATH']}")
    res = run_cli("render", "--build", str(build), env=env)
    assert res.returncode == 3, res.stderr
    assert "nothing changed" not in res.stderr
    assert QUARTO_MESSAGE in res.stderr
    assert "exit 7" in res.stderr
    assert hashlib.sha256(report.read_bytes()).hexdigest() == before
