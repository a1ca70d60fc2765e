"""The disclosure check runs beside the first notebooks (pipeline/check_stage.start_check): a
kernel that looks the decision up before it is written waits for it, and fails when the check
fails or its run has gone (publish/view.wait_for_decision); outside a run nothing waits."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from evaluation.errors import ExecutionError
from evaluation.publish import view
from evaluation.publish.joint import Decision, Rules

ROOT = Path(__file__).resolve().parents[1]


def _write_decision(folder: Path, withheld: list[str]) -> None:
    """A decision folder as publication.write leaves it (decision and ledger), written as the
    run does: into a temporary folder, then renamed."""
    tmp = folder.with_name(folder.name + ".tmp")
    tmp.mkdir()
    decision = Decision(Rules(threshold=5), withheld={k: "planted" for k in withheld})
    (tmp / "decision.json").write_text(json.dumps(decision.as_dict()), encoding="utf-8")
    cells = [{"key": k, "value": 3, "artefacts": ["table"]} for k in ["A/x", "A/y"]]
    (tmp / "ledger.json").write_text(json.dumps(cells), encoding="utf-8")
    os.replace(tmp, folder)


@pytest.fixture
def folder(tmp_path, monkeypatch):
    view.load.cache_clear()
    out = tmp_path / "disclosure" / "key"
    out.parent.mkdir()
    monkeypatch.setenv(view.ENV, str(out))
    return out


def test_a_kernel_waits_for_the_decision_of_the_run_deciding_it(folder):
    view.pending_marker(folder).write_text(str(os.getpid()))

    def decide_later() -> None:
        time.sleep(0.5)
        _write_decision(folder, ["A/x"])
        view.pending_marker(folder).unlink()

    threading.Thread(target=decide_later).start()
    t0 = time.monotonic()
    current = view.current()
    assert time.monotonic() - t0 >= 0.4  # it waited for the decision
    assert current is not None
    assert not current.shown("A/x") and current.shown("A/y")  # the decision written later


def test_a_failed_check_fails_the_kernel_instead_of_showing_every_cell(folder):
    view.pending_marker(folder).write_text(str(os.getpid()))
    view.failed_marker(folder).write_text("RuntimeError: planted")
    with pytest.raises(ExecutionError, match="disclosure check failed: RuntimeError: planted"):
        view.current()


def test_a_kernel_does_not_wait_for_a_run_that_has_gone(folder):
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    view.pending_marker(folder).write_text(gone.stdout.strip())
    with pytest.raises(ExecutionError, match="ended before its disclosure check"):
        view.current()


def test_without_a_deciding_run_nothing_waits(folder, monkeypatch):
    assert view.current() is None  # a folder that no run is deciding: no view, as before
    monkeypatch.setenv(view.ENV, "")
    assert view.current() is None


def test_a_run_whose_check_fails_beside_the_notebooks_reports_the_check(tmp_path, monkeypatch):
    """The check fails while the first notebooks run: the run fails with the check's error,
    no notebook is kept and nothing is published."""
    from evaluation import config
    from evaluation.pipeline import check_stage
    from evaluation.pipeline import run as run_module

    def failing(cfg, data_dir, out, child=False):
        time.sleep(2)  # the kernels are waiting for the decision by now
        raise RuntimeError("planted check failure")

    monkeypatch.setattr(check_stage, "_decide", failing)
    cfg = config.load(ROOT / "evaluation.yml")
    build = tmp_path / "build"
    opts = run_module.RunOptions(build=build, quiet=True, render=False)
    with pytest.raises(RuntimeError, match="planted check failure"):
        run_module.run(cfg, opts)
    # every notebook that looked the decision up failed on it instead of showing every cell
    failed = sorted(p.stem for p in (build / "failed").glob("*.ipynb"))
    assert "durability-moh1" in failed and "conversion-moh1" in failed
    for name in failed:
        text = (build / "failed" / f"{name}.ipynb").read_text(encoding="utf-8")
        assert "disclosure check failed: RuntimeError: planted check failure" in text
    # the one notebook kept shows only the published figures and never looks a decision up
    kept = [json.loads(p.read_text())["metadata"]["papermill"]["input_path"]
            for p in (build / "cache").glob("*/notebook.ipynb")]  # fmt: skip
    assert [Path(p).stem for p in kept] in ([], ["published"])
    published = [n for n in ("notebooks", "results", "report") if (build / n).exists()]
    assert published == []
    # nor is any results file, passed through the decision or not, left in a staging folder
    assert list(build.glob(".stage-*")) == []
