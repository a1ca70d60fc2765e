"""`evaluation run`: the whole flow, with a manifest of what went in and what it cost."""

from __future__ import annotations

import os
import platform
import shutil
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from evaluation import hashing
from evaluation.config import Config
from evaluation.errors import ExecutionError
from evaluation.pipeline.bench_measure import mark_stage
from evaluation.pipeline.build_folder import prune_runs, publish, write_json_atomic
from evaluation.pipeline.check_stage import start_check
from evaluation.pipeline.gate_stage import ResultsGate
from evaluation.pipeline.jobs import (
    REPO_ROOT,
    Job,
    Progress,
    config_digest,
    job_key,
    plan,
)
from evaluation.pipeline.noop_stamp import MESSAGE
from evaluation.pipeline.schedule import end_pool, resolve_keys, run_jobs, start_pool

STORE_ROOT = "store"  # build/store/<content hash>/<job>/: results stores a notebook reads
SYNTHETIC_BANNER = "SYNTHETIC CASE DATA: case-level results in this report describe no real person"
PACKAGES = (
    "pandas",
    "numpy",
    "statsmodels",
    "matplotlib",
    "pandera",
    "papermill",
    "pypandoc",
    "typst",
    "pyarrow",
)


@dataclass
class RunOptions:
    """How to run: build folder, workers, verbosity, renderer choice."""

    build: Path
    jobs: int = 0  # 0 = one per core
    quiet: bool = False
    force_pandoc: bool = False
    render: bool = True


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for name in PACKAGES:
        dist = {"pypandoc": "pypandoc-binary"}.get(name, name)
        try:
            out[name] = version(dist)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def _environment_hash(notebook_code_only: bool = False) -> str:
    """Library source and lock file; for notebook cache keys only the code notebooks import."""
    lock = REPO_ROOT / "requirements.lock"
    return hashing.combine(
        hashing.library_sha256(notebook_code_only),
        hashing.file_sha256(lock) if lock.exists() else "",
    )


def analysis_plan_record(cfg: Config) -> dict[str, str]:
    """The analysis plan used with this configuration: file, sha256 and version (checked, so a
    broken plan stops the run before any notebook with a message naming the key)."""
    from evaluation.analysis.plan import load_plan, plan_path

    path = plan_path(cfg.path)
    plan = load_plan(path)
    return {"file": str(path), "sha256": hashing.file_sha256(path), "version": plan.version}


def validate_inputs(cfg: Config, build: Path, progress: Progress) -> tuple[dict, dict]:
    """Validate the published table and every case dataset; raise InvalidDataError on problems.

    Returns (prepared data folders per project id, input file hashes).
    """
    from evaluation.pipeline import prepare

    inputs: dict[str, str] = {}
    inputs[str(cfg.published)] = prepare.check_published(cfg, build, progress)
    prepared, hashes = prepare.prepare_all(cfg, build, progress)
    inputs.update(hashes)
    return prepared, inputs


def cutoff_epoch(cfg: Config) -> int:
    """The data cut-off (midnight UTC) in seconds: the date of the report and of its files."""
    import datetime as dt

    return int(dt.datetime.combine(cfg.cutoff, dt.time(), dt.UTC).timestamp())


def stage_report(cfg: Config, run_dir: Path, stage: Path) -> None:
    """Lay out a Quarto project in stage/: _quarto.yml, reports/, build/notebooks/."""
    from evaluation.report import chapters, documents, metric_refs, render
    from evaluation.report.banner import resolve_notice_tree, write_banners
    from evaluation.report.reproducible import strip_run_metadata

    if stage.exists():
        shutil.rmtree(stage)
    stage.mkdir(parents=True)
    shutil.copy2(REPO_ROOT / "_quarto.yml", stage / "_quarto.yml")
    shutil.copytree(
        REPO_ROOT / "reports", stage / "reports", ignore=shutil.ignore_patterns("_generated")
    )
    shutil.copytree(run_dir / "notebooks", stage / "build" / "notebooks")
    shutil.copytree(run_dir / "results", stage / "build" / "results")
    generated = stage / "reports" / "_generated"
    chapters.write_generated(cfg, generated, run_dir)
    chapters.demote_non_exhibits(stage / "build" / "notebooks", stage / "reports")
    strip_run_metadata(stage / "build" / "notebooks")
    # `{{< metric KEY >}}` references become text before either renderer reads the sources
    metrics = _load_json(run_dir / "results" / "metrics.json")
    absent = frozenset(k.lower() for k in cfg.periods) - {p.key for p in cfg.projects}
    # the metrics the joint decision dropped: build/internal/ of the build holding run_dir
    gate = _load_json(run_dir.parent.parent / "internal" / "gate.json")
    withheld = frozenset(gate.get("metrics_dropped", []))
    metric_refs.resolve_tree(stage / "reports", metrics, absent, withheld)
    # references between the evaluation and its annex, numbered as the renderers number them
    numbers = {
        doc: render.document_numbers(stage / "reports" / f"{stem}.qmd")
        for doc, stem in documents.STEMS.items()
        if (stage / "reports" / f"{stem}.qmd").is_file()
    }
    documents.resolve_xref_tree(stage / "reports", numbers)
    banner = SYNTHETIC_BANNER if cfg.synthetic else None
    # the chapter of real published figures under its own notice, the rest under the banner
    resolve_notice_tree(stage / "reports", banner)
    write_banners(generated, banner)


def _publish_gated(
    gated: ResultsGate, jobs: list[Job], cache: Path, results: Path, build: Path
) -> dict:
    """The jobs' results files as the joint decision shows them into results/ (publish.gate);
    their own copies to build/internal/results/, which nothing published reads and no export
    takes. Returns the output-checking record."""
    import json

    from evaluation.publish.gate import checking_record

    entries = gated.finish(jobs, cache)
    internal = build / "internal" / "results"
    shutil.rmtree(internal, ignore_errors=True)
    for job in jobs:
        if (cache / job.key / "results").is_dir():
            shutil.copytree(cache / job.key / "results", internal / job.group, dirs_exist_ok=True)
    if gated.staging.is_dir():
        shutil.copytree(gated.staging, results, dirs_exist_ok=True)
    record = checking_record(entries)
    (build / "internal" / "gate.json").write_text(json.dumps(record, indent=1) + "\n", "utf-8")
    return record


def run(cfg: Config, opts: RunOptions) -> dict:
    """Run the whole evaluation; returns the manifest. Raises EvaluationError subclasses.

    One run at a time per build folder (build/.lock); Ctrl-C ends every worker and kernel and
    removes the run's temporary files.
    """
    from evaluation.pipeline.interrupt import interruptible
    from evaluation.pipeline.lock import build_lock

    build = opts.build.resolve()
    with build_lock(build, "evaluation run"), interruptible(build):
        return _run(cfg, opts, build)


def _run(cfg: Config, opts: RunOptions, build: Path) -> dict:
    progress = Progress(opts.quiet)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    progress.say(f"validating inputs ({cfg.path.name}; data: {cfg.cases})")
    data_root = build / "data"
    before = set(data_root.iterdir()) if data_root.is_dir() else set()
    # The notebook workers start first: their kernels start and import what the notebooks
    # import while the data are validated and checked. They end after the last notebook, or at
    # once when the run fails or finds nothing to execute.
    pool = start_pool(opts.jobs or os.cpu_count() or 1, build / "logs")
    try:
        try:
            return _run_validated(cfg, opts, build, progress, timings, t0, pool)
        finally:
            end_pool(pool, wait=False)  # nothing left to end after a run that executed notebooks
    except BaseException:
        # a failed run leaves no new pseudonymised copy of the data behind
        for path in (set(data_root.iterdir()) if data_root.is_dir() else set()) - before:
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        raise


def _run_validated(
    cfg: Config,
    opts: RunOptions,
    build: Path,
    progress: Progress,
    timings: dict[str, float],
    t0: float,
    pool: ProcessPoolExecutor,
) -> dict:
    """Everything from validation on, on the started pool; run() removes what it created if
    this fails."""
    mark_stage("validate_prepare")
    prepared, inputs = validate_inputs(cfg, build, progress)
    timings["validate_prepare"] = round(time.perf_counter() - t0, 3)

    environment = _environment_hash()
    # the check and the notebooks run only library code, never the orchestration or rendering:
    # a change to those re-renders but does not re-decide or re-execute
    notebook_environment = _environment_hash(notebook_code_only=True)
    config_hash = hashing.file_sha256(cfg.path)
    plan_record = analysis_plan_record(cfg)
    mark_stage("disclosure_check")
    deciding = start_check(
        cfg, prepared, build, inputs, notebook_environment, config_hash, progress
    )
    checked = deciding.folder
    jobs = plan(cfg, prepared, inputs[str(cfg.published)])
    for job in jobs:  # every kernel shows the one joint decision (publish.view)
        job.params["disclosure_dir"] = str(checked)
    renderer = None
    if opts.render:
        from evaluation.report import render

        # the renderer and its version are part of the key: a report rendered by pandoc is not
        # up to date for a run that has Quarto (or another Quarto version)
        renderer = render.choose_renderer(opts.force_pandoc)
    cache = build / "cache"
    stores = build / STORE_ROOT

    def keyer(job: Job) -> str:
        return job_key(job, notebook_environment, config_digest(cfg, job))

    # keys of jobs that read other notebooks' results are known once those are cached
    all_known = resolve_keys(jobs, cache, stores, keyer)
    reports_hash = hashing.combine(
        hashing.tree_sha256(REPO_ROOT / "reports", "**/*.qmd"),
        hashing.file_sha256(REPO_ROOT / "_quarto.yml"),
    )

    def make_run_key() -> str:
        return hashing.combine(
            [j.key for j in jobs],
            reports_hash,
            environment,
            config_hash,
            plan_record["sha256"],
            renderer.key if renderer else "not rendered",
            opts.force_pandoc,  # --pandoc asks for a fresh fallback render, as it always did
        )[:16]

    manifest_path = build / "manifest.json"
    names = (
        ("notebooks", "results", "report", "disclosure")
        if opts.render
        else ("notebooks", "results", "disclosure")
    )
    if all_known:
        run_dir = build / ".runs" / make_run_key()
        if (run_dir / ".complete").exists() and all(
            (build / n).is_symlink() and (build / n).resolve() == (run_dir / n).resolve()
            for n in names
        ):
            deciding.wait()
            progress.say(MESSAGE)
            return _load_json(manifest_path)

    t1 = time.perf_counter()
    mark_stage("notebooks")
    workers = opts.jobs or os.cpu_count() or 1
    # each notebook's results pass through the decision while the others run (gate_stage)
    gated = ResultsGate(cfg, deciding, build)
    try:
        try:
            records = run_jobs(
                jobs,
                cache,
                build / "failed",
                workers,
                progress,
                keyer,
                stores,
                pool,
                on_done=lambda job: gated.add(job, cache),
            )
        except ExecutionError:
            deciding.wait()  # a notebook that failed because the check failed: its error
            raise
        # after notebooks each worker ends its kernel; with every notebook cached, a kernel may
        # still be warming: end them at once
        end_pool(pool, wait=any(r["cache"] == "miss" for r in records.values()))
        timings["execute"] = round(time.perf_counter() - t1, 3)
        deciding.wait()
        timings["disclosure_check"] = deciding.seconds
        run_key = make_run_key()
        run_dir = build / ".runs" / run_key

        mark_stage("publish")
        # assemble the run folder from the cache
        if run_dir.exists():
            shutil.rmtree(run_dir)
        for job in jobs:
            src = cache / job.key
            nb_dest = run_dir / "notebooks" / job.group / job.notebook.name
            nb_dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src / "notebook.ipynb", nb_dest)
        record = _publish_gated(gated, jobs, cache, run_dir / "results", build)
    finally:
        gated.close()

    from evaluation.publish.results import merge_metrics

    shutil.copytree(checked / "results", run_dir / "results" / "disclosure", dirs_exist_ok=True)
    shutil.copytree(checked / "report", run_dir / "disclosure", dirs_exist_ok=True)
    from evaluation.publish.publication import add_files

    add_files(run_dir / "disclosure", record["files"])
    metrics = merge_metrics(run_dir / "results")
    write_json_atomic(run_dir / "results" / "metrics.json", metrics)

    t2 = time.perf_counter()
    stage = build / f".stage-{os.getpid()}"
    rendered_by, rendered_version = "none", ""
    if renderer is not None:
        mark_stage("render")
        try:
            stage_report(cfg, run_dir, stage)
            res = render.render(
                stage,
                run_dir / "report",
                cfg.formats,
                banner=SYNTHETIC_BANNER if cfg.synthetic else None,
                force_pandoc=opts.force_pandoc,
                say=progress.say,
                renderer=renderer,
                epoch=cutoff_epoch(cfg),
            )
            rendered_by, rendered_version = res.renderer, res.version
            for w in res.warnings:
                progress.say(f"render warning: {w}")
        finally:
            shutil.rmtree(stage, ignore_errors=True)
    else:
        (run_dir / "report").mkdir(parents=True, exist_ok=True)
    timings["render"] = round(time.perf_counter() - t2, 3)

    base = cfg.path.resolve().parent

    def where(value: object) -> object:
        return portable(value, build, base)

    manifest = {
        "run_key": run_key,
        "paths": PATHS_NOTE,
        "config": {"file": where(cfg.path.resolve()), "sha256": config_hash},
        "analysis_plan": {**plan_record, "file": where(plan_record["file"])},
        "inputs": {where(k): v for k, v in inputs.items()},
        "synthetic": cfg.synthetic,
        "notebooks": [
            {
                "name": j.name,
                "notebook": str(j.notebook.relative_to(REPO_ROOT)),
                "parameters": {k: where(v) for k, v in j.params.items()},
                **records.get(j.name, {}),
            }
            for j in jobs
        ],
        "cache": {
            "hits": sum(r.get("cache") == "hit" for r in records.values()),
            "misses": sum(r.get("cache") == "miss" for r in records.values()),
        },
        "renderer": rendered_by,
        "renderer_version": rendered_version,
        "versions": _versions(),
        "git_commit": hashing.git_commit(),
        "environment_sha256": environment,
        "hardware": {
            "machine": platform.machine(),
            "cpus": os.cpu_count(),
            "system": platform.system(),
        },
        "timings_seconds": timings,
    }
    manifest["timings_seconds"]["total"] = round(time.perf_counter() - t0, 3)
    write_json_atomic(run_dir / "manifest.json", manifest)
    (run_dir / ".complete").write_text(run_key + "\n")
    # without rendering, the last rendered report stays published (and says which run it is)
    publish(build, run_dir, names)
    if not opts.render and (build / "report").exists():
        progress.say("not rendered: build/report still holds the last rendered report")
    write_json_atomic(manifest_path, manifest)
    prune_runs(build)
    metrics_file = build / "results" / "metrics.json"
    progress.say(f"done: {build / 'report'} ({rendered_by}); metrics in {metrics_file}")
    return manifest


PATHS_NOTE = (
    "paths are relative to the build folder (outputs) or to the configuration's folder "
    "(inputs); a path outside both is absolute"
)


def portable(value: object, build: Path, base: Path) -> object:
    """An absolute path as the manifest records it: relative to the build folder when inside
    it, else to the configuration's folder when inside that (so that a moved or handed-over
    build names no machine's folders); anything else unchanged."""
    if not isinstance(value, (str, Path)) or not Path(value).is_absolute():
        return value if not isinstance(value, Path) else str(value)
    path = Path(value)
    for root in (build.resolve(), base.resolve()):
        if path.is_relative_to(root):
            return path.relative_to(root).as_posix()
    return str(path)


# notebook parameters naming folders inside the build (the rest name inputs, if paths at all)
BUILD_PARAMETERS = frozenset({"data_dir", "disclosure_dir", "stores_dir"})


def absolute_parameters(params: dict, build: Path, base: Path) -> dict:
    """A recorded notebook run's parameters with its paths absolute again (the inverse of
    portable: build/ for the build's folders, the configuration's folder for inputs)."""
    out = {}
    for k, v in params.items():
        if k in BUILD_PARAMETERS:
            out[k] = str(build / v)
        elif k.endswith(("_file", "_dir")) and k != "results_dir" and isinstance(v, str):
            out[k] = str(base / v)
        else:
            out[k] = v
    return out


def _load_json(path: Path) -> dict:
    import json

    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


__all__ = ["PATHS_NOTE", "RunOptions", "absolute_parameters", "portable", "run"]
