"""Crash safety: SIGKILL during execution or rendering never leaves a partial report visible.

`evaluation run` runs in its own process group, which the test kills (SIGKILL, no chance to
clean up) once the build folder shows that execution (a cache/*.tmp-* folder) or rendering (a
new, unpublished report being written) has begun. build/report must then be absent (first run)
or the old complete report, byte for byte (later runs); and the next run must succeed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import ROOT, cli_env, run_cli

pytestmark = pytest.mark.e2e


def published(build: Path) -> dict[str, str]:
    """sha256 of every file visible through build/{report,results,notebooks}, plus link targets."""
    out = {}
    for name in ("report", "results", "notebooks"):
        link = build / name
        out[f"{name} ->"] = os.readlink(link) if link.is_symlink() else "absent"
        if link.exists():
            for p in sorted(link.rglob("*")):
                if p.is_file():
                    out[str(p.relative_to(build))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def executing(build: Path) -> bool:
    return any((build / "cache").glob("*.tmp-*"))


def rendering(build: Path) -> bool:
    """A report file is being written in a run folder that is not the published one."""
    live = (build / "report").resolve() if (build / "report").is_symlink() else None
    return any(p.parent.resolve() != live for p in (build / ".runs").glob("*/report/index.html"))


def _processes_in(build: Path) -> list[int]:
    """Processes whose working directory lies in the build folder (papermill kernels do)."""
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if str(build.resolve()) in os.readlink(proc / "cwd"):
                    pids.append(int(proc.name))
            except OSError:
                continue
    return pids


def run_and_kill(build: Path, when: Callable[[Path], bool], *args: str) -> None:
    """Start `evaluation run`, SIGKILL its whole process group as soon as when(build) holds."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "evaluation", "run", "--build", str(build), *args],
        cwd=ROOT,
        env=cli_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    deadline = time.monotonic() + 240
    try:
        while not when(build):
            assert proc.poll() is None, "the run ended before the moment to kill it"
            assert time.monotonic() < deadline, "the moment to kill never came"
            time.sleep(0.02)
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    # kernels run in sessions of their own and leave once their parent is gone
    deadline = time.monotonic() + 20
    while _processes_in(build) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _processes_in(build) == []


def test_kill_during_first_run_leaves_no_report(default_build, tmp_path):
    build = tmp_path / "build"
    run_and_kill(build, executing, "--no-render")
    assert [n for n in ("report", "results", "notebooks") if os.path.lexists(build / n)] == []
    assert not (build / "manifest.json").exists()
    debris = sorted(p.name for p in (build / "cache").iterdir())
    assert any(".tmp-" in name for name in debris)
    # Seed the notebooks the killed run never finished from the session's build, so that the
    # rerun takes seconds; whatever the killed run left behind stays in place.
    for entry in (default_build / "cache").iterdir():
        if entry.is_dir() and not (build / "cache" / entry.name).exists():
            shutil.copytree(entry, build / "cache" / entry.name)
    res = run_cli("run", "--build", str(build), "--no-render")
    assert res.returncode == 0, res.stderr
    assert "0 to execute" in res.stderr
    metrics = json.loads((build / "results" / "metrics.json").read_text())
    reference = json.loads((default_build / "results" / "metrics.json").read_text())
    assert metrics == reference
    assert list((build / "cache").glob("*.tmp-*")) == []  # the killed run's debris is swept


@pytest.fixture(scope="module")
def later(default_build, tmp_path_factory):
    """A copy of the default build with the `published` notebook's cache entry removed."""
    build = tmp_path_factory.mktemp("crash") / "build"
    shutil.copytree(default_build, build, symlinks=True)
    manifest = json.loads((build / "manifest.json").read_text())
    key = next(n["key"] for n in manifest["notebooks"] if n["name"] == "published")
    shutil.rmtree(build / "cache" / key)
    return build, published(build)


def test_kill_during_execution_keeps_old_report(later):
    build, before = later
    # without --pandoc the run key differs from the default build's: a real run, not a no-op
    run_and_kill(build, executing)
    assert published(build) == before


def test_kill_during_rendering_keeps_old_report(later):
    build, before = later
    run_and_kill(build, rendering)
    partial = [
        p.parent
        for p in (build / ".runs").glob("*/report/index.html")
        if p.parent.resolve() != (build / "report").resolve()
    ]
    assert partial, "the kill came after rendering had begun writing a new report"
    assert published(build) == before


def test_next_run_succeeds_and_publishes_complete_report(later):
    build, before = later
    res = run_cli("run", "--build", str(build))
    assert res.returncode == 0, res.stderr
    after = published(build)
    assert after["report ->"] != before["report ->"]
    manifest = json.loads((build / "manifest.json").read_text())
    assert after["report ->"] == f".runs/{manifest['run_key']}/report"
    for name in ("index.html", "evaluation.docx", "evaluation.pdf"):
        assert (build / "report" / name).stat().st_size > 10_000
    assert list(build.glob(".stage-*")) + list((build / "cache").glob("*.tmp-*")) == []
    # results do not depend on how the report was rendered
    assert {k: v for k, v in after.items() if k.startswith("results/")} == {
        k: v for k, v in before.items() if k.startswith("results/")
    }
