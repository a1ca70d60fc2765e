"""Content hashes for cache keys and the manifest."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parents[1]

# Code that orchestrates, renders or measures never runs inside a notebook, so a change to
# it must not re-execute notebooks (it still re-renders: the run key hashes everything).
NOT_IN_NOTEBOOKS = frozenset(
    {"__main__.py", "cli.py", "report/chapters.py", "report/embed.py", "report/render.py"}
)
NOT_IN_NOTEBOOKS_DIRS = ("pipeline/",)


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def tree_sha256(root: Path, pattern: str = "**/*", skip: frozenset[str] = frozenset()) -> str:
    """sha256 over the relative names and contents of every file under root (bar `skip`)."""
    h = hashlib.sha256()
    for p in sorted(q for q in root.glob(pattern) if q.is_file() and "__pycache__" not in q.parts):
        rel = str(p.relative_to(root))
        if rel in skip or any(rel.startswith(d) for d in skip if d.endswith("/")):
            continue
        h.update(rel.encode())
        h.update(file_sha256(p).encode())
    return h.hexdigest()


def library_sha256(notebook_code_only: bool = False) -> str:
    """sha256 of the library's own source: a code change invalidates cached results.

    notebook_code_only=True leaves out the modules notebooks never import.
    """
    skip = NOT_IN_NOTEBOOKS | set(NOT_IN_NOTEBOOKS_DIRS) if notebook_code_only else frozenset()
    return tree_sha256(PACKAGE_DIR, "**/*.py", frozenset(skip))


def combine(*parts: object) -> str:
    """A stable sha256 of JSON-serialisable parts."""
    text = json.dumps(parts, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def git_commit() -> str:
    """The checked-out commit, with "-dirty" when tracked files changed; "unknown" outside git."""
    try:
        res = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
        commit = res.stdout.strip() or "unknown"
        return commit + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
