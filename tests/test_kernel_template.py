"""Kernels forked from the template process (pipeline/kernel_template.py): a notebook gives the
outputs it gives on a kernel of its own (second method: a fresh kernel started the ordinary
way), the template's imports are not run again in the kernel, and the kernel shows itself, is
ended and falls back as an ordinary kernel does."""

from __future__ import annotations

import os
from pathlib import Path

import psutil
from test_kernel_reuse import (  # noqa: F401 - probe_jobs is a fixture
    DIRTY,
    _importing_notebooks,
    _notebook,
    _outputs,
    probe_jobs,
)

from evaluation.pipeline import kernel_template
from evaluation.pipeline.jobs import execute
from evaluation.pipeline.kernel_reuse import ReusedKernel, warm_code
from evaluation.publish.view import ENV as VIEW_ENV


def _running(process: psutil.Process) -> bool:
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _forked_run(tmp_path, jobs, monkeypatch, module: str) -> tuple:
    """The template imports `module` (which counts its imports in tmp_path/imports); a kernel
    from it runs a notebook that leaves everything behind, then the probe. (kernel's parent,
    probe outputs, the same probe on a fresh kernel)"""
    dirty, probe = jobs
    failed = tmp_path / "build" / "failed"
    fresh, _ = execute(probe, tmp_path / "fresh", failed, quiet=True)
    count = tmp_path / "imports"
    source = module + f"open({str(count)!r}, 'a').write('x')\n"
    nbdir = _importing_notebooks(tmp_path, monkeypatch, source)
    code = warm_code(nbdir)
    env = {**os.environ, VIEW_ENV: ""}
    template = kernel_template.start(tmp_path / "kernels.log", code, env)
    kernel = ReusedKernel(template=template.address)
    try:
        kernel.warm(tmp_path, {VIEW_ENV: ""}, code)
        process = psutil.Process(kernel.km.provisioner.process.pid)
        parent = "template" if process.ppid() == template.process.pid else process.ppid()
        args = [a for a in process.cmdline() if a]
        assert args[-2:] == ["-f", kernel.km.connection_file]  # shown as the kernel it is
        execute(dirty, tmp_path / "forked", failed, quiet=True, kernel=kernel)
        forked, _ = execute(probe, tmp_path / "forked", failed, quiet=True, kernel=kernel)
        assert kernel.km.provisioner.process.pid == process.pid  # one kernel ran both
    finally:
        kernel.close()
        template.close()
    # ended: gone, or a zombie (dead, its exit status not yet collected by its new parent)
    assert not _running(process) and not Path(template.address).exists()
    return parent, _outputs(forked), _outputs(fresh)


def test_a_forked_kernel_gives_a_fresh_kernels_outputs(tmp_path, probe_jobs, monkeypatch):  # noqa: F811
    """The template's import changes settings, warning filters, folder and environment."""
    module = DIRTY.replace("plt.figure()\n", "")
    parent, forked, fresh = _forked_run(tmp_path, probe_jobs, monkeypatch, module)
    assert parent == "template"
    assert (tmp_path / "imports").read_text() == "x"  # imported by the template, not the kernel
    assert forked == fresh


def test_a_template_whose_imports_draw_starts_kernels_anew(tmp_path, probe_jobs, monkeypatch):  # noqa: F811
    """A figure drawn on import loads the inline backend with no shell to attach it to: the
    template declines and the kernel starts the ordinary way (it imports the module again)."""
    parent, forked, fresh = _forked_run(tmp_path, probe_jobs, monkeypatch, DIRTY)
    assert parent == os.getpid()
    assert (tmp_path / "imports").read_text() == "xx"  # the template's and the kernel's import
    assert forked == fresh


def test_without_a_template_the_kernel_starts_the_ordinary_way(tmp_path):
    kernel = ReusedKernel(template=str(tmp_path / "no-template"))
    try:
        kernel.ensure(tmp_path)
        process = psutil.Process(kernel.km.provisioner.process.pid)
        assert process.ppid() == os.getpid()
        assert "ipykernel_launcher" in process.cmdline()
    finally:
        kernel.close()


def test_only_the_kernel_command_the_template_runs_is_forked():
    python = kernel_template.sys.executable
    same = [python, "-Xfrozen_modules=off", "-m", "ipykernel_launcher", "-f", "k.json"]
    assert kernel_template.kernel_command(same)
    assert not kernel_template.kernel_command([python, "-m", "ipykernel_launcher", "-f", "k.json"])
    assert not kernel_template.kernel_command([*same[:3], "other_kernel", "-f", "k.json"])


def test_the_template_imports_the_warming_cells_imports_but_not_the_inline_backend(tmp_path):
    _notebook(tmp_path / "a.ipynb", ["import os\nfrom json import dumps as d"])
    code = kernel_template._imports(warm_code(tmp_path))
    statements = [line.strip() for line in code.splitlines() if line.startswith("    ")]
    statements = [s for s in statements if s != "pass"]
    # worked out from warm_code: the kernel's modules, the notebook's two imports, then
    # LAZY_IMPORTS without matplotlib_inline.backend_inline (it attaches to a shell)
    from evaluation.pipeline.kernel_reuse import LAZY_IMPORTS

    lazy = [f"import {m}" for m in LAZY_IMPORTS if not m.startswith("matplotlib_inline")]
    assert statements == [
        "import ipykernel.kernelapp", "import ipykernel.ipkernel", "import ipykernel.zmqshell",
        "import os", "from json import dumps as d", *lazy,
    ]  # fmt: skip
    assert len(lazy) == len(LAZY_IMPORTS) - 1
