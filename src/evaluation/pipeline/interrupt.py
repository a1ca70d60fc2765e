"""Ctrl-C (or SIGTERM) during a run: end every process the run started, then clean up.

Notebook kernels run in worker processes, and a worker's kernel outlives it when the worker is
killed first. On the first signal the whole process tree is therefore collected before anything
is ended; then the run's temporary files (half-executed notebooks, report stages, partial run
folders, the kernels' connection files) are removed. The published outputs are not touched.
"""

from __future__ import annotations

import os
import shutil
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from evaluation.pipeline.build_folder import PUBLISHED, sweep_debris
from evaluation.pipeline.kernel_reuse import socket_files


def _tree() -> list:
    """Every descendant process of this one, deepest first (kernels before their workers).

    multiprocessing's resource tracker is left alone: it frees the shared semaphores when
    this process exits, and ending it first would leak them.
    """
    import psutil

    try:
        children = psutil.Process().children(recursive=True)
    except psutil.Error:
        return []
    kept = []
    for child in children:
        try:
            if any("resource_tracker" in a for a in child.cmdline()):
                continue
        except psutil.Error:
            continue
        kept.append(child)
    return list(reversed(kept))


def _connection_files(procs: list) -> list[Path]:
    """The Jupyter connection files named on kernels' command lines (`-f FILE`), and the IPC
    socket files named after them (`FILE-ipc-N`, without `.json`)."""
    import psutil

    files = []
    for proc in procs:
        try:
            args = proc.cmdline()
        except psutil.Error:
            continue
        for flag, value in zip(args, args[1:], strict=False):
            if flag == "-f" and value.endswith(".json"):
                files += [Path(value), *socket_files(Path(value))]
    return files


def end_children(grace: float = 3.0) -> list[Path]:
    """Terminate every descendant process (kill what outlives `grace` seconds).

    Returns the connection files of the kernels that were ended, for removal.
    """
    return _end(_tree(), grace)


def end_processes(pids: list[int], grace: float = 3.0) -> None:
    """End the given processes and their descendants (deepest first), and remove the connection
    files of the kernels among them."""
    import psutil

    procs = []
    for pid in pids:
        try:
            root = psutil.Process(pid)
            procs += [*reversed(root.children(recursive=True)), root]
        except psutil.Error:
            continue
    for f in _end(procs, grace):
        f.unlink(missing_ok=True)


def _end(procs: list, grace: float) -> list[Path]:
    import psutil

    files = _connection_files(procs)
    for proc in procs:
        try:
            proc.terminate()
        except psutil.Error:
            pass
    _, alive = psutil.wait_procs(procs, timeout=grace)
    for proc in alive:
        try:
            proc.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(alive, timeout=grace)
    return files


def remove_temporaries(build: Path, pid: int | None = None) -> None:
    """Delete what an interrupted run of process `pid` left in build/; keep published outputs."""
    pid = pid or os.getpid()
    sweep_debris(build)  # half-executed notebooks and stages of processes that are gone
    stages = [*build.glob(f".stage-{pid}"), *build.glob(f".stage-{pid}-*")]
    for path in [*stages, *build.glob(f".*.new-{pid}")]:
        if path.is_symlink() or path.is_file():
            path.unlink(missing_ok=True)
        else:
            shutil.rmtree(path, ignore_errors=True)
    for path in build.rglob(f".*.tmp-{pid}"):
        path.unlink(missing_ok=True)
    data = build / "data"
    for path in data.glob("*.tmp") if data.is_dir() else []:
        shutil.rmtree(path, ignore_errors=True)
    runs = build / ".runs"
    live = {(build / n).resolve().parent for n in PUBLISHED if (build / n).is_symlink()}
    for run_dir in runs.iterdir() if runs.is_dir() else []:
        if not (run_dir / ".complete").exists() and run_dir.resolve() not in live:
            shutil.rmtree(run_dir, ignore_errors=True)


@contextmanager
def interruptible(build: Path) -> Iterator[None]:
    """Run the block so that Ctrl-C or SIGTERM ends all its processes and leaves no debris.

    The signal still ends the run: KeyboardInterrupt is raised once the processes are gone.
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread
        return
    files: list[Path] = []

    def stop(signum: int, frame: object) -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut cleanup
        files.extend(end_children())
        raise KeyboardInterrupt

    before = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        files.extend(end_children())
        for f in files:
            f.unlink(missing_ok=True)
        remove_temporaries(build)
        raise
    finally:
        for s, handler in before.items():
            signal.signal(s, handler)


__all__ = ["end_children", "end_processes", "interruptible", "remove_temporaries"]
