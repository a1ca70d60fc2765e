"""Measure one command for the bench: wall and CPU time, and the peak memory of its whole
process tree (sampled), overall and per stage of the run, in its own process group, stopped
after a timeout.

Stages: `evaluation run` names the stage it enters (mark_stage) in the file that
EVALUATION_STAGE_FILE names, when set; the sampler reads it with every sample."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[3]
STAGE_ENV = "EVALUATION_STAGE_FILE"


def mark_stage(name: str) -> None:
    """Say which stage the run is in, for a bench measuring it (nothing when none listens)."""
    path = os.environ.get(STAGE_ENV)
    if path:
        tmp = f"{path}.tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(name)
        os.replace(tmp, path)


def _stage(path: Path | None) -> str:
    if path is None:
        return ""
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError:
        return ""


@dataclass
class Measured:
    """One command: wall seconds, CPU seconds, peak memory of its process tree, outcome."""

    seconds: float
    cpu_seconds: float  # the tree's user + system time (sampled; short-lived processes missed)
    peak_tree_mb: float  # sampled sum of PSS (else RSS) over the process tree
    # largest single process of the tree (sampled PSS, else RSS; 0 when nothing was sampled).
    # Not wait4's ru_maxrss: Linux carries the forking process's size at the fork into the
    # child's high-water mark, so that would report this bench's own size
    max_process_mb: float
    returncode: int
    timed_out: bool = False
    stderr_tail: str = ""
    # peak tree memory while the run was in each stage (mark_stage); {} when none was marked
    stage_peak_mb: dict[str, float] = field(default_factory=dict)
    # for a run timed alone (unwatched) after this sampled one: the sampled run's wall time
    sampled_seconds: float | None = None
    # the wall times of the repeated cold runs (timed alone, or of the default data), whose
    # median is `seconds`
    alone_seconds: list[float] = field(default_factory=list)
    # the tree's CPU split into user and system (kernel) time: wait4's for the descendants it
    # waited for, sampling's for the others (so only wait4's when nothing was sampled)
    user_seconds: float = 0.0
    system_seconds: float = 0.0
    # the machine's, over the command: core-seconds no process used (idle), and transparent
    # huge pages (2 MiB) the kernel faulted in, zeroing each; None where /proc does not say
    idle_core_seconds: float | None = None
    huge_pages: int | None = None


def _children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", encoding="ascii", errors="replace") as fh:
                stat = fh.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        kids.setdefault(ppid, []).append(int(entry.name))
    return kids


def _process_mb(pid: int) -> float:
    """Proportional set size (shared pages split between sharers); RSS if PSS is unreadable."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    try:
        with open(f"/proc/{pid}/statm", encoding="ascii") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return 0.0


def _cpu_ticks(pid: int) -> tuple[int, int]:
    """The process's user and system CPU so far, in clock ticks ((0, 0) once it has gone)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0, 0
    return int(fields[11]), int(fields[12])  # utime, stime


def machine_counters(stat: Path = Path("/proc/stat"), vmstat: Path = Path("/proc/vmstat")) -> dict:
    """The machine's idle core-seconds (idle + iowait) and transparent huge pages faulted in,
    since boot; a counter /proc does not give is left out."""
    out: dict[str, float] = {}
    try:
        cpu = stat.read_text(encoding="ascii").splitlines()[0].split()
        out["idle"] = (int(cpu[4]) + int(cpu[5])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        pass
    try:
        for line in vmstat.read_text(encoding="ascii").splitlines():
            name, _, value = line.partition(" ")
            if name == "thp_fault_alloc":
                out["huge_pages"] = int(value)
    except (OSError, ValueError):
        pass
    return out


def tree_sample(root: int) -> tuple[float, dict[int, tuple[int, int]], float]:
    """Memory (MB) of root and all its descendants now, each one's (user, system) CPU ticks
    so far, and the memory of the largest one."""
    kids = _children_map()
    total, largest, ticks, todo = 0.0, 0.0, {}, [root]
    while todo:
        pid = todo.pop()
        mb = _process_mb(pid)
        total += mb
        largest = max(largest, mb)
        ticks[pid] = _cpu_ticks(pid)
        todo.extend(kids.get(pid, ()))
    return total, ticks, largest


def measure(
    cmd: list[str],
    env: dict[str, str],
    timeout: float,
    cwd: Path = REPO_ROOT,
    interval: float | None = 0.2,
    stage_file: Path | None = None,
) -> Measured:
    """Run cmd to completion (or timeout), sampling the memory of its process tree; with
    stage_file, also the peak of each stage the command marks there (mark_stage). With
    interval None nothing is sampled: wall time only (sampling reads every process's memory
    map, which slows processes that allocate; CPU is then this process's children's only)."""
    if stage_file is not None:
        stage_file.unlink(missing_ok=True)
        env = {**env, STAGE_ENV: str(stage_file)}
    before = machine_counters()
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd,
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    err_chunks: list[bytes] = []
    reader = threading.Thread(target=lambda: err_chunks.append(proc.stderr.read()), daemon=True)
    reader.start()
    waited: dict[str, Any] = {}

    def wait() -> None:
        _, status, usage = os.wait4(proc.pid, 0)
        waited.update(status=status, usage=usage, end=time.perf_counter())

    waiter = threading.Thread(target=wait, daemon=True)
    waiter.start()
    peak, one, timed_out = 0.0, 0.0, False
    ticks: dict[int, tuple[int, int]] = {}
    stages: dict[str, float] = {}
    while interval is None and waiter.is_alive():
        waiter.join(max(0.0, timeout - (time.perf_counter() - start)))
        if waiter.is_alive() and not timed_out:
            timed_out = True
            os.killpg(proc.pid, signal.SIGKILL)
    while interval is not None and waiter.is_alive():
        if not timed_out and time.perf_counter() - start > timeout:
            timed_out = True
            os.killpg(proc.pid, signal.SIGKILL)
        mb, now, largest = tree_sample(proc.pid)
        peak, one = max(peak, mb), max(one, largest)
        stage = _stage(stage_file)
        if stage:
            stages[stage] = max(stages.get(stage, 0.0), round(mb, 1))
        for pid, (user, system) in now.items():
            seen = ticks.get(pid, (0, 0))
            ticks[pid] = (max(seen[0], user), max(seen[1], system))
        waiter.join(interval)
    after = machine_counters()
    reader.join(5)
    proc.returncode = os.waitstatus_to_exitcode(waited["status"])
    usage = waited["usage"]
    tail = b"".join(err_chunks).decode("utf-8", "replace").strip().splitlines()[-5:]
    hz = os.sysconf("SC_CLK_TCK")
    # wait4 counts the waited-for descendants to their end; sampling counts the others
    user = max(usage.ru_utime, sum(u for u, _ in ticks.values()) / hz)
    system = max(usage.ru_stime, sum(s for _, s in ticks.values()) / hz)

    def change(name: str) -> float | None:
        return after[name] - before[name] if name in before and name in after else None

    idle, huge = change("idle"), change("huge_pages")
    return Measured(
        seconds=round(waited["end"] - start, 3),
        cpu_seconds=round(user + system, 2),
        user_seconds=round(user, 2),
        system_seconds=round(system, 2),
        idle_core_seconds=None if idle is None else round(idle, 2),
        huge_pages=None if huge is None else int(huge),
        peak_tree_mb=round(peak, 1),
        max_process_mb=round(one, 1),
        returncode=proc.returncode,
        timed_out=timed_out,
        stderr_tail="\n".join(tail) if proc.returncode else "",
        stage_peak_mb=stages,
    )
