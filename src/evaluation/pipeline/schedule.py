"""Scheduling the notebook runs: a job that reads other jobs' results stores waits for them and
is keyed by what they stored; the rest start at once, the longest first, `workers` at a time."""

from __future__ import annotations

import os
import shutil
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path

from evaluation import hashing
from evaluation.errors import ExecutionError
from evaluation.pipeline.jobs import STORE, Job, Progress, execute_in_worker

# Cross-project notebooks do the most work, the published figures the least: start the long
# ones first so that two workers finish together.
_COST_ORDER = ("durability_comparison", "summary", "durability", "comparison", "conversion")


def _expected_cost(job: Job) -> int:
    base = job.name.split("-")[0]
    return _COST_ORDER.index(base) if base in _COST_ORDER else len(_COST_ORDER)


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
) -> dict[str, dict]:
    """Execute the jobs not already cached, `workers` at a time; return per-job records.

    A job that reads other jobs' results stores starts once they have run (its key is set
    then, by keyer, from their results); the others start at once, the longest first.
    """
    by_name = {j.name: j for j in jobs}
    records: dict[str, dict] = {}
    pending = list(jobs)

    def ready() -> list[Job]:
        """Jobs that can start now (key known, not cached); cached ones are recorded as hits."""
        out: list[Job] = []
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
                    out.append(job)
        return sorted(out, key=_expected_cost)

    todo = ready()
    hits = len(records)
    progress.say(
        f"notebooks: {len(jobs)} runs, {hits} cached, {len(jobs) - hits} to execute "
        f"({workers} at a time)"
    )
    if not todo and not pending:
        return records
    errors: list[ExecutionError] = []
    import multiprocessing as mp

    total, done = len(jobs) - hits, 0
    # Processes, not threads: kernels started from threads of one process interfere.
    ctx = mp.get_context("forkserver")
    size = max(1, min(workers, total))
    with ProcessPoolExecutor(max_workers=size, mp_context=ctx) as pool:
        running = {
            pool.submit(execute_in_worker, j, cache, failed_dir, progress.quiet): j for j in todo
        }
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
                except ExecutionError as exc:
                    errors.append(exc)
                    progress.say(f"  [{done}/{total}] {job.name} FAILED")
            for job in ready():
                running[pool.submit(execute_in_worker, job, cache, failed_dir, progress.quiet)] = (
                    job
                )
    if errors:
        raise errors[0]
    if pending:
        names = ", ".join(j.name for j in pending)
        raise ExecutionError(f"notebooks {names} could not start: a notebook they read is missing")
    return records
