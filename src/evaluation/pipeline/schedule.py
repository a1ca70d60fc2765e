"""Scheduling the notebook runs: a job that reads other jobs' results stores waits for them and
is keyed by what they stored. Workers (each with a kernel warmed while the data are validated)
take one job at a time, the ready job with the longest remaining path first."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any

from evaluation import hashing
from evaluation.errors import ExecutionError
from evaluation.pipeline.build_folder import alive
from evaluation.pipeline.jobs import (
    KERNELS_LOG,
    STORE,
    Job,
    Progress,
    execute_in_worker,
    kernel_environment,
    warm_worker,
)
from evaluation.pipeline.kernel_reuse import connection_prefix, warm_code

# Seconds each notebook took on a warm kernel at 10^5 clients (a run on a busy machine): only
# their ratios matter, to start first what the end of the run waits for.
_COST = {
    "durability": 12.5,
    "conversion": 7.0,
    "comparison": 4.2,
    "durability_comparison": 2.0,
    "summary": 1.6,
    "efficiency": 0.9,
    "published": 0.8,
}


def _expected_cost(job: Job) -> float:
    return _COST.get(job.notebook.stem, 1.0)


def remaining_paths(jobs: list[Job], cost=None) -> dict[str, float]:
    """Per job: its expected cost plus the longest chain of jobs that read its results after it
    (the least time the run still needs once it starts)."""
    cost = cost or _expected_cost
    readers: dict[str, list[Job]] = {j.name: [] for j in jobs}
    for j in jobs:
        for name in j.reads:
            readers[name].append(j)
    paths: dict[str, float] = {}

    def path(job: Job) -> float:
        if job.name not in paths:
            paths[job.name] = cost(job) + max((path(r) for r in readers[job.name]), default=0.0)
        return paths[job.name]

    for j in jobs:
        path(j)
    return paths


class NotebookPool(ProcessPoolExecutor):
    """The notebook workers, and the template process their kernels are forked from."""

    template: Any = None


def start_pool(workers: int, log_dir: Path) -> NotebookPool:
    """`workers` processes, each starting its notebook kernel and importing what the notebooks
    import at once (jobs.warm_worker), before any notebook is known. The kernels are forked from
    one process that imports for all of them (kernel_template)."""
    import multiprocessing as mp

    from evaluation.pipeline import jobs as jobs_module
    from evaluation.pipeline import kernel_template

    log_dir.mkdir(parents=True, exist_ok=True)
    (log_dir / KERNELS_LOG).unlink(missing_ok=True)
    env = kernel_environment(os.environ)
    template, address = None, ""
    if kernel_template.available():
        code = warm_code(jobs_module._notebook_dir())
        template = kernel_template.start(log_dir / KERNELS_LOG, code, env)
        address = template.address
    # Processes, not threads: kernels started from threads of one process interfere.
    pool = NotebookPool(
        max_workers=workers,
        mp_context=mp.get_context("forkserver"),
        initializer=warm_worker,
        initargs=(str(log_dir), connection_prefix(os.getpid()), address),
    )
    pool.template = template
    # a worker is started for each task submitted while none is idle: start them all now
    for _ in range(workers):
        pool.submit(int)
    return pool


def end_pool(pool: ProcessPoolExecutor, wait: bool) -> None:
    """wait=True: let the workers finish and exit (each ends its kernel). wait=False (a failure,
    nothing to run): end the workers and their kernels at once."""
    template = getattr(pool, "template", None)
    if not wait:
        from evaluation.pipeline.interrupt import end_processes

        workers = list(getattr(pool, "_processes", None) or {})
        end_processes(workers + ([template.process.pid] if template else []))
    pool.shutdown(wait=True, cancel_futures=True)
    if template is not None:
        template.close()
    # a kernel ended with its worker (or by Ctrl-C) before it could remove its connection file
    # and its IPC socket files: every file named by this run's prefix is one of those
    prefix = Path(connection_prefix(os.getpid()))
    for leftover in prefix.parent.glob(f"{prefix.name}*"):
        leftover.unlink(missing_ok=True)
    remove_orphans(prefix.parent)


def remove_orphans(folder: Path) -> list[Path]:
    """Remove the kernels' connection files and template sockets of runs that were killed
    (SIGKILL leaves them: nothing can clean up then); each is named by its run's process id.
    Returns what was removed."""
    from evaluation.pipeline.kernel_template import TEMPLATE_PREFIX

    kernel = Path(connection_prefix(0)).name.removesuffix("0-")
    removed = []
    for prefix in (kernel, TEMPLATE_PREFIX):
        for path in folder.glob(f"{prefix}*-*"):
            pid = path.name[len(prefix) :].split("-", 1)[0]
            if pid.isdigit() and not alive(int(pid)):
                path.unlink(missing_ok=True)
                removed.append(path)
    return removed


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:  # another file system
        shutil.copy2(src, dst)


def _store_digest(folder: Path) -> str:
    """Content hash of a cached run's results store, hashed once and kept beside it (a cached
    run never changes), so that a rerun with nothing changed does not read client frames."""
    record = folder.parent / f"{STORE}.sha256"
    if record.is_file():
        return record.read_text(encoding="utf-8").strip()
    digest = hashing.tree_sha256(folder) if folder.is_dir() else ""
    tmp = folder.parent / f".{STORE}.sha256.tmp-{os.getpid()}"
    tmp.write_text(digest + "\n", encoding="utf-8")
    os.replace(tmp, record)
    return digest


def resolve_stores(job: Job, jobs: dict[str, Job], cache: Path, stores: Path) -> bool:
    """Give a job that reads other jobs' results stores their content: a folder under
    stores/ named by the hash of what is in it, as the notebook's `stores_dir`, and that hash
    among its inputs (so a changed per-project result reruns it). False while a job it reads
    has not run yet (its key or its cache folder missing)."""
    found: dict[str, Path] = {}
    for name in job.reads:
        up = jobs[name]
        if not up.key or not (cache / up.key).is_dir():
            return False
        found[name] = cache / up.key / STORE
    digest = hashing.combine({n: _store_digest(d) for n, d in sorted(found.items())})[:16]
    target = stores / digest
    if not target.is_dir():
        tmp = stores / f"{digest}.tmp-{os.getpid()}-{time.time_ns()}"
        for name, folder in found.items():
            if folder.is_dir():  # hard links: a client frame is not copied at every run
                shutil.copytree(folder, tmp / name, copy_function=_link_or_copy)
            else:
                (tmp / name).mkdir(parents=True)
        try:
            tmp.rename(target)
        except OSError:  # another run made the same folder first
            shutil.rmtree(tmp, ignore_errors=True)
    job.params["stores_dir"] = str(target)
    job.inputs["stores"] = digest
    return True


def resolve_keys(jobs: list[Job], cache: Path, stores: Path, keyer) -> bool:
    """Set the key of every job whose inputs are known (for one that reads results stores:
    once the jobs it reads are in the cache); True when every key is known."""
    by_name = {j.name: j for j in jobs}
    changed = True
    while changed:
        changed = False
        for j in jobs:
            if not j.key and (not j.reads or resolve_stores(j, by_name, cache, stores)):
                j.key = keyer(j)
                changed = True
    return all(j.key for j in jobs)


def run_jobs(
    jobs: list[Job],
    cache: Path,
    failed_dir: Path,
    workers: int,
    progress: Progress,
    keyer=None,
    stores: Path | None = None,
    pool: ProcessPoolExecutor | None = None,
    on_done: Callable[[Job], None] | None = None,
) -> dict[str, dict]:
    """Execute the jobs not already cached, `workers` at a time; return per-job records.

    A job that reads other jobs' results stores becomes ready once they have run (its key is
    set then, by keyer, from their results). A worker that is free takes the ready job with the
    longest remaining path (remaining_paths). pool: workers started by start_pool (the caller
    ends them), else a pool of this call's own. on_done: called with each job executed, as it
    ends.
    """
    by_name = {j.name: j for j in jobs}
    priority = remaining_paths(jobs)
    records: dict[str, dict] = {}
    pending = list(jobs)
    queue: list[Job] = []

    def ready() -> None:
        """Queue the jobs that can start now (key known, not cached); record cached ones."""
        moved = True
        while moved:  # a cached job can make one that reads its store ready
            moved = False
            for job in list(pending):
                if not job.key:
                    if keyer is None or stores is None:
                        continue
                    if not resolve_stores(job, by_name, cache, stores):
                        continue
                    job.key = keyer(job)
                pending.remove(job)
                moved = True
                if (cache / job.key).is_dir():
                    records[job.name] = {"key": job.key, "cache": "hit", "seconds": 0.0}
                else:
                    queue.append(job)

    ready()
    hits = len(records)
    progress.say(
        f"notebooks: {len(jobs)} runs, {hits} cached, {len(jobs) - hits} to execute "
        f"({workers} at a time)"
    )
    if not queue and not pending:
        return records
    errors: list[ExecutionError] = []
    total, done = len(jobs) - hits, 0
    size = max(1, min(workers, total))
    own = pool is None
    if pool is None:
        pool = start_pool(size, failed_dir.parent / "logs")
    try:
        running: dict = {}

        def submit() -> None:
            while queue and len(running) < size:
                job = max(queue, key=lambda j: (priority[j.name], j.name))
                queue.remove(job)
                fut = pool.submit(execute_in_worker, job, cache, failed_dir, progress.quiet)
                running[fut] = job

        submit()
        while running:
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for fut in finished:
                job = running.pop(fut)
                done += 1
                try:
                    _, seconds = fut.result()
                    records[job.name] = {
                        "key": job.key,
                        "cache": "miss",
                        "seconds": round(seconds, 2),
                    }
                    progress.say(f"  [{done}/{total}] {job.name} executed")
                    if on_done is not None:
                        on_done(job)
                except ExecutionError as exc:
                    errors.append(exc)
                    progress.say(f"  [{done}/{total}] {job.name} FAILED")
            ready()
            submit()
    finally:
        if own:
            end_pool(pool, wait=True)
    if errors:
        raise errors[0]
    if pending:
        names = ", ".join(j.name for j in pending)
        raise ExecutionError(f"notebooks {names} could not start: a notebook they read is missing")
    return records
