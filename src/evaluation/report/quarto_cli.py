"""The Quarto CLI from Python: finding it, its version, its error text, and a stage copy per
format so that formats render side by side."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from evaluation.errors import ExecutionError

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def clean(text: str) -> str:
    """Text without terminal colour codes, stripped."""
    return ANSI.sub("", text or "").strip()


def quarto_path() -> str | None:
    """The Quarto CLI, found the way the `quarto` Python package finds it (QUARTO_PATH, then
    PATH); None when there is none."""
    try:
        from quarto.quarto import path
    except ImportError:  # the wrapper is optional: PATH alone will do
        return shutil.which("quarto")
    return path()


def quarto_available() -> bool:
    """True when the Quarto CLI is on PATH (or named by QUARTO_PATH)."""
    found = quarto_path()
    return bool(found) and shutil.which(found) is not None


def quarto_version(executable: str) -> str:
    """`quarto --version` of the CLI itself (not of the Python wrapper)."""
    try:
        res = subprocess.run(
            [executable, "--version"], capture_output=True, text=True, timeout=120, check=False
        )
    except OSError as exc:
        raise ExecutionError(f"Quarto at {executable} could not be started: {exc}") from exc
    if res.returncode != 0 or not res.stdout.strip():
        raise ExecutionError(
            f"`{executable} --version` failed (exit {res.returncode}): "
            + clean(res.stderr or res.stdout)[-2000:]
        )
    return res.stdout.strip().splitlines()[-1].strip()


def stage_copy(stage: Path, fmt: str) -> Path:
    """A copy of the stage for one format's Quarto run (named so that debris sweeps find it)."""
    copy = stage.with_name(f"{stage.name}-{fmt}")
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(stage, copy, symlinks=True, ignore=shutil.ignore_patterns(".quarto"))
    return copy


def quarto_errors(log: str, limit: int = 40) -> str:
    """Quarto's own error text: from its first ERROR line on, else the end of its output."""
    lines = [ln for ln in log.splitlines() if ln.strip()]
    start = next((i for i, ln in enumerate(lines) if "ERROR" in ln), max(0, len(lines) - limit))
    return "\n".join(lines[start : start + limit])
