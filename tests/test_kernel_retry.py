"""A kernel that dies while starting is started once more; twice, and the error names the
notebook and the kernel's log (the flaky first `make report`: 'Kernel died before replying to
kernel_info')."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
import pytest

from evaluation.errors import ExecutionError
from evaluation.pipeline.jobs import Job, execute

WRAPPER = """
import os, sys
marker = {marker!r}
deaths = int(open(marker).read()) if os.path.exists(marker) else 0
if deaths < {deaths}:
    open(marker, "w").write(str(deaths + 1))
    sys.exit(1)  # dies before replying to kernel_info
os.execv(sys.executable, [sys.executable, "-m", "ipykernel_launcher", *sys.argv[1:]])
"""


def _kernel_that_dies(root: Path, deaths: int, monkeypatch) -> Path:
    """A 'python3' kernelspec (first on JUPYTER_PATH) whose first `deaths` starts die."""
    spec = root / "jupyter" / "kernels" / "python3"
    spec.mkdir(parents=True)
    marker = root / "deaths"
    wrapper = root / "flaky_kernel.py"
    wrapper.write_text(WRAPPER.format(marker=str(marker), deaths=deaths), encoding="utf-8")
    argv = [sys.executable, str(wrapper), "-f", "{connection_file}"]
    kernel = {"argv": argv, "display_name": "flaky", "language": "python"}
    (spec / "kernel.json").write_text(json.dumps(kernel), encoding="utf-8")
    monkeypatch.setenv("JUPYTER_PATH", str(root / "jupyter"))
    return marker


def _job(root: Path) -> Job:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("print(6 * x)"),
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "Py"}
    nb.metadata["language_info"] = {"name": "python"}
    path = root / "tiny.ipynb"
    nbformat.write(nb, path)
    return Job("tiny-job", path, "tiny", {"x": 7}, {}, key="k1")


def test_a_kernel_that_dies_once_is_retried(tmp_path, monkeypatch, capfd) -> None:
    marker = _kernel_that_dies(tmp_path, 1, monkeypatch)
    folder, _ = execute(_job(tmp_path), tmp_path / "cache", tmp_path / "build" / "failed")
    assert marker.read_text() == "1"  # the first kernel did die
    out = nbformat.read(folder / "notebook.ipynb", as_version=4)
    assert out.cells[-1].outputs[0]["text"] == "42\n"  # the parameter reached the second kernel
    err = capfd.readouterr().err
    assert "tiny-job: the notebook kernel died while starting" in err
    assert "starting it once more" in err


def test_a_kernel_that_dies_twice_names_notebook_and_log(tmp_path, monkeypatch) -> None:
    marker = _kernel_that_dies(tmp_path, 2, monkeypatch)
    failed = tmp_path / "build" / "failed"
    with pytest.raises(ExecutionError) as err:
        execute(_job(tmp_path), tmp_path / "cache", failed, quiet=True)
    assert marker.read_text() == "2"
    text = str(err.value)
    assert "notebook tiny.ipynb (tiny-job)" in text
    assert "died while starting, twice" in text
    assert str(tmp_path / "build" / "logs" / "tiny-job.log") in text
    assert not list((tmp_path / "cache").glob("*"))  # no half-executed copy left in the cache
