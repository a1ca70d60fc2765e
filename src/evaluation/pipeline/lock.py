"""One run at a time per build folder: an exclusive lock on build/.lock (flock).

The operating system releases the lock when the process ends, however it ends, so a killed run
never leaves a stale lock behind. The file itself stays; it records who holds it.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from evaluation.errors import StorageError

LOCK_NAME = ".lock"


def holder(build: Path) -> str:
    """Who holds (or last held) the lock: 'process 123 (evaluation run, since 10:02:03)'."""
    try:
        text = (build / LOCK_NAME).read_text(encoding="utf-8").strip()
    except OSError:
        return "another process"
    return text or "another process"


@contextmanager
def build_lock(build: Path, command: str = "evaluation run", wait: float = 0.0) -> Iterator[None]:
    """Hold the build folder's lock while the block runs; wait up to `wait` seconds for it.

    Raises StorageError (exit 4) with a plain sentence when another run keeps it.
    """
    build.mkdir(parents=True, exist_ok=True)
    path = build / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() >= deadline:
                who = holder(build)
                os.close(fd)
                raise StorageError(
                    f"the build folder {build} is in use by {who}; wait for that run to "
                    f"finish and try again, or give this run its own folder with --build DIR"
                ) from None
            time.sleep(0.5)
    try:
        os.ftruncate(fd, 0)
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        os.write(fd, f"process {os.getpid()} ({command}, since {stamp})\n".encode())
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


__all__ = ["LOCK_NAME", "build_lock", "holder"]
