"""The build folder's housekeeping: publish a run by symlink swap, remove what killed runs left,
keep the last runs, write JSON atomically."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

PUBLISHED = ("notebooks", "results", "report", "disclosure")


def publish(build: Path, run_dir: Path, names: tuple[str, ...] = PUBLISHED) -> None:
    """Point build/{notebooks,results,report} at run_dir atomically (symlink swap)."""
    for name in names:
        link = build / name
        target = os.path.relpath(run_dir / name, build)
        tmp = build / f".{name}.new-{os.getpid()}"
        if tmp.is_symlink() or tmp.exists():
            tmp.unlink()
        os.symlink(target, tmp)
        if link.exists() and not link.is_symlink():
            shutil.rmtree(link)
        os.replace(tmp, link)


def alive(pid: int) -> bool:
    """True while process pid runs (a zombie, killed but not yet reaped, counts as gone).
    Another user's process, or a number that is no process id, counts as running: what it
    names is left alone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in "ZX"
    except (OSError, IndexError):
        return True


def sweep_debris(build: Path) -> None:
    """Remove what killed runs left: half-executed notebooks and report stages of dead processes."""
    cached = [*(build / "cache").glob("*.tmp-*"), *(build / "store").glob("*.tmp-*")]
    for path in [*cached, *build.glob(".stage-*")]:
        tail = path.name.rsplit(".tmp-", 1)[1] if ".tmp-" in path.name else path.name[7:]
        pid = tail.split("-")[0]
        if pid.isdigit() and not alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)


def prune_runs(build: Path, keep: int = 2) -> None:
    """Remove old run folders that no published link points to, and debris of killed runs."""
    sweep_debris(build)
    runs = build / ".runs"
    if not runs.is_dir():
        return
    live = {(build / n).resolve().parent for n in PUBLISHED if (build / n).is_symlink()}
    old = sorted(
        (d for d in runs.iterdir() if d.is_dir() and d.resolve() not in live),
        key=lambda d: d.stat().st_mtime,
        reverse=True,
    )
    for d in old[keep - 1 :] if keep > 0 else old:
        shutil.rmtree(d, ignore_errors=True)


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON next to path, then rename over it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, path)
