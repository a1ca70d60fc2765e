"""Notebook scheduling: a free worker takes the ready job with the longest remaining path, and
the workers that warm their kernels during validation end with a failed run."""

from __future__ import annotations

import os
import time
from concurrent.futures import Future
from pathlib import Path

import pytest

from evaluation.pipeline import schedule
from evaluation.pipeline.jobs import Job, Progress

ROOT = Path(__file__).resolve().parents[1]

# notebook -> expected seconds, and which jobs' results each reads (as jobs.plan lays them out)
COSTS = {
    "durability": 7.0,
    "conversion": 4.0,
    "comparison": 2.5,
    "durability_comparison": 1.0,
    "summary": 1.0,
    "efficiency": 0.8,
    "published": 0.5,
}
READS = {
    "published": (),
    "conversion-enh": (),
    "conversion-moh1": (),
    "conversion-moh2": (),
    "durability-moh1": (),
    "durability-moh2": (),
    "comparison": ("conversion-moh1", "conversion-moh2", "durability-moh1", "durability-moh2"),
    "durability_comparison": ("durability-moh1", "durability-moh2"),
    "efficiency": ("conversion-moh1", "conversion-moh2"),
    "summary": (
        "conversion-enh",
        "conversion-moh1",
        "conversion-moh2",
        "durability-moh1",
        "durability-moh2",
        "comparison",
    ),
}


def _jobs() -> list[Job]:
    return [
        Job(name, Path(f"{name.split('-')[0]}.ipynb"), "g", {}, {}, reads=reads)
        for name, reads in READS.items()
    ]


def _cost(job: Job) -> float:
    return COSTS[job.notebook.stem]


def test_remaining_paths_worked_out_by_hand():
    paths = schedule.remaining_paths(_jobs(), _cost)
    # summary 1; comparison 2.5 + summary = 3.5; durability 7 + comparison's 3.5 = 10.5;
    # a compared conversion 4 + 3.5 = 7.5; ENH's conversion (read by the summary only) 4 + 1
    assert paths == {
        "published": 0.5,
        "conversion-enh": 5.0,
        "conversion-moh1": 7.5,
        "conversion-moh2": 7.5,
        "durability-moh1": 10.5,
        "durability-moh2": 10.5,
        "comparison": 3.5,
        "durability_comparison": 1.0,
        "efficiency": 0.8,
        "summary": 1.0,
    }


class _SimulatedPool:
    """Two workers on a simulated clock: a job takes its expected cost."""

    def __init__(self, cache: Path) -> None:
        self.cache, self.now, self.running, self.started = cache, 0.0, [], []

    def submit(self, fn, job, *args):
        assert len(self.running) < 2, "more jobs submitted than there are workers"
        fut: Future = Future()
        self.running.append((self.now + _cost(job), job.name, fut, job))
        self.started.append((self.now, job.name))
        return fut

    def wait(self, futures, return_when=None):
        self.running.sort(key=lambda r: (r[0], r[1]))
        end, _, fut, job = self.running.pop(0)
        self.now = end
        (self.cache / job.key).mkdir(parents=True)
        fut.set_result((self.cache / job.key, _cost(job)))
        return {fut}, set()


def test_jobs_start_longest_remaining_path_first(tmp_path, monkeypatch):
    cache, jobs = tmp_path / "cache", _jobs()
    pool = _SimulatedPool(cache)
    monkeypatch.setattr(schedule, "wait", pool.wait)
    monkeypatch.setattr(schedule, "_expected_cost", _cost)
    for j in jobs:
        j.key = "" if j.reads else j.name
    ended = []
    records = schedule.run_jobs(
        jobs, cache, tmp_path / "failed", 2, Progress(quiet=True),
        keyer=lambda j: j.name, stores=tmp_path / "stores", pool=pool,
        on_done=lambda j: ended.append((pool.now, j.name)),
    )  # fmt: skip
    assert len(records) == 10
    # by hand, two workers: both durability (10.5) at 0, ending at 7; both compared conversions
    # (7.5) until 11; then ENH's conversion (5) and the comparison (3.5), which ends at 13.5;
    # the durability comparison (1) to 14.5, efficiency (0.8) to 15.3; the summary once ENH's
    # conversion ends at 15, until 16; the published figures (0.5) from 15.3 to 15.8
    assert pool.started == [
        (0.0, "durability-moh2"),
        (0.0, "durability-moh1"),
        (7.0, "conversion-moh2"),
        (7.0, "conversion-moh1"),
        (11.0, "conversion-enh"),
        (11.0, "comparison"),
        (13.5, "durability_comparison"),
        (14.5, "efficiency"),
        (15.0, "summary"),
        (15.3, "published"),
    ]
    assert pool.now == 16.0  # 31.8 s of work on two workers: at best 15.9
    # each job is handed on (its results to the gate) as it ends, not after the last one
    assert ended == [
        (7.0, "durability-moh1"),
        (7.0, "durability-moh2"),
        (11.0, "conversion-moh1"),
        (11.0, "conversion-moh2"),
        (13.5, "comparison"),
        (14.5, "durability_comparison"),
        (15.0, "conversion-enh"),
        (15.3, "efficiency"),
        (15.8, "published"),
        (16.0, "summary"),
    ]


def test_a_failed_validation_ends_the_warming_workers_and_kernels(tmp_path, monkeypatch):
    """The workers start their kernels before validation; a validation failure ends them all
    (no worker, kernel or connection file left) and the run reports the data error as before."""
    import psutil

    from evaluation import config
    from evaluation.errors import InvalidDataError
    from evaluation.pipeline import run as run_module

    def kernels(args: dict | None = None) -> list:
        """The kernels below this process; `args` gets each one's command line, read once (a
        process can end between two reads)."""
        found = []
        for p in psutil.Process().children(recursive=True):
            try:
                cmdline = p.cmdline()
            except psutil.Error:
                continue
            if any("ipykernel" in a for a in cmdline):
                found.append(p)
                if args is not None:
                    args[p.pid] = cmdline
        return found

    seen: list = []
    files: list[Path] = []

    def invalid(*args, **kwargs):
        deadline = time.monotonic() + 120
        cmdlines: dict[int, list[str]] = {}
        while not seen and time.monotonic() < deadline:  # the worker's kernel has started
            seen[:] = kernels(cmdlines)
            time.sleep(0.1)
        files.extend(Path(a[i + 1]) for a in (cmdlines[k.pid] for k in seen)
                     for i, x in enumerate(a) if x == "-f")  # fmt: skip
        raise InvalidDataError("table clients, column age, row 3: planted")

    monkeypatch.setattr(run_module, "validate_inputs", invalid)
    cfg = config.load(ROOT / "evaluation.yml")
    opts = run_module.RunOptions(build=tmp_path / "build", jobs=1, quiet=True)
    with pytest.raises(InvalidDataError, match="planted"):
        run_module.run(cfg, opts)
    assert len(seen) == 1
    _, alive = psutil.wait_procs(seen, timeout=10)
    assert alive == [] and kernels() == []
    # the forkserver stays (multiprocessing keeps it for the next pool): it has no worker left
    for p in psutil.Process().children(recursive=True):
        assert "forkserver" in " ".join(p.cmdline()) or "resource_tracker" in " ".join(
            p.cmdline()
        ), p.cmdline()
    assert files and not [f for f in files if f.exists()]


def test_files_of_killed_runs_are_removed_and_others_kept(tmp_path):
    """Connection files and template sockets are named by their run's process id: those of a
    run that has gone are removed, a live run's and anything else are kept."""
    import subprocess
    import sys

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    me = str(os.getpid())
    names = {
        f"evaluation-kernel-{gone}-ab.json": True,
        f"evaluation-template-{gone}-cd": True,
        f"evaluation-kernel-{me}-ef.json": False,
        f"evaluation-template-{me}-01": False,
        "evaluation-template-1234567890123456789012": False,  # not a process id
        "evaluation-template-9f3c": False,  # named before runs named them
        f"other-{gone}-x.json": False,
    }
    for name in names:
        (tmp_path / name).write_text("")
    removed = schedule.remove_orphans(tmp_path)
    assert sorted(p.name for p in removed) == sorted(n for n, dead in names.items() if dead)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        n for n, dead in names.items() if not dead
    )


def test_socket_files_of_killed_runs_kernels_are_removed_too(tmp_path):
    """A kernel over IPC leaves socket files named after its connection file (FILE-ipc-N):
    a killed run's go with its connection file, a live run's stay."""
    import subprocess
    import sys

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    me = str(os.getpid())
    dead = [f"evaluation-kernel-{gone}-ab.json", f"evaluation-kernel-{gone}-ab-ipc-1",
            f"evaluation-kernel-{gone}-ab-ipc-5"]  # fmt: skip
    live = [f"evaluation-kernel-{me}-cd.json", f"evaluation-kernel-{me}-cd-ipc-1"]
    for name in dead + live:
        (tmp_path / name).write_text("")
    removed = schedule.remove_orphans(tmp_path)
    assert sorted(p.name for p in removed) == sorted(dead)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(live)
