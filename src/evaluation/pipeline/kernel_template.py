"""Notebook kernels forked from one template process that has imported what they import.

Each kernel would otherwise import pandas, scipy, statsmodels, matplotlib and the library
itself on its own: 3.5 s of CPU per kernel, paid while the data are validated. The run starts
one template process (`start`), which imports them once and then waits on a Unix socket. A
worker's kernel manager asks it for a kernel (`ForkProvisioner`): the template forks, and the
child becomes the kernel exactly as `python -m ipykernel_launcher -f FILE` would, with the
worker's environment, working folder, stdout and stderr, in a session of its own. Modules whose
import acts on the running IPython shell (the inline backend) are left for the kernel to import.

The template imports with the kernel's matplotlib backend set, so that every module sees at
import what it sees in a kernel. Kernels of a template that has gone (or of a worker given no
template) start the ordinary way.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evaluation.pipeline.build_folder import alive

# Imports that act on the IPython shell when they run: left for the kernel to import.
_SHELL_BOUND = ("matplotlib_inline",)
_INLINE_BACKEND = "matplotlib_inline.backend_inline"
_KERNEL_MODULE = "ipykernel_launcher"
NICENESS = 5
TEMPLATE_PREFIX = "evaluation-template-"
INTERPRETER_OPTIONS = ("-Xfrozen_modules=off",)  # the python3 kernel spec's (ipykernel)


@dataclass
class Template:
    """A running template process and the socket it listens on."""

    address: str
    process: Any  # subprocess.Popen

    def close(self) -> None:
        """End the template; its kernels end when their workers end them (or it has gone)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except Exception:  # noqa: BLE001 - ended below
                self.process.kill()
                self.process.wait()
        Path(self.address).unlink(missing_ok=True)


def start(log: Path, warm_code: str, env: dict[str, str]) -> Template:
    """Start a template that runs the import statements of `warm_code` (kernel_reuse), with
    the kernels' environment `env`, in the folder of `log`, where what it says goes (appended)."""
    import subprocess
    import tempfile
    import uuid

    name = f"{TEMPLATE_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:16]}"  # named by its run
    address = str(Path(tempfile.gettempdir()) / name)
    # bound here, so that a worker can connect (and wait) before the template has started
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(address)
    listener.listen(8)
    with listener, open(log, "a", encoding="utf-8") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                *INTERPRETER_OPTIONS,
                "-c",
                "from evaluation.pipeline.kernel_template import serve; serve()",
                address,
                str(listener.fileno()),
                "." * 256,  # room for the kernels' command lines (_show_as)
            ],
            pass_fds=[listener.fileno()],
            cwd=log.parent,
            env=env,
            stdin=subprocess.PIPE,
            stdout=out,
            stderr=out,
        )
    with process.stdin:
        process.stdin.write(warm_code.encode())
    return Template(address, process)


def available() -> bool:
    """Whether kernels can be forked here (POSIX with Unix sockets)."""
    return hasattr(os, "fork") and hasattr(socket, "AF_UNIX") and hasattr(socket, "send_fds")


def kernel_command(cmd: list[str]) -> bool:
    """Whether cmd starts the kernel as the template would: same interpreter and options."""
    return cmd[:-4] == [sys.executable, *INTERPRETER_OPTIONS] and cmd[-4:-1] == [
        "-m",
        _KERNEL_MODULE,
        "-f",
    ]


def _imports(warm_code: str) -> str:
    """The kernel's and warm_code's import statements, each in its own try, without those that
    act on the shell (_SHELL_BOUND)."""
    import ast

    kept = ["import ipykernel.kernelapp", "import ipykernel.ipkernel", "import ipykernel.zmqshell"]
    for node in ast.parse(warm_code).body:  # warm_code: one `try: <import> except: pass` each
        for statement in node.body if isinstance(node, ast.Try) else [node]:
            line = ast.unparse(statement)
            if not any(name in line for name in _SHELL_BOUND):
                kept.append(line)
    return "\n".join(f"try:\n    {s}\nexcept Exception:\n    pass" for s in kept)


def _import_leaving_no_trace(code: str) -> bool:
    """Run the import statements, then undo what importing left behind (matplotlib settings,
    open figures, warning filters, working folder, environment), as a kernel's prelude undoes
    what its warming imports left (kernel_reuse.PRELUDE keeps the state from before them).

    False when an import drew a figure and so loaded the inline backend without a shell to
    attach to: a kernel forked from here would show no figures."""
    import warnings

    import matplotlib

    rc = {k: v for k, v in matplotlib.rcParams.items() if k not in ("backend", "interactive")}
    filters, folder, environ = list(warnings.filters), os.getcwd(), dict(os.environ)
    exec(compile(code, "<kernel imports>", "exec"), {})  # noqa: S102
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        matplotlib.rcParams.update(rc)
    warnings.filters[:] = filters
    os.chdir(folder)
    os.environ.clear()
    os.environ.update(environ)
    return _INLINE_BACKEND not in sys.modules


def serve() -> None:
    """The template process: import, then fork a kernel for each request until the run ends."""
    import gc
    import select
    import signal

    address, run = sys.argv[1], os.getppid()
    listener = socket.socket(fileno=int(sys.argv[2]))  # bound and listening (start)
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # ended: remove the socket
    # the template and its kernels yield to the run's own work (validation, the disclosure
    # check beside the first notebooks) when both want a core; alone, they run at full speed
    os.nice(NICENESS)
    try:
        forkable = _import_leaving_no_trace(_imports(sys.stdin.read()))
        if not forkable:
            print("kernel template: an import loaded the inline backend; kernels start anew")
        # the imported modules live as long as the kernels: the garbage collector need not look
        # at them again (each full collection in a kernel, and IPython's reset, would)
        gc.collect()
        gc.freeze()
        signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the system reaps ended kernels
        while os.getppid() == run:
            ready, _, _ = select.select([listener], [], [], 0.5)
            if ready:
                conn, _ = listener.accept()
                with conn:
                    _answer(conn, listener, forkable)
    except KeyboardInterrupt:
        pass
    finally:
        listener.close()
        Path(address).unlink(missing_ok=True)
    # the run waits for this process to end: skip tearing down what it imported (0.1 s)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _receive(conn: socket.socket) -> tuple[dict, list[int]]:
    data, fds, _, _ = socket.recv_fds(conn, 1 << 16, 2)
    chunks = [data]
    while chunk := conn.recv(1 << 16):
        chunks.append(chunk)
    return json.loads(b"".join(chunks)), fds


def _answer(conn: socket.socket, listener: socket.socket, forkable: bool) -> None:
    request, fds = _receive(conn)
    if not (forkable and kernel_command(request["cmd"]) and len(fds) == 2):
        conn.sendall(b'{"pid": null}')
        for fd in fds:
            os.close(fd)
        return
    sys.stdout.flush()
    sys.stderr.flush()
    template = os.getpid()
    pid = os.fork()
    if pid == 0:
        listener.close()
        conn.close()
        _become_kernel(request, fds, template)
    for fd in fds:
        os.close(fd)
    conn.sendall(json.dumps({"pid": pid}).encode())


def _become_kernel(request: dict, fds: list[int], template: int) -> None:
    """In the forked child: become `python -m ipykernel_launcher -f FILE`; never returns."""
    import atexit
    import runpy
    import signal
    import traceback

    code = 1
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.setsid()  # as jupyter_client starts kernels: interrupts reach its process group
        _end_with_parent(template)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(fds[0], 1)
        os.dup2(fds[1], 2)
        for fd in (null, *fds):
            os.close(fd)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        # the kernel ends when the template has gone; the setting is read from the environment
        # when ipykernel is imported, which was before this
        parent = str(os.getppid())
        os.environ["JPY_PARENT_PID"] = parent
        sys.argv = ["", *request["cmd"][-2:], f"--IPKernelApp.parent_handle={parent}"]
        _show_as(request["cmd"])
        runpy.run_module(_KERNEL_MODULE, run_name="__main__", alter_sys=True)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # noqa: BLE001 - reported on the kernel's stderr
        traceback.print_exc()
    finally:
        try:
            atexit._run_exitfuncs()
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _end_with_parent(parent: int) -> None:
    """End this kernel when the template ends, however it ends (Linux: the parent-death
    signal). ipykernel's own watch misses a template killed before the kernel starts it, when
    the kernel is then adopted by a process other than init."""
    import ctypes
    import signal

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the template ended before the signal was set
        os._exit(1)


def _show_as(args: list[str]) -> None:
    """Show this process as `args` (ps, /proc/PID/cmdline): the kernel command a worker asked
    for, connection file included, as a kernel started the ordinary way shows it. The template
    reserves room for it on its own command line (Linux; elsewhere nothing changes)."""
    import ctypes

    try:
        with open("/proc/self/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
        start, end = int(fields[45]), int(fields[46])  # arg_start, arg_end (fields 48 and 49)
    except (OSError, IndexError, ValueError):
        return
    text = b"\0".join(a.encode() for a in args) + b"\0"
    if 0 < start < end and len(text) <= end - start:
        ctypes.memmove(start, text.ljust(end - start, b"\0"), end - start)


class ForkedKernel:
    """The part of subprocess.Popen that jupyter_client uses, for a kernel forked by the
    template (a process that is not this one's child)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self.stdin = self.stdout = self.stderr = None

    def poll(self) -> int | None:
        if self.returncode is None and not alive(self.pid):
            self.returncode = -1  # its exit status went to the template
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                import subprocess

                raise subprocess.TimeoutExpired(f"kernel {self.pid}", timeout)
            time.sleep(0.02)
        # the kernel's main thread shows as a zombie while its other threads still exit; the
        # template reaps the whole process once they have: wait for that (a second at most),
        # so that a template ended next does not leave the kernel to a parent that never reaps
        until = time.monotonic() + 1.0
        while os.path.exists(f"/proc/{self.pid}") and time.monotonic() < until:
            time.sleep(0.01)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, signum)

    def kill(self) -> None:
        import signal

        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        import signal

        self.send_signal(signal.SIGTERM)


def fork_kernel(address: str, cmd: list[str], env: dict[str, str], cwd: str) -> ForkedKernel | None:
    """A kernel forked by the template at `address` for this command, or None (no template, or
    one that does not start kernels this way): then start it the ordinary way."""
    if not kernel_command(cmd):
        return None
    request = json.dumps({"cmd": cmd, "env": env, "cwd": cwd}).encode()
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(120)  # the template imports first: seconds, unless something hangs
            conn.connect(address)
            socket.send_fds(conn, [request], [1, 2])
            conn.shutdown(socket.SHUT_WR)
            reply = json.loads(b"".join(iter(lambda: conn.recv(1 << 16), b"")) or b"{}")
    except (OSError, ValueError):
        return None
    pid = reply.get("pid")
    return ForkedKernel(pid) if isinstance(pid, int) else None


def provisioner(km: Any, address: str) -> Any:
    """A provisioner for kernel manager `km` that asks the template at `address` first."""
    import uuid

    from jupyter_client.provisioning.local_provisioner import LocalProvisioner

    class ForkProvisioner(LocalProvisioner):
        async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> Any:
            cwd = str(kwargs.get("cwd") or os.getcwd())
            forked = fork_kernel(address, cmd, dict(kwargs.get("env") or os.environ), cwd)
            if forked is None:
                return await super().launch_kernel(cmd, **kwargs)
            self.process = forked
            self.pid = self.pgid = forked.pid
            self.cwd = cwd
            return self.connection_info

    km.kernel_id = km.kernel_id or str(uuid.uuid4())
    return ForkProvisioner(kernel_id=km.kernel_id, kernel_spec=km.kernel_spec, parent=km)
