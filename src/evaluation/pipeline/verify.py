"""`evaluation verify`: re-execute from the manifest into a cold scratch build and compare.

Every results file (byte for byte), every metric (by key) and every output of every executed
notebook (figures included, by cell label) is compared; each difference is listed in words.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path

from evaluation.config import Config
from evaluation.errors import ConfigError

SHOWN = 120  # characters of a differing metric value shown in a message


def _digest_tree(root: Path) -> dict[str, str]:
    """sha256 of every results file, except the run record: it describes the run (commit,
    hardware) and is written only when the report is rendered, which the rerun does not do."""
    from evaluation.report.chapters import RUN_RECORD

    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != RUN_RECORD
    }


def _short(value: object) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= SHOWN else text[: SHOWN - 1] + "…"


def compare_results(recorded: Path, rerun: Path) -> list[str]:
    """Differences between two results folders: missing, extra, or changed files and metrics."""
    a, b = _digest_tree(recorded), _digest_tree(rerun)
    diffs = [f"results/{k}: missing in the rerun" for k in sorted(set(a) - set(b))]
    diffs += [f"results/{k}: new in the rerun" for k in sorted(set(b) - set(a))]
    for k in sorted(set(a) & set(b)):
        if a[k] == b[k]:
            continue
        if k == "metrics.json":
            ma = json.loads((recorded / k).read_text(encoding="utf-8"))
            mb = json.loads((rerun / k).read_text(encoding="utf-8"))
            for key in sorted(set(ma) | set(mb)):
                if ma.get(key) != mb.get(key):
                    diffs.append(f"metric {key}: {_short(ma.get(key))} → {_short(mb.get(key))}")
        else:
            diffs.append(f"results/{k}: content differs")
    return diffs


def notebook_outputs(path: Path) -> dict[str, str]:
    """'<label or cell N> output J <mime>' -> sha256 of that output, for every code cell.

    Run metadata (papermill timings, paths, execution times) is left out: it describes the run,
    not its result.
    """
    from evaluation.report.embed import cell_options

    nb = json.loads(path.read_text(encoding="utf-8"))
    out: dict[str, str] = {}
    for i, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        source = "".join(cell.get("source", ""))
        where = cell_options(source).get("label") or f"cell {i}"
        for j, output in enumerate(cell.get("outputs", [])):
            kind = output.get("output_type")
            if kind == "stream":
                parts = {f"stream {output.get('name')}": output.get("text", "")}
            elif kind == "error":
                parts = {"error": [output.get("ename"), output.get("evalue")]}
            else:
                parts = output.get("data", {})
            for mime, value in parts.items():
                text = "".join(value) if isinstance(value, list) else str(value)
                digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
                out[f"{where} output {j} {mime}"] = digest
    return out


def compare_notebooks(recorded: Path, rerun: Path) -> list[str]:
    """Differences between the outputs of two folders of executed notebooks."""
    a = {str(p.relative_to(recorded)) for p in recorded.rglob("*.ipynb")}
    b = {str(p.relative_to(rerun)) for p in rerun.rglob("*.ipynb")}
    diffs = [f"notebooks/{k}: missing in the rerun" for k in sorted(a - b)]
    diffs += [f"notebooks/{k}: new in the rerun" for k in sorted(b - a)]
    for k in sorted(a & b):
        oa, ob = notebook_outputs(recorded / k), notebook_outputs(rerun / k)
        for where in sorted(set(oa) | set(ob), key=lambda w: (w not in oa, w)):
            if where not in ob:
                diffs.append(f"notebooks/{k}: {where} missing in the rerun")
            elif where not in oa:
                diffs.append(f"notebooks/{k}: {where} new in the rerun")
            elif oa[where] != ob[where]:
                diffs.append(f"notebooks/{k}: {where} differs")
    return diffs


def rerun_config(cfg: Config, recorded: dict) -> Config:
    """The configuration the recorded run used: its config file, projects and case data."""
    from evaluation import config

    base = cfg.path.resolve().parent  # recorded inputs are relative to the config's folder
    file = base / (recorded.get("config", {}).get("file") or cfg.path)
    if file.resolve() != cfg.path.resolve():
        if not file.is_file():
            raise ConfigError(f"the recorded configuration {file} no longer exists")
        cfg = config.load(file)
    ran = {
        nb.get("parameters", {}).get("project")
        for nb in recorded.get("notebooks", [])
        if nb.get("parameters", {}).get("project")
    }
    projects = tuple(p for p in cfg.projects if p.id in ran) if ran else cfg.projects
    own = {p.data.resolve() for p in projects if p.data}
    datasets = [
        base / p
        for p in recorded.get("inputs", {})
        if (base / p).is_dir() and (base / p).resolve() not in own
    ]
    cases, synthetic = cfg.cases, cfg.synthetic
    if len(datasets) == 1 and datasets[0].resolve() != cfg.cases.resolve():
        cases, synthetic = datasets[0], bool(recorded.get("synthetic", False))
    return replace(cfg, projects=projects, cases=cases, synthetic=synthetic)


def verify(cfg: Config, build: Path, quiet: bool = False, keep: Path | None = None) -> list[str]:
    """Run everything again without cache into a scratch build; list every difference.

    keep: run into this (new or empty) folder and leave it there for inspection.
    """
    from evaluation.hashing import file_sha256
    from evaluation.pipeline.run import RunOptions, _environment_hash, run

    manifest = build / "manifest.json"
    if not manifest.is_file() or not (build / "results").exists():
        raise ConfigError(f"no earlier run in {build}: run `evaluation run` first")
    recorded = json.loads(manifest.read_text(encoding="utf-8"))
    cfg = rerun_config(cfg, recorded)
    diffs = []
    config_sha = recorded.get("config", {}).get("sha256")
    if config_sha and file_sha256(cfg.path) != config_sha:
        diffs.append(f"configuration {cfg.path} changed since the recorded run")
    if recorded.get("environment_sha256") not in (None, _environment_hash()):
        diffs.append("the library code or requirements.lock changed since the recorded run")
    for path, digest in recorded.get("inputs", {}).items():
        p = cfg.path.resolve().parent / path
        if p.is_file() and file_sha256(p) != digest:
            diffs.append(f"input {path} changed since the recorded run")
    if keep is not None and keep.exists() and any(keep.iterdir()):
        raise ConfigError(f"{keep} is not empty: verify reruns into a new or empty folder")
    scratch = keep if keep is not None else Path(tempfile.mkdtemp(prefix="evaluation-verify-"))
    try:
        run(cfg, RunOptions(build=scratch, quiet=quiet, render=False))
        diffs += compare_results((build / "results").resolve(), (scratch / "results").resolve())
        diffs += compare_notebooks(
            (build / "notebooks").resolve(), (scratch / "notebooks").resolve()
        )
    finally:
        if keep is None:
            shutil.rmtree(scratch, ignore_errors=True)
    return diffs
