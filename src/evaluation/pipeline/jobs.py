"""The run: validate → prepare → execute notebooks (cached, parallel) → render → publish atomically.

Every stage writes under the build directory only. Results are assembled in
build/.runs/<run key>/ and published by swapping the symlinks build/{notebooks,results,report};
a failure at any stage leaves the previous outputs in place.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from evaluation import hashing
from evaluation.analysis.plan import plan_path
from evaluation.config import Config
from evaluation.data.prepared import content_digest
from evaluation.errors import ExecutionError
from evaluation.publish.view import ENV as VIEW_ENV

REPO_ROOT = Path(__file__).resolve().parents[3]
STORE = "store"  # a notebook's results store, beside results/ in its run folder
# Notebooks that read analysis_plan.yaml: a change to the plan reruns these and no others
# (durability_comparison reads the plan's results through the durability notebooks' store; the
# plan stays in its key so that a plan change reruns it even when no durability result moved).
PLAN_READERS = frozenset(
    {"comparison", "conversion", "durability_comparison", "summary", "durability"}
)


@dataclass
class Job:
    """One papermill run of a notebook with explicit parameters (see notebook_parameters)."""

    name: str  # e.g. conversion-moh1
    notebook: Path
    group: str  # folder under notebooks/ and results/: project key, 'published', 'comparison'
    params: dict[str, Any]
    inputs: dict[str, str]  # what the run depends on -> content hash
    label_suffix: str | None = None
    key: str = ""
    # jobs whose results store this one reads (its key waits for their results' content)
    reads: tuple[str, ...] = ()


@dataclass
class Progress:
    """Stage and notebook progress lines on stderr; silent with quiet=True."""

    quiet: bool = False
    started: float = field(default_factory=time.perf_counter)

    def say(self, message: str) -> None:
        if not self.quiet:
            elapsed = time.perf_counter() - self.started
            print(f"[{elapsed:6.1f}s] {message}", file=sys.stderr, flush=True)


def _notebook_dir() -> Path:
    return REPO_ROOT / "notebooks"


def plan(cfg: Config, prepared: dict[str, Path], published_hash: str) -> list[Job]:
    """Every notebook run the configuration asks for, with its parameters."""
    nbdir = _notebook_dir()
    jobs = [
        Job(
            "published",
            nbdir / "published.ipynb",
            "published",
            {
                "published_file": str(cfg.published.resolve()),
                "results_dir": "results",
                "config_file": str(cfg.path.resolve()),
            },
            {"published": published_hash},
        )
    ]
    for p in cfg.projects:
        data_dir = prepared[p.id]
        for nb in p.notebooks:
            jobs.append(
                Job(
                    f"{nb}-{p.key}",
                    nbdir / f"{nb}.ipynb",
                    p.key,
                    {
                        "project": p.id,
                        "data_dir": str(data_dir),
                        "results_dir": "results",
                        "config_file": str(cfg.path.resolve()),
                        "synthetic": cfg.synthetic,
                        "store_dir": STORE,
                    },
                    {"data": content_digest(data_dir)},
                    label_suffix=p.key,
                )
            )
    compared = [p for p in cfg.projects if p.kind == "return"]
    if len(compared) >= 2:
        ids = ",".join(p.id for p in compared)
        data_dir = prepared["__all__"]
        declared = [(b.id, p.id) for b, p in cfg.comparisons()]
        pairs = declared or [(compared[0].id, p.id) for p in compared[1:]]
        pairs_param = ",".join(f"{b}:{p}" for b, p in pairs)
        params = {
            "projects": ids,
            "data_dir": str(data_dir),
            "results_dir": "results",
            "config_file": str(cfg.path.resolve()),
            "synthetic": cfg.synthetic,
            "pairs": pairs_param,
            "store_dir": STORE,
        }
        jobs.append(
            Job(
                "comparison",
                nbdir / "comparison.ipynb",
                "comparison",
                params,
                {"data": content_digest(data_dir)},
                # client frames from the conversion notebooks, durability bounds from theirs
                reads=tuple(
                    f"{nb}-{p.key}" for p in compared for nb in ("conversion", "durability")
                ),
            )
        )
        # reads each project's durability results from the store, not the case data
        jobs.append(
            Job(
                "durability_comparison",
                nbdir / "durability_comparison.ipynb",
                "comparison",
                {
                    "projects": ids,
                    "results_dir": "results",
                    "config_file": str(cfg.path.resolve()),
                    "synthetic": cfg.synthetic,
                },
                {},
                reads=tuple(f"durability-{p.key}" for p in compared),
            )
        )
    if compared and "__all__" in prepared:
        data_dir = prepared["__all__"]
        params = {
            "projects": ",".join(p.id for p in compared),
            "data_dir": str(data_dir),
            "results_dir": "results",
            "config_file": str(cfg.path.resolve()),
            "synthetic": cfg.synthetic,
        }
        jobs.append(
            Job(
                "efficiency",
                nbdir / "efficiency.ipynb",
                "efficiency",
                params,
                {"data": content_digest(data_dir)},
                reads=tuple(f"conversion-{p.key}" for p in compared),  # their client frames
            )
        )
    if "__all__" in prepared:
        data_dir = prepared["__all__"]
        jobs.append(
            Job(
                "summary",
                nbdir / "summary.ipynb",
                "summary",
                {
                    "data_dir": str(data_dir),
                    "published_file": str(cfg.published.resolve()),
                    "results_dir": "results",
                    "config_file": str(cfg.path.resolve()),
                    "synthetic": cfg.synthetic,
                    "projects": ",".join(p.id for p in cfg.projects),
                },
                {"data": content_digest(data_dir), "published": published_hash},
                # headlines from each project's notebooks, contrasts from the comparison
                reads=(
                    *(f"{nb}-{p.key}" for p in cfg.projects for nb in p.notebooks),
                    *(["comparison"] if len(compared) >= 2 else []),
                ),
            )
        )
    plan_hash = hashing.file_sha256(plan_path(cfg.path))
    for j in jobs:
        if j.notebook.stem in PLAN_READERS:
            j.inputs["analysis_plan"] = plan_hash
    jobs = [j for j in jobs if j.notebook.exists()]
    names = {j.name for j in jobs}
    for j in jobs:
        j.reads = tuple(r for r in j.reads if r in names)
    return jobs


# Configuration settings no notebook reads or whose content enters a key by another way (the
# case data and published figures through job.inputs, the file itself through config_digest).
_NOT_READ = frozenset({"path", "projects", "published", "cases", "all_periods", "title"})
# Notebooks that read the configuration as a whole (every project, the comparisons declared).
WHOLE_CONFIG_READERS = frozenset({"summary"})


def config_digest(cfg: Config, job: Job) -> str:
    """What the job's notebook reads from the configuration, hashed.

    A project's notebooks read the shared settings and their own project's block; the
    cross-project notebooks read those of the projects they compare; the summary reads the
    whole file. So a change to MOH1's cut-off re-executes MOH1's notebooks and the
    cross-project ones, never MOH2's own.
    """
    if job.notebook.stem in WHOLE_CONFIG_READERS:
        return hashing.file_sha256(cfg.path)
    shared = {f.name: getattr(cfg, f.name) for f in fields(cfg) if f.name not in _NOT_READ}
    ids = [job.params["project"]] if "project" in job.params else []
    ids += [i.strip() for i in str(job.params.get("projects", "")).split(",") if i.strip()]
    blocks = [
        {k: v for k, v in asdict(cfg.project(i)).items() if k not in {"data", "notebooks"}}
        for i in ids
    ]
    return hashing.combine(shared, blocks)


# parameters the run needs but the kernel receives otherwise: the decision folder reaches it as
# publish.view's environment variable, and enters the cache key by name
KERNEL_ENVIRONMENT = frozenset({"disclosure_dir"})


def notebook_parameters(job: Job) -> dict[str, Any]:
    """What papermill injects into the notebook: every parameter it declares in its tagged
    parameters cell, and nothing it does not."""
    return {k: v for k, v in job.params.items() if k not in KERNEL_ENVIRONMENT}


def job_key(job: Job, environment: str, config_hash: str) -> str:
    """Cache key: notebook source, parameters, inputs, library code, lock file and config.

    config_hash is what the notebook reads of the configuration (config_digest). Folders and
    files enter by name, their content through job.inputs and config_hash, not by absolute
    path: a build folder that is moved or copied, or a configuration run from another folder,
    keeps its cache and its run key.
    """
    named = {"disclosure_dir", "config_file", "published_file", "stores_dir"}
    # the prepared data enter by content (job.inputs["data"]), not by the folder's name, which
    # also follows every project's periods and cut-offs: adding a project keeps the others'
    # notebooks cached when their tables are unchanged
    params = {
        k: Path(v).name if k in named else v for k, v in job.params.items() if k != "data_dir"
    }
    return hashing.combine(
        hashing.file_sha256(job.notebook),
        params,
        job.inputs,
        environment,
        config_hash,
        job.label_suffix,
    )


def suffix_labels(nb_path: Path, suffix: str) -> None:
    """Make cell labels unique per project: 'fig-funnel' -> 'fig-funnel-moh1'."""
    import nbformat

    nb = nbformat.read(nb_path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        lines = cell.source.splitlines()
        for i, line in enumerate(lines):
            if not line.startswith("#|"):
                break
            if line.replace(" ", "").startswith("#|label:"):
                label = line.split(":", 1)[1].strip()
                lines[i] = f"#| label: {label}-{suffix}"
        cell.source = "\n".join(lines)
    nbformat.write(nb, nb_path)


def _first_error(nb_path: Path) -> str:
    """'cell 7 (label fig-x): ValueError: ...' for the first cell with an error output."""
    import nbformat

    from evaluation.report.embed import cell_options

    nb = nbformat.read(nb_path, as_version=4)
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                label = cell_options(cell.source).get("label")
                where = f"cell {i}" + (f" (label {label})" if label else "")
                return f"{where}: {out.get('ename')}: {out.get('evalue')}"
    return "unknown cell"


def _never_started(out_nb: Path) -> bool:
    """True when no code cell ran: the kernel failed while starting, not the notebook's code."""
    import nbformat

    if not out_nb.exists():
        return True
    try:
        nb = nbformat.read(out_nb, as_version=4)
    except Exception:  # noqa: BLE001 - an unreadable half-written copy: nothing ran either
        return True
    return not any(
        c.get("execution_count") or c.get("outputs") for c in nb.cells if c.cell_type == "code"
    )


def execute(
    job: Job, cache: Path, failed_dir: Path, quiet: bool = False, kernel: Any = None
) -> tuple[Path, float]:
    """Run one job with papermill into the cache; on failure keep the executed copy aside.

    kernel: a `kernel_reuse.ReusedKernel` to run on (reset first), else a kernel of its own.
    A kernel that dies while starting (before the first cell) is started once more, with a line
    in the progress output; a second failure names the notebook and the kernel's log.
    Returns the cache folder and the seconds the run itself took (not its time in the queue).
    """
    t0 = time.perf_counter()
    log_path = failed_dir.parent / "logs" / f"{job.name}.log"
    try:
        return _execute_once(job, cache, failed_dir, t0, True, kernel)
    except KernelStartError as first:
        if not quiet:
            print(
                f"  {job.name}: the notebook kernel died while starting ({first.cause}); "
                f"starting it once more (kernel log: {log_path})",
                file=sys.stderr,
                flush=True,
            )
    try:
        return _execute_once(job, cache, failed_dir, t0, False, kernel)
    except KernelStartError as second:
        raise ExecutionError(
            f"notebook {job.notebook.name} ({job.name}) could not run: its kernel died while "
            f"starting, twice ({second.cause}). The kernel's log is {log_path}"
        ) from second


class KernelStartError(Exception):
    """The kernel died before the first cell ran (worth one more try)."""

    def __init__(self, cause: str) -> None:
        super().__init__(cause)
        self.cause = cause


def _execute_once(
    job: Job, cache: Path, failed_dir: Path, t0: float, first_attempt: bool, kernel: Any
) -> tuple[Path, float]:
    import papermill as pm

    final = cache / job.key
    work = cache / f"{job.key}.tmp-{os.getpid()}-{time.time_ns()}"
    work.mkdir(parents=True)
    out_nb = work / "notebook.ipynb"
    # the second start appends, so that the log keeps what the first kernel said before dying
    log_file = failed_dir.parent / "logs" / f"{job.name}.log"
    view = str(job.params.get("disclosure_dir", ""))
    with _kernel_surroundings(log_file, "w" if first_attempt else "a", view):
        try:
            reuse = {}
            if kernel is not None:
                try:
                    km = kernel.ensure(work)
                    kernel.prepare(work, {VIEW_ENV: view})
                except Exception as exc:  # noqa: BLE001 - a kernel that cannot start or reset
                    kernel.close()
                    shutil.rmtree(work, ignore_errors=True)
                    raise KernelStartError(f"{type(exc).__name__}: {exc}") from exc
                from evaluation.pipeline.kernel_reuse import ENGINE, register_engine

                register_engine()
                reuse = {"engine_name": ENGINE, "km": km}
            pm.execute_notebook(
                str(job.notebook),
                str(out_nb),
                parameters=notebook_parameters(job),
                cwd=str(work),
                kernel_name="python3",
                progress_bar=False,
                log_output=False,
                request_save_on_cell_execute=False,
                **reuse,
            )
        except KernelStartError:
            raise
        except Exception as exc:  # noqa: BLE001 - any notebook failure is reported the same way
            if kernel is not None:
                kernel.close()  # a kernel whose notebook failed is not reused
            if _never_started(out_nb):
                shutil.rmtree(work, ignore_errors=True)
                raise KernelStartError(f"{type(exc).__name__}: {exc}") from exc
            failed_dir.mkdir(parents=True, exist_ok=True)
            keep = failed_dir / f"{job.name}.ipynb"
            if out_nb.exists():
                shutil.copy2(out_nb, keep)
                where = _first_error(out_nb)
                shutil.rmtree(work, ignore_errors=True)
                raise ExecutionError(
                    f"notebook {job.notebook.name} ({job.name}) failed at {where}. "
                    f"The executed copy with the error is {keep}"
                ) from exc
            shutil.rmtree(work, ignore_errors=True)
            raise ExecutionError(
                f"notebook {job.notebook.name} ({job.name}) could not run: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
    if job.label_suffix:
        suffix_labels(out_nb, job.label_suffix)
    try:
        work.rename(final)
    except OSError:  # another process filled the same key first
        shutil.rmtree(work, ignore_errors=True)
    return final, time.perf_counter() - t0


INLINE_BACKEND = "module://matplotlib_inline.backend_inline"
# One BLAS thread per kernel: the kernels share the cores, and OpenBLAS's idle threads spin (3.6%
# of all CPU at 10^6 clients; one thread per kernel saved about 7 core-seconds of user CPU)
BLAS_THREADS = {"OPENBLAS_NUM_THREADS": "1"}


def kernel_environment(base: Mapping[str, str], view: str = "") -> dict[str, str]:
    """The environment a notebook kernel starts with: `base`, one BLAS thread where base says
    nothing, the inline matplotlib backend and the joint disclosure decision (publish.view)."""
    return {**BLAS_THREADS, **base, "MPLBACKEND": INLINE_BACKEND, VIEW_ENV: view}


@contextmanager
def _kernel_surroundings(log_file: Path, mode: str, view: str) -> Iterator[None]:
    """What a kernel started or run from this process meets (kernel_environment) and, instead
    of the terminal, a log for its stderr (a kernel keeps the stderr it was started with)."""
    before = {k: os.environ.get(k) for k in ("MPLBACKEND", *BLAS_THREADS)}
    os.environ.update(kernel_environment(os.environ, view))
    log_file.parent.mkdir(parents=True, exist_ok=True)
    saved_fd = os.dup(2)
    log = open(log_file, mode, encoding="utf-8")  # noqa: SIM115
    os.dup2(log.fileno(), 2)
    try:
        yield
    finally:
        os.dup2(saved_fd, 2)
        os.close(saved_fd)
        log.close()
        for name, value in before.items():  # the disclosure decision stays, as before
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


KERNELS_LOG = "kernels.log"  # under build/logs: what warmed kernels say on stderr
_WORKER_KERNEL: Any = None


def _worker_kernel(connection_prefix: str = "", template: str = "") -> Any:
    """This worker process's kernel, ended when the worker exits."""
    global _WORKER_KERNEL
    if _WORKER_KERNEL is None:
        from multiprocessing.util import Finalize

        from evaluation.pipeline.kernel_reuse import ReusedKernel

        _WORKER_KERNEL = ReusedKernel(connection_prefix=connection_prefix, template=template)
        Finalize(_WORKER_KERNEL, _WORKER_KERNEL.close, exitpriority=10)
    return _WORKER_KERNEL


def warm_worker(log_dir: str, connection_prefix: str = "", template: str = "") -> None:
    """Worker initializer: start this worker's kernel and import what the notebooks import, as a
    notebook before them would have (kernel_reuse), while the main process validates the data.
    Never fails: a kernel that could not warm is ended, and the first notebook starts its own."""
    kernel = _worker_kernel(connection_prefix, template)
    folder = Path(log_dir)
    try:
        with _kernel_surroundings(folder / KERNELS_LOG, "a", ""):
            from evaluation.pipeline.kernel_reuse import warm_code

            kernel.warm(folder, {VIEW_ENV: ""}, warm_code(_notebook_dir()))
        # and what this worker runs the notebooks with, before the first one is known
        import papermill  # noqa: F401

        from evaluation.pipeline.kernel_reuse import register_engine

        register_engine()
    except BaseException:  # noqa: BLE001 - Ctrl-C included: the run ends the worker itself
        kernel.close()


def execute_in_worker(
    job: Job, cache: Path, failed_dir: Path, quiet: bool = False
) -> tuple[Path, float]:
    """`execute` on this worker process's kernel, kept for its next notebook and ended when the
    worker exits."""
    return execute(job, cache, failed_dir, quiet, kernel=_worker_kernel())
