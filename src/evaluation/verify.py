"""`evaluation verify`: re-execute from the manifest into a scratch build and compare results."""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from pathlib import Path

from evaluation.config import Config
from evaluation.errors import ConfigError


def _digest_tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.suffix in (".csv", ".json")
    }


def compare_results(recorded: Path, rerun: Path) -> list[str]:
    """Differences between two results folders: missing, extra, or changed files and metrics."""
    a, b = _digest_tree(recorded), _digest_tree(rerun)
    diffs = [f"{k}: missing in the rerun" for k in sorted(set(a) - set(b))]
    diffs += [f"{k}: new in the rerun" for k in sorted(set(b) - set(a))]
    for k in sorted(set(a) & set(b)):
        if a[k] != b[k]:
            if k == "metrics.json":
                ma = json.loads((recorded / k).read_text())
                mb = json.loads((rerun / k).read_text())
                for key in sorted(set(ma) | set(mb)):
                    if ma.get(key) != mb.get(key):
                        diffs.append(f"metric {key}: {ma.get(key)} → {mb.get(key)}")
            else:
                diffs.append(f"{k}: content differs")
    return diffs


def verify(cfg: Config, build: Path, quiet: bool = False) -> list[str]:
    """Run everything again without cache into a temporary build; list every difference."""
    from evaluation.run import RunOptions, run

    manifest = build / "manifest.json"
    if not manifest.is_file() or not (build / "results").exists():
        raise ConfigError(f"no earlier run in {build}: run `evaluation run` first")
    recorded = json.loads(manifest.read_text())
    diffs = []
    if recorded.get("config", {}).get("sha256"):
        from evaluation.hashing import file_sha256

        if file_sha256(cfg.path) != recorded["config"]["sha256"]:
            diffs.append(f"configuration {cfg.path} changed since the recorded run")
    for path, digest in recorded.get("inputs", {}).items():
        p = Path(path)
        if p.is_file():
            from evaluation.hashing import file_sha256

            if file_sha256(p) != digest:
                diffs.append(f"input {path} changed since the recorded run")
    scratch = Path(tempfile.mkdtemp(prefix="evaluation-verify-"))
    try:
        run(cfg, RunOptions(build=scratch, quiet=quiet, render=False))
        diffs += compare_results((build / "results").resolve(), (scratch / "results").resolve())
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return diffs
