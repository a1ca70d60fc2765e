"""One notebook kernel per worker process, reused from one notebook to the next.

Starting a kernel and importing pandas, scipy, statsmodels and matplotlib costs a few seconds of
CPU, more than most of our notebooks spend computing. A worker therefore keeps its kernel and,
before each notebook, puts it back into the state of a fresh kernel: an empty namespace and
execution counter (`InteractiveShell.reset(new_session=True)`), the environment variables it
started with, the notebook's own working folder and disclosure folder, the warning filters and
"shown once" registries of a new process, matplotlib's settings as the inline backend first set
them, and no open figure. The imported modules stay: that is the saving. A worker even starts
its kernel and runs the notebooks' imports (warm_code) before its first notebook is known, while
the data are validated, so that every notebook runs as the second one on a reused kernel.
Executed notebooks are the same, byte for byte, as from a fresh kernel (tests/test_kernel_reuse.py
compares them).
"""

from __future__ import annotations

import ast
import functools
import json
import os
from pathlib import Path
from typing import Any

from evaluation.errors import ExecutionError

ENGINE = "evaluation-reused-kernel"

# Run silently in the kernel before each notebook (no output, no execution count).
PRELUDE = """
import os as _os, sys as _sys, types as _types, warnings as _warnings
_state = _sys.modules.get("_evaluation_kernel_state")
if _state is None:
    import matplotlib as _mpl
    import matplotlib.pyplot as _plt
    _state = _types.ModuleType("_evaluation_kernel_state")
    _state.filters = list(_warnings.filters)
    _state.environ = dict(_os.environ)
    # the backend and interactive mode are the inline backend's, set when first used
    _state.rc = {{k: v for k, v in _mpl.rcParams.items() if k not in ("backend", "interactive")}}
    _sys.modules["_evaluation_kernel_state"] = _state
else:
    import matplotlib as _mpl
    import matplotlib.pyplot as _plt
    _plt.close("all")
    with _warnings.catch_warnings():
        _warnings.simplefilter("ignore")
        _mpl.rcParams.update(_state.rc)
    # resetting the filters marks every "shown once" registry stale, as in a new process
    _warnings.resetwarnings()
    _warnings.filters[:] = _state.filters
    _os.environ.clear()
    _os.environ.update(_state.environ)
_os.chdir({cwd})
_os.environ.update({env})
get_ipython().reset(new_session=True)
"""


# Imported inside the library functions the notebooks call, not at the top of a module.
LAZY_IMPORTS = (
    "IPython.core.pylabtools",
    "matplotlib.figure",
    "matplotlib.ticker",
    "matplotlib_inline.backend_inline",
    "pyarrow.compute",
    "scipy.stats",
    "statsmodels.discrete.discrete_model",
    "statsmodels.duration.survfunc",
    "statsmodels.genmod.generalized_linear_model",
    "statsmodels.stats.power",
    "statsmodels.tools.tools",
)


def warm_code(nbdir: Path) -> str:
    """An import cell: every import statement of the notebooks, then the modules their library
    calls import later; each in its own try, so that one that fails is left to its notebook."""
    statements: list[str] = []
    for path in sorted(nbdir.glob("*.ipynb")):
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            if cell["cell_type"] != "code":
                continue
            try:
                tree = ast.parse("".join(cell["source"]))
            except SyntaxError:  # IPython syntax: its imports are warmed by another notebook
                continue
            for node in tree.body:
                line = ast.unparse(node)
                if isinstance(node, (ast.Import, ast.ImportFrom)) and line not in statements:
                    statements.append(line)
    statements += [f"import {name}" for name in LAZY_IMPORTS]
    return "\n".join(f"try:\n    {line}\nexcept Exception:\n    pass" for line in statements)


def connection_prefix(run_pid: int) -> str:
    """Where the kernels of run process `run_pid` keep their connection files and IPC socket
    files: a kernel that dies with its worker (Ctrl-C) leaves them, and the run then removes
    them by this name."""
    import tempfile

    return str(Path(tempfile.gettempdir()) / f"evaluation-kernel-{run_pid}-")


IPC_SUFFIX = "-ipc"  # a kernel's IPC sockets: its connection file's name less .json, -ipc, -N


def socket_files(connection_file: Path) -> list[Path]:
    """The IPC socket files of the kernel whose connection file this is (FILE-ipc-N)."""
    return sorted(connection_file.parent.glob(f"{connection_file.stem}{IPC_SUFFIX}-*"))


def transport(connection_file: str) -> str:
    """'ipc' when the kernel's socket files, named after its connection file, fit a socket
    address (about 104 bytes; a long TMPDIR can exceed it), else 'tcp'.

    Over IPC the sockets are files that other users cannot open (connecting needs write
    permission); over TCP any local process can connect to the kernel's ports and read its
    outputs, which are signed, not encrypted.
    """
    import zmq

    longest = len(os.fsencode(f"{connection_file.removesuffix('.json')}{IPC_SUFFIX}-99"))
    return "ipc" if longest < min(getattr(zmq, "IPC_PATH_MAX_LEN", 103), 103) else "tcp"


class ReusedKernel:
    """A kernel kept alive across notebooks by one worker process."""

    def __init__(
        self, kernel_name: str = "python3", connection_prefix: str = "", template: str = ""
    ) -> None:
        self.kernel_name = kernel_name
        # connection files named by the run (connection_files), else by this process
        self.connection_prefix = connection_prefix
        self.template = template  # a kernel_template address: kernels forked there, when it can
        self.km: Any = None

    def ensure(self, cwd: Path) -> Any:
        """The kernel manager of a running kernel (a new kernel if there is none or it died)."""
        if self.km is not None and not self.km.is_alive():
            self.close()
        if self.km is None:
            import uuid

            from jupyter_client.manager import KernelManager

            prefix = self.connection_prefix or connection_prefix(os.getpid())
            file = f"{prefix}{uuid.uuid4().hex[:12]}.json"
            km = KernelManager(
                kernel_name=self.kernel_name, transport=transport(file), connection_file=file
            )
            km.client_factory = _ready_client_class()
            if self.template:
                from evaluation.pipeline.kernel_template import provisioner

                km.provisioner = provisioner(km, self.template)
            km.start_kernel(cwd=str(cwd))
            self.km = km
        return self.km

    def prepare(self, cwd: Path, env: dict[str, str], timeout: float = 120) -> None:
        """Reset the kernel to a fresh kernel's state for a notebook run in `cwd` with `env`."""
        code = PRELUDE.format(cwd=json.dumps(str(cwd)), env=json.dumps(env))
        self._run(code, "reset the notebook kernel for the next notebook", timeout)

    def warm(self, cwd: Path, env: dict[str, str], code: str, timeout: float = 300) -> None:
        """Start the kernel and run `code` (imports) in it as a notebook would run it: after the
        prelude, so that the next notebook finds the kernel as the second notebook on a reused
        kernel finds it."""
        self.ensure(cwd)
        self.prepare(cwd, env, timeout)
        self._run(code, "warm the notebook kernel", timeout)

    def _run(self, code: str, what: str, timeout: float) -> None:
        """Execute code silently (no output, no execution count); raise if it fails."""
        kc = self.km.client()
        kc.start_channels()
        try:
            kc.wait_for_ready(timeout=timeout)
            reply = kc.execute_interactive(
                code, silent=True, store_history=False, timeout=timeout, allow_stdin=False
            )
        finally:
            kc.stop_channels()
        content = reply["content"]
        if content.get("status") != "ok":
            raise ExecutionError(
                f"could not {what}: {content.get('ename')}: {content.get('evalue')}"
            )

    def close(self) -> None:
        """End the kernel and remove its connection file."""
        km, self.km = self.km, None
        if km is None:
            return
        try:
            km.shutdown_kernel(now=True)
        except Exception:  # noqa: BLE001 - a dead kernel needs no shutdown
            pass
        try:
            km.cleanup_resources()
        except Exception:  # noqa: BLE001
            pass


@functools.cache
def _ready_client_class() -> type:
    """jupyter_client's blocking client, ready as soon as the kernel has answered kernel_info on
    the shell channel and published on IOPub (so both are connected), without then waiting for
    IOPub to stay silent for 0.2 s: every client that runs code here (the prelude, nbclient)
    matches replies and outputs to its own request by message id, so a late status message of
    kernel_info is ignored. That wait came twice per notebook, on a kernel already running."""
    import time
    from queue import Empty

    from jupyter_client.blocking.client import BlockingKernelClient

    class ReadyClient(BlockingKernelClient):
        def wait_for_ready(self, timeout: float | None = None) -> None:
            deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
            while True:
                self.kernel_info()
                try:
                    reply = self.get_shell_msg(timeout=1)
                except Empty:
                    reply = None
                if reply is not None and reply["msg_type"] == "kernel_info_reply":
                    try:
                        self.get_iopub_msg(timeout=0.2)  # IOPub connected: it hears the kernel
                    except Empty:
                        pass
                    else:
                        self._handle_kernel_info_reply(reply)
                        break
                if not self.is_alive():
                    raise RuntimeError("Kernel died before replying to kernel_info")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"Kernel didn't respond in {timeout:g} seconds")
            while True:  # what IOPub already holds, without waiting for more
                try:
                    self.get_iopub_msg(timeout=0)
                except Empty:
                    break

    return ReadyClient


@functools.cache
def register_engine() -> None:
    """A papermill engine that runs a notebook on a given kernel manager (`km=`) and leaves the
    kernel running afterwards; its client's channels are closed."""
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, papermill_engines
    from papermill.log import logger
    from papermill.utils import merge_kwargs, remove_args

    class ReusedKernelEngine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(
            cls,
            nb_man,
            kernel_name,
            log_output=False,
            stdout_file=None,
            stderr_file=None,
            start_timeout=60,
            execution_timeout=None,
            **kwargs,
        ):
            kwargs = remove_args(["input_path", "timeout", "startup_timeout"], **kwargs)
            final = merge_kwargs(
                kwargs,
                timeout=execution_timeout,
                startup_timeout=start_timeout,
                kernel_name=kernel_name,
                log=logger,
                log_output=log_output,
                stdout_file=stdout_file,
                stderr_file=stderr_file,
            )
            client = PapermillNotebookClient(nb_man, **final)
            try:
                return client.execute()
            finally:
                if client.kc is not None:
                    client.kc.stop_channels()

    papermill_engines.register(ENGINE, ReusedKernelEngine)
