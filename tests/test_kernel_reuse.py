"""A worker's kernel is reused from one notebook to the next: a notebook run after another on the
same kernel gives the outputs it gives on a kernel of its own (second method: a fresh kernel)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest

from evaluation.pipeline.jobs import Job, execute
from evaluation.pipeline.kernel_reuse import LAZY_IMPORTS, ReusedKernel, warm_code
from evaluation.publish.view import ENV as VIEW_ENV

# leaves behind everything a notebook could: a variable, a module-level setting, a changed
# matplotlib setting, an open figure, a shown warning, another folder and an environment value
DIRTY = """
import os, warnings
import matplotlib as mpl
import matplotlib.pyplot as plt
leftover = 1
mpl.rcParams["lines.linewidth"] = 9
plt.figure()
warnings.warn("shown once per place", UserWarning)
os.chdir("/")
os.environ["LEFT_BEHIND"] = "yes"
"""

# what the second notebook reports about its kernel
PROBE = [
    "import os, warnings\nimport matplotlib as mpl\nimport matplotlib.pyplot as plt",
    "print('leftover' in dir(), mpl.rcParams['lines.linewidth'], len(plt.get_fignums()))",
    "print(os.path.basename(os.getcwd()).startswith('work-probe.tmp-'),\n"
    "      os.environ.get('LEFT_BEHIND'))",
    "print(os.environ.get('" + VIEW_ENV + "'))",
    "for _ in range(2):\n    warnings.warn('shown once per place', UserWarning)",
    "fig, ax = plt.subplots()\n_ = ax.plot([0, 1], [0, 1])",
]


def _notebook(path: Path, cells: list[str]) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 0", metadata={"tags": ["parameters"]})]
    nb.cells += [nbformat.v4.new_code_cell(c) for c in cells]
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "Py"}
    nb.metadata["language_info"] = {"name": "python"}
    nbformat.write(nb, path)
    return path


def _outputs(folder: Path) -> list:
    """(execution count, outputs) per cell; a warning names its kernel's process id."""
    text = (folder / "notebook.ipynb").read_text(encoding="utf-8")
    nb = json.loads(re.sub(r"ipykernel_\d+", "ipykernel_PID", text))
    return [(c.get("execution_count"), c.get("outputs")) for c in nb["cells"]]


def _importing_notebooks(tmp_path: Path, monkeypatch, source: str) -> Path:
    """A notebooks folder whose one notebook imports `dirtymod` (written with `source`), found
    by the kernels started from here on."""
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "dirtymod.py").write_text(source)
    monkeypatch.setenv("PYTHONPATH", str(lib))
    nbdir = tmp_path / "notebooks"
    nbdir.mkdir()
    _notebook(nbdir / "a.ipynb", ["from dirtymod import leftover\nx = leftover"])
    return nbdir


@pytest.fixture
def probe_jobs(tmp_path, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    dirty = _notebook(tmp_path / "dirty.ipynb", [DIRTY])
    probe = _notebook(tmp_path / "probe.ipynb", PROBE)
    params = {"x": 1, "disclosure_dir": str(tmp_path / "decision")}
    return (
        Job("dirty", dirty, "g", params, {}, key="dirty"),
        Job("probe", probe, "g", params, {}, key="work-probe"),
    )


def test_a_reused_kernel_gives_a_fresh_kernels_outputs(tmp_path, probe_jobs):
    dirty, probe = probe_jobs
    failed = tmp_path / "build" / "failed"
    fresh, _ = execute(probe, tmp_path / "fresh", failed, quiet=True)
    kernel = ReusedKernel()
    try:
        execute(dirty, tmp_path / "reused", failed, quiet=True, kernel=kernel)
        pid = kernel.km.provisioner.process.pid
        reused, _ = execute(probe, tmp_path / "reused", failed, quiet=True, kernel=kernel)
        assert kernel.km.provisioner.process.pid == pid  # the same kernel ran both
    finally:
        kernel.close()
    expected = _outputs(fresh)
    # worked out by hand: a new namespace, default line width, no figure, the job's own folder
    # and disclosure folder, the warning shown once, and the figure displayed
    texts = ["".join(o.get("text", "")) for _, outs in expected for o in outs]
    assert "False 1.5 0\n" in texts
    assert "True None\n" in texts
    assert str(tmp_path / "decision") + "\n" in texts
    assert sum("shown once per place" in t for t in texts) == 1
    assert any("image/png" in o.get("data", {}) for _, outs in expected for o in outs)
    assert [c for c, _ in expected] == list(range(1, 9))  # parameters, injected, 6 probes
    assert _outputs(reused) == expected


def test_a_warmed_kernel_gives_a_fresh_kernels_outputs(tmp_path, probe_jobs, monkeypatch):
    """A worker warms its kernel with the notebooks' imports before its first notebook; a module
    that leaves everything behind when imported is undone as a notebook's leftovers are."""
    _, probe = probe_jobs
    failed = tmp_path / "build" / "failed"
    fresh, _ = execute(probe, tmp_path / "fresh", failed, quiet=True)
    marker = tmp_path / "imported"
    nbdir = _importing_notebooks(
        tmp_path, monkeypatch, DIRTY + f"open({str(marker)!r}, 'w').close()\n"
    )
    kernel = ReusedKernel()
    try:
        kernel.warm(tmp_path, {VIEW_ENV: ""}, warm_code(nbdir))
        pid = kernel.km.provisioner.process.pid
        assert marker.exists()  # the import cell ran
        warmed, _ = execute(probe, tmp_path / "warmed", failed, quiet=True, kernel=kernel)
        assert kernel.km.provisioner.process.pid == pid  # on the warmed kernel
    finally:
        kernel.close()
    assert _outputs(warmed) == _outputs(fresh)


def test_the_warming_cell_imports_what_the_notebooks_import(tmp_path):
    _notebook(tmp_path / "a.ipynb", ["import os\nx = 1\nfrom json import dumps as d", "%time 1"])
    _notebook(tmp_path / "b.ipynb", ["import os", "if x:\n    import re"])
    code = warm_code(tmp_path)
    # top-level imports of every notebook, once each, then the modules imported later by the
    # library (a nested import and a cell of IPython syntax are left out)
    expected = ["import os", "from json import dumps as d", *(f"import {m}" for m in LAZY_IMPORTS)]
    assert code == "\n".join(f"try:\n    {s}\nexcept Exception:\n    pass" for s in expected)


def test_a_kernel_whose_notebook_failed_is_not_reused(tmp_path, probe_jobs):
    _, probe = probe_jobs
    broken = _notebook(tmp_path / "broken.ipynb", ["raise ValueError('planted')"])
    failed = tmp_path / "build" / "failed"
    kernel = ReusedKernel()
    try:
        with pytest.raises(Exception, match="planted"):
            execute(Job("broken", broken, "g", {"x": 1}, {}, key="b"), tmp_path / "c", failed,
                    quiet=True, kernel=kernel)  # fmt: skip
        assert kernel.km is None  # ended, not kept
        folder, _ = execute(probe, tmp_path / "c", failed, quiet=True, kernel=kernel)
        assert kernel.km is not None and kernel.km.is_alive()
    finally:
        kernel.close()
    assert (folder / "notebook.ipynb").is_file()


def test_a_client_ready_without_waiting_for_silence_hears_only_its_own_outputs(tmp_path):
    """The reused kernel's client is ready once kernel_info is answered on both channels (no
    0.2 s wait for IOPub to fall silent); whatever kernel_info left on IOPub must not reach the
    outputs of the code run next."""
    kernel = ReusedKernel()
    try:
        km = kernel.ensure(tmp_path)
        for _ in range(2):  # a second client on the same kernel, as the next notebook's
            kc = km.client()
            kc.start_channels()
            try:
                kc.wait_for_ready(timeout=60)
                seen: list[tuple[str, str]] = []

                def hook(msg, seen=seen):
                    seen.append((msg["msg_type"], msg["content"].get("text", "")))

                reply = kc.execute_interactive("print(6 * 7)", timeout=60, output_hook=hook)
            finally:
                kc.stop_channels()
            assert reply["content"]["status"] == "ok"
            # by hand: the kernel goes busy, echoes the input, prints 42, goes idle
            assert [t for kind, t in seen if kind == "stream"] == ["42\n"]
            assert [k for k, _ in seen if k == "status"] == ["status", "status"]
    finally:
        kernel.close()


def test_a_reused_kernel_talks_over_sockets_only_its_user_can_open(tmp_path):
    """IPC, not TCP: any local process may connect to a TCP port and read the kernel's outputs
    (signed, not encrypted); a socket file others cannot write to cannot be connected to. The
    files go with the kernel."""
    import os
    import stat
    import tempfile

    short = Path(tempfile.mkdtemp(prefix="k", dir="/tmp"))  # pytest's tmp_path can be too long
    kernel = ReusedKernel(connection_prefix=str(short / "evaluation-kernel-1-"))
    km = kernel.ensure(tmp_path)
    try:
        info = km.get_connection_info()
        assert info["transport"] == "ipc"
        kernel.prepare(tmp_path, {})  # the kernel has bound its sockets and answers over them
        sockets = sorted(short.glob("evaluation-kernel-1-*-ipc-*"))
        assert len(sockets) == 5  # shell, iopub, stdin, control, heartbeat
        for s in sockets:
            mode = os.stat(s).st_mode
            assert stat.S_ISSOCK(mode) and not mode & stat.S_IWOTH, s  # umask 022 or 002
    finally:
        kernel.close()
    assert list(short.iterdir()) == []
    short.rmdir()


def test_a_socket_path_too_long_for_an_address_falls_back_to_tcp(tmp_path):
    """A socket address holds 107 bytes on Linux, 103 on macOS, whose TMPDIR alone is ~49."""
    from evaluation.pipeline.kernel_reuse import transport

    assert transport("/tmp/evaluation-kernel-4242-0123456789ab.json") == "ipc"
    mac = "/var/folders/zz/zyxvpxvq6csfxvn_n0000000000000/T/evaluation-kernel-4242-"
    assert transport(mac + "0123456789ab.json") == "ipc"  # 87 bytes with '-ipc-99'
    assert transport("/" + "x" * 90 + "/evaluation-kernel-4242-0123456789ab.json") == "tcp"
    kernel = ReusedKernel(connection_prefix=str(tmp_path / ("x" * 80) / "evaluation-kernel-1-"))
    (tmp_path / ("x" * 80)).mkdir()
    km = kernel.ensure(tmp_path)
    try:
        assert km.get_connection_info()["transport"] == "tcp"
        kernel.prepare(tmp_path, {})
    finally:
        kernel.close()
