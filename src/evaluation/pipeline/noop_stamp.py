"""A rerun with nothing changed, answered before any heavy import.

After a successful run the build folder gets a stamp: the run's options and a fingerprint of
every file the run can read (name, size and modification time, as make and git do), with the
run folder its outputs point at. `evaluation run` compares the stamp first; if a single file,
option, interpreter, renderer or key differs, or the outputs are not the ones the stamp names,
the full run decides (which hashes contents and may still find nothing to do).

Only the standard library is imported here: the answer takes a few milliseconds.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

from evaluation.hashing import REPO_ROOT

STAMP = ".noop.json"
MESSAGE = "nothing changed since the last run: outputs are up to date"
VERSION = 1
# what the code, notebooks, report sources and packages are: read by every run
REPO_INPUTS = (
    "src/evaluation",
    "notebooks",
    "reports",
    "data_schemas",
    "config",
    "_quarto.yml",
    "requirements.lock",
    "analysis_plan.yaml",
    "evaluation_questions.yaml",
)
KEY_ENV = ("EVALUATION_PSEUDONYM_KEY", "EVALUATION_PSEUDONYM_KEY_FILE")


def _walk(root: str, out: list) -> None:
    """(path, size, mtime_ns) of root, or of every file under it; missing roots count too."""
    try:
        st = os.stat(root)
    except OSError:
        out.append((root, "missing"))
        return
    if not os.path.isdir(root):
        out.append((root, st.st_size, st.st_mtime_ns))
        return
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            try:
                st = os.stat(path)
            except OSError:
                out.append((path, "missing"))
                continue
            out.append((path, st.st_size, st.st_mtime_ns))


def _environment(render: bool) -> list:
    """Interpreter, pseudonymisation key (as a digest) and, when rendering, the Quarto found."""
    env: list = [sys.executable, sys.version]
    for name in KEY_ENV:
        value = os.environ.get(name, "")
        env.append(hashlib.sha256(value.encode()).hexdigest() if value else "")
    key_file = os.environ.get(KEY_ENV[1]) or str(
        Path.home() / ".config" / "evaluation" / "pseudonym.key"
    )
    _walk(os.path.expanduser(key_file), env)
    if render:  # Quarto is found as report.quarto_cli finds it: QUARTO_PATH, then PATH
        named = os.environ.get("QUARTO_PATH", "")
        quarto = shutil.which(named) if named else shutil.which("quarto")
        env += [named, quarto or "no quarto"]
        if quarto:
            _walk(os.path.realpath(quarto), env)
    return env


def fingerprint(options: dict, roots: list[str]) -> str:
    """A digest of the options, the environment and the state of every file under roots."""
    files: list = []
    for root in roots:
        _walk(root, files)
    parts = [VERSION, options, _environment(bool(options.get("render"))), files]
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()


def roots_of(config_path: Path, data_paths: list[Path]) -> list[str]:
    """Every file or folder a run reads: the repository's code and sources, the
    configuration's folder (its YAML files) and the data."""
    roots = [str(REPO_ROOT / name) for name in REPO_INPUTS]
    folder = config_path.resolve().parent
    roots += sorted(str(p) for p in folder.glob("*.y*ml"))
    roots += [str(p.resolve()) for p in data_paths]
    return sorted(set(roots))


def write(
    build: Path, options: dict, roots: list[str], before: str, run_key: str, names: list[str]
) -> None:
    """Record a successful run's stamp (atomically); `before` is the fingerprint taken as the
    run began, so that a file changed during the run makes the next run look again."""
    stamp = {
        "version": VERSION,
        "options": options,
        "roots": roots,
        "fingerprint": before,
        "run_key": run_key,
        "names": names,
    }
    tmp = build / f"{STAMP}.tmp-{os.getpid()}"
    tmp.write_text(json.dumps(stamp, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, build / STAMP)


def forget(build: Path) -> None:
    """Drop the stamp (a run is about to change the outputs)."""
    (build / STAMP).unlink(missing_ok=True)


def _lock_free(build: Path) -> bool:
    try:
        fd = os.open(build / ".lock", os.O_RDWR)
    except OSError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


def up_to_date(build: Path, options: dict) -> bool:
    """True when the last successful run in build had these options and nothing it reads has
    changed since, its outputs are still in place, and no other run holds the folder."""
    try:
        stamp = json.loads((build / STAMP).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(stamp, dict) or stamp.get("version") != VERSION:
        return False
    if stamp.get("options") != options:
        return False
    run_dir = build / ".runs" / str(stamp.get("run_key"))
    if not (run_dir / ".complete").is_file() or not (build / "manifest.json").is_file():
        return False
    for name in stamp.get("names", []):
        link = build / name
        if not link.is_symlink() or link.resolve() != (run_dir / name).resolve():
            return False
    if not _lock_free(build):
        return False
    return stamp.get("fingerprint") == fingerprint(options, list(stamp.get("roots", [])))
