"""`make bench`: wall time per stage and peak memory from 10^3 to 10^6 clients, plus references.

On the default data the cold `evaluation run` is compared with the same notebooks run one after
another by the papermill CLI (the common practice) and with the same notebooks run in one kernel
(close to the floor). Results go to build/bench/bench.{json,png,md}; targets are reported, never
asserted. Every measured command runs in its own process group, is sampled for the memory of its
whole process tree and is stopped after --timeout seconds.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[3]
SIZES = (1_000, 10_000, 100_000, 1_000_000)
CLIENTS_AT_SCALE_1 = 577  # clients in a scale-1 synthetic dataset
SEED = 20151001
BENCH_KEY = "bench-key-synthetic-data-only-0123456789"  # used only when no key is set
TARGETS = {
    "cold_over_one_kernel": 1.5,
    "cold_over_papermill": 0.5,
    "noop_seconds": 1.0,
    "million_seconds": 120.0,
    "million_peak_gb": 6.0,
    "help_seconds": 0.5,
}


@dataclass
class Measured:
    """One command: wall seconds, CPU seconds, peak memory of its process tree, outcome."""

    seconds: float
    cpu_seconds: float  # the tree's user + system time (sampled; short-lived processes missed)
    peak_tree_mb: float  # sampled sum of PSS (else RSS) over the process tree
    max_process_mb: float  # largest single process (wait4 ru_maxrss)
    returncode: int
    timed_out: bool = False
    stderr_tail: str = ""


@dataclass
class SizeResult:
    """The pipeline on one synthetic dataset."""

    target_clients: int
    clients: int
    scale: float
    synth_seconds: float | None
    run: Measured
    noop: Measured | None
    noop_was_noop: bool | None = None
    render: Measured | None = None  # rendering from cached notebooks (smallest size only)
    stages: dict[str, float] = field(default_factory=dict)
    notebooks: dict[str, float] = field(default_factory=dict)


# ----------------------------------------------------------------------------- measuring


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


def _cpu_ticks(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])  # utime + stime


def tree_sample(root: int) -> tuple[float, dict[int, int]]:
    """Memory (MB) of root and all its descendants now, and each one's CPU ticks so far."""
    kids = _children_map()
    total, ticks, todo = 0.0, {}, [root]
    while todo:
        pid = todo.pop()
        total += _process_mb(pid)
        ticks[pid] = _cpu_ticks(pid)
        todo.extend(kids.get(pid, ()))
    return total, ticks


def tree_mb(root: int) -> float:
    """Memory of root and all its descendants now, in MB."""
    return tree_sample(root)[0]


def measure(
    cmd: list[str],
    env: dict[str, str],
    timeout: float,
    cwd: Path = REPO_ROOT,
    interval: float = 0.2,
) -> Measured:
    """Run cmd to completion (or timeout), sampling the memory of its process tree."""
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
    peak, timed_out, ticks = 0.0, False, {}
    while waiter.is_alive():
        if not timed_out and time.perf_counter() - start > timeout:
            timed_out = True
            os.killpg(proc.pid, signal.SIGKILL)
        mb, now = tree_sample(proc.pid)
        peak = max(peak, mb)
        for pid, t in now.items():
            ticks[pid] = max(ticks.get(pid, 0), t)
        waiter.join(interval)
    reader.join(5)
    proc.returncode = os.waitstatus_to_exitcode(waited["status"])
    usage = waited["usage"]
    tail = b"".join(err_chunks).decode("utf-8", "replace").strip().splitlines()[-5:]
    return Measured(
        seconds=round(waited["end"] - start, 3),
        cpu_seconds=round(
            max(usage.ru_utime + usage.ru_stime, sum(ticks.values()) / os.sysconf("SC_CLK_TCK")), 2
        ),
        peak_tree_mb=round(peak, 1),
        max_process_mb=round(usage.ru_maxrss / 1024, 1),
        returncode=proc.returncode,
        timed_out=timed_out,
        stderr_tail="\n".join(tail) if proc.returncode else "",
    )


# ----------------------------------------------------------------------------- commands


def _tool(name: str) -> list[str]:
    exe = Path(sys.executable).with_name(name)
    if exe.exists():
        return [str(exe)]
    return [sys.executable, "-m", name]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    if not env.get("EVALUATION_PSEUDONYM_KEY") and not env.get("EVALUATION_PSEUDONYM_KEY_FILE"):
        env["EVALUATION_PSEUDONYM_KEY"] = BENCH_KEY  # synthetic data only
    return env


def _manifest(build: Path) -> dict:
    try:
        return json.loads((build / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _say(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def time_help(env: dict[str, str], repeats: int = 5) -> float:
    """Median wall time of `evaluation --help`."""
    runs = [measure([*_tool("evaluation"), "--help"], env, 60).seconds for _ in range(repeats)]
    return round(statistics.median(runs), 3)


def one_kernel_notebook(runs: list[dict], work: Path) -> Path:
    """One notebook holding every run's code cells, each run with its parameters and folder."""
    import nbformat

    cells = []
    for run in runs:
        nb = nbformat.read(REPO_ROOT / run["notebook"], as_version=4)
        folder = work / run["name"]
        cells.append(
            nbformat.v4.new_code_cell(
                "import os\nimport matplotlib.pyplot as plt\nplt.close('all')\n"
                f"os.makedirs({str(folder)!r}, exist_ok=True)\nos.chdir({str(folder)!r})"
            )
        )
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            cells.append(nbformat.v4.new_code_cell(cell.source))
            if "parameters" in cell.metadata.get("tags", []):
                cells.append(
                    nbformat.v4.new_code_cell(
                        "\n".join(f"{k} = {v!r}" for k, v in run["parameters"].items())
                    )
                )
    combined = nbformat.v4.new_notebook(cells=cells)
    combined.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    path = work / "one_kernel.ipynb"
    work.mkdir(parents=True, exist_ok=True)
    nbformat.write(combined, path)
    return path


def references(manifest: dict, work: Path, env: dict[str, str], timeout: float) -> dict:
    """Sequential papermill CLI runs, and one kernel running all notebooks, on the same inputs."""
    runs = manifest["notebooks"]
    shutil.rmtree(work, ignore_errors=True)
    seq: list[Measured] = []
    for run in runs:
        folder = work / "papermill" / run["name"]
        folder.mkdir(parents=True)
        cmd = [
            *_tool("papermill"),
            str(REPO_ROOT / run["notebook"]),
            str(folder / "out.ipynb"),
            "-k",
            "python3",
            "-y",
            json.dumps(run["parameters"]),
            "--cwd",
            str(folder),
        ]
        seq.append(measure(cmd, env, timeout))
        _say(f"  papermill {run['name']}: {seq[-1].seconds:.1f} s")
    nb = one_kernel_notebook(runs, work / "one_kernel")
    one = measure(
        [*_tool("papermill"), str(nb), str(nb.with_suffix(".out.ipynb")), "-k", "python3"],
        env,
        timeout,
    )
    _say(f"  one kernel: {one.seconds:.1f} s")
    return {
        "papermill_sequential": {
            "seconds": round(sum(m.seconds for m in seq), 3),
            "cpu_seconds": round(sum(m.cpu_seconds for m in seq), 2),
            "peak_tree_mb": max(m.peak_tree_mb for m in seq),
            "ok": all(m.returncode == 0 for m in seq),
            "per_notebook": {r["name"]: asdict(m) for r, m in zip(runs, seq, strict=True)},
        },
        "one_kernel": {**asdict(one), "ok": one.returncode == 0},
    }


def run_size(n: int, out: Path, env: dict[str, str], timeout: float, render: bool) -> SizeResult:
    """Generate (or reuse) n synthetic clients as Parquet; run the pipeline cold, then again.

    The cold run stops before rendering so that every size measures the same stages; with
    render=True the report is then rendered from the cached notebooks and timed on its own.
    """
    scale = n / CLIENTS_AT_SCALE_1
    data = out / "data" / f"n{n}"
    stamp = f"seed={SEED} scale={scale!r}\n"
    synth_seconds = None
    if not (data / ".complete").is_file() or (data / ".complete").read_text() != stamp:
        shutil.rmtree(data, ignore_errors=True)
        m = measure(
            [
                *_tool("evaluation"),
                "synth",
                "--seed",
                str(SEED),
                "--scale",
                repr(scale),
                "--out",
                str(data),
                "--format",
                "parquet",
            ],
            env,
            timeout,
        )
        if m.returncode:
            raise RuntimeError(f"synth at {n} clients failed: {m.stderr_tail}")
        (data / ".complete").write_text(stamp)
        synth_seconds = m.seconds
    import pyarrow.parquet as pq

    clients = pq.read_metadata(data / "clients.parquet").num_rows
    build = out / "work" / f"n{n}"
    shutil.rmtree(build, ignore_errors=True)
    cmd = [*_tool("evaluation"), "run", "--data", str(data), "--build", str(build), "--quiet"]
    first = measure([*cmd, "--no-render"], env, timeout)
    man = _manifest(build) if first.returncode == 0 else {}
    noop = measure([*cmd, "--no-render"], env, timeout) if first.returncode == 0 else None
    rendered = measure(cmd, env, timeout) if render and first.returncode == 0 else None
    return SizeResult(
        target_clients=n,
        clients=clients,
        scale=round(scale, 4),
        synth_seconds=synth_seconds,
        run=first,
        noop=noop,
        noop_was_noop=_same_run(man, _manifest(build)) if noop else None,
        render=rendered,
        stages=man.get("timings_seconds", {}),
        notebooks={r["name"]: r.get("seconds", 0.0) for r in man.get("notebooks", [])},
    )


def _same_run(before: dict, after: dict) -> bool:
    """Whether a rerun reused the previous run (a changed library or input gives a new key)."""
    return bool(before.get("run_key")) and before.get("run_key") == after.get("run_key")


# ----------------------------------------------------------------------------- analysis


def loglog_slope(ns: list[float], ts: list[float]) -> float | None:
    """Least-squares exponent b in t = a·N^b (1 = linear growth)."""
    pts = [(math.log(n), math.log(t)) for n, t in zip(ns, ts, strict=True) if n > 0 and t > 0]
    if len(pts) < 2:
        return None
    mx = sum(x for x, _ in pts) / len(pts)
    my = sum(y for _, y in pts) / len(pts)
    sxx = sum((x - mx) ** 2 for x, _ in pts)
    return round(sum((x - mx) * (y - my) for x, y in pts) / sxx, 3) if sxx else None


def growth(points: list[tuple[int, float, bool]]) -> dict[str, Any]:
    """Exponent of t in N, and the marginal cost per client in each decade (fixed costs cancel).

    points: (clients, seconds, finished). A run stopped at the timeout gives a lower bound.
    Growth is linear when the marginal cost per client does not rise from decade to decade.
    """
    ok = [(n, t) for n, t, done in points if done]
    marginal = []
    for (n0, t0, d0), (n1, t1, d1) in zip(points, points[1:], strict=False):
        if d0 and n1 > n0:
            per_client = round(1e3 * (t1 - t0) / (n1 - n0), 4)
            marginal.append(
                {"from": n0, "to": n1, "ms_per_client": per_client, "lower_bound": not d1}
            )
    ratio = None
    if len(marginal) >= 2 and marginal[-2]["ms_per_client"] > 0:
        ratio = round(marginal[-1]["ms_per_client"] / marginal[-2]["ms_per_client"], 2)
    return {
        "exponent": loglog_slope([n for n, _ in ok], [t for _, t in ok]),
        "exponent_last_decade": loglog_slope([n for n, _ in ok[-2:]], [t for _, t in ok[-2:]]),
        "marginal": marginal,
        "marginal_ratio_last": ratio,
        "complete": all(done for *_, done in points),
    }


def ratios(
    cold_compute: float, cold_total: float, one_kernel: float, papermill: float, noop: float
) -> dict[str, float]:
    """The issue's ratios; 'compute' leaves out rendering, which the references do not do."""
    return {
        "cold_over_one_kernel": round(cold_compute / one_kernel, 2),
        "cold_over_papermill": round(cold_compute / papermill, 2),
        "cold_with_render_over_one_kernel": round(cold_total / one_kernel, 2),
        "cold_with_render_over_papermill": round(cold_total / papermill, 2),
        "noop_seconds": round(noop, 3),
    }


def target_checks(result: dict) -> dict[str, dict[str, Any]]:
    """Each target: measured value, limit, met or not (None when not measured)."""
    r = result.get("ratios", {})
    million = next((s for s in result.get("sizes", []) if s["target_clients"] == 1_000_000), None)
    values = {
        "cold_over_one_kernel": r.get("cold_over_one_kernel"),
        "cold_over_papermill": r.get("cold_over_papermill"),
        "noop_seconds": r.get("noop_seconds"),
        "million_seconds": million["run"]["seconds"] if million else None,
        "million_peak_gb": round(million["run"]["peak_tree_mb"] / 1024, 2) if million else None,
        "help_seconds": result.get("help_seconds"),
    }
    out = {}
    for key, limit in TARGETS.items():
        v = values[key]
        out[key] = {"value": v, "limit": limit, "met": None if v is None else v <= limit}
    g = result.get("growth", {})
    ratio = g.get("marginal_ratio_last")
    last = (g.get("marginal") or [{}])[-1]
    met = None if ratio is None else ratio <= 1.5
    if met and last.get("lower_bound"):
        met = None  # the largest run did not finish: its cost per client is only a lower bound
    out["linear_growth"] = {"value": ratio, "limit": 1.5, "met": met}
    return out


def _fmt(v: Any, unit: str = "") -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:,.2f}{unit}" if v < 10 else f"{v:,.1f}{unit}"
    return f"{v:,}{unit}"


def _noop_cell(noop: dict | None, was_noop: bool | None) -> str:
    if noop is None:
        return "–"
    flag = "" if was_noop in (True, None) else " (reran: cache key changed)"
    return _fmt(noop["seconds"]) + flag


def _render_cell(render: dict | None) -> str:
    if render is None:
        return "–"
    if render["returncode"]:
        return f"failed ({render['returncode']})"
    return _fmt(render["seconds"])


def markdown(result: dict) -> str:
    """The benchmark as Markdown: sizes, references and ratios, targets."""
    lines = [
        "## Pipeline by size (synthetic Parquet data)",
        "",
        "| clients | validate + prepare (s) | notebooks (s) | render, later (s) | run, wall (s) "
        "| CPU (s) | peak memory, tree (MB) | largest process (MB) | no-op rerun (s) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in result["sizes"]:
        st, run = s["stages"], s["run"]
        wall = (
            "timeout"
            if run["timed_out"]
            else (
                _fmt(run["seconds"]) if run["returncode"] == 0 else f"failed ({run['returncode']})"
            )
        )
        lines.append(
            f"| {s['clients']:,} | {_fmt(st.get('validate_prepare'))} | {_fmt(st.get('execute'))} "
            f"| {_render_cell(s.get('render'))} | {wall} "
            f"| {_fmt(run['cpu_seconds'])} | {_fmt(run['peak_tree_mb'])} "
            f"| {_fmt(run['max_process_mb'])} | {_noop_cell(s['noop'], s['noop_was_noop'])} |"
        )
    g = result.get("growth", {})
    lines.append("")
    for m in g.get("marginal", []):
        bound = " at least" if m["lower_bound"] else ""
        lines.append(
            f"Marginal cost from {m['from']:,} to {m['to']:,} clients:{bound} "
            f"{m['ms_per_client']:.3f} ms per client.  "
        )
    lines += [
        "",
        "Growth exponent of run time in N (1 = linear): all sizes "
        f"{_fmt(g.get('exponent'))}, last decade {_fmt(g.get('exponent_last_decade'))}.",
        "",
    ]
    d, ref = result.get("default"), result.get("references")
    if d and ref:
        lines += [
            "## Default data: pipeline against the references",
            "",
            "| what | wall (s) | CPU (s) | peak memory, tree (MB) |",
            "|---|---:|---:|---:|",
            f"| `evaluation run`, cold, with render | {_fmt(d['cold']['seconds'])} "
            f"| {_fmt(d['cold']['cpu_seconds'])} | {_fmt(d['cold']['peak_tree_mb'])} |",
            f"| … of which validate + notebooks (no render) | {_fmt(d['cold_compute'])} | | |",
            f"| `evaluation run`, nothing changed | "
            f"{_noop_cell(d['noop'], d.get('noop_was_noop'))} "
            f"| {_fmt(d['noop']['cpu_seconds'])} | {_fmt(d['noop']['peak_tree_mb'])} |",
            f"| papermill CLI, notebooks one after another | "
            f"{_fmt(ref['papermill_sequential']['seconds'])} "
            f"| {_fmt(ref['papermill_sequential'].get('cpu_seconds'))} "
            f"| {_fmt(ref['papermill_sequential']['peak_tree_mb'])} |",
            f"| all notebooks in one kernel | {_fmt(ref['one_kernel']['seconds'])} "
            f"| {_fmt(ref['one_kernel']['cpu_seconds'])} "
            f"| {_fmt(ref['one_kernel']['peak_tree_mb'])} |",
            f"| `evaluation --help` (median of 5) | {_fmt(result.get('help_seconds'))} | | |",
            "",
        ]
    lines += [
        "## Targets (reported, not asserted)",
        "",
        "linear_growth: marginal cost per client in the last decade over the one before.",
        "",
        "| target | value | limit | met |",
        "|---|---:|---:|---|",
    ]
    for key, t in result.get("targets", {}).items():
        met = {True: "yes", False: "**no**", None: "not measured"}[t["met"]]
        lines.append(f"| {key} | {_fmt(t['value'])} | {t['limit']} | {met} |")
    env = result.get("machine", {})
    lines += [
        "",
        f"Machine: {env.get('cpus')} CPUs; load average before {env.get('load_before')}, "
        f"after {env.get('load_after')} (other work on the machine inflates every number).",
    ]
    return "\n".join(lines) + "\n"


def plot(result: dict, path: Path) -> None:
    """Time per stage against N (log-log, with a line ∝ N) and peak memory against N."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = [s for s in result["sizes"] if s["run"]["returncode"] == 0]
    fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(10, 4))
    if sizes:
        ns = [s["clients"] for s in sizes]
        series = {
            "run, wall": [s["run"]["seconds"] for s in sizes],
            "validate + prepare": [s["stages"].get("validate_prepare", 0) for s in sizes],
            "notebooks": [s["stages"].get("execute", 0) for s in sizes],
        }
        for (label, ts), style in zip(series.items(), ("o-", "s--", "^:"), strict=True):
            ax_t.plot(ns, ts, style, color="black", label=label)
        ref_t = series["run, wall"][-1]
        ax_t.plot(
            [ns[0], ns[-1]],
            [ref_t * ns[0] / ns[-1], ref_t],
            color="grey",
            lw=0.8,
            label="∝ N (linear)",
        )
        ax_m.plot(
            ns,
            [s["run"]["peak_tree_mb"] / 1024 for s in sizes],
            "o-",
            color="black",
            label="process tree (PSS)",
        )
        ax_m.plot(
            ns,
            [s["run"]["max_process_mb"] / 1024 for s in sizes],
            "s--",
            color="grey",
            label="largest process",
        )
        ax_m.axhline(TARGETS["million_peak_gb"], color="grey", lw=0.8, ls=":", label="6 GB target")
    stopped = [s for s in result["sizes"] if s["run"]["timed_out"]]
    if stopped:
        ns = [s["clients"] for s in stopped]
        ax_t.plot(
            ns,
            [s["run"]["seconds"] for s in stopped],
            "^",
            color="black",
            mfc="white",
            label="stopped at timeout (lower bound)",
        )
        ax_m.plot(
            ns,
            [s["run"]["peak_tree_mb"] / 1024 for s in stopped],
            "^",
            color="black",
            mfc="white",
            label="until stopped (lower bound)",
        )
    for ax in (ax_t, ax_m):
        ax.set_xscale("log")
        ax.set_xlabel("clients (N)")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    ax_t.set_yscale("log")
    ax_t.set_ylabel("seconds")
    ax_t.set_title("Wall time by stage")
    ax_m.set_ylabel("GB")
    ax_m.set_title("Peak memory")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


# ----------------------------------------------------------------------------- main


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def disclosure_cost(sizes: tuple[int, ...] = (100_000, 1_000_000)) -> list[dict[str, Any]]:
    """Wall time of the joint disclosure check alone on synthetic ledgers (publish.joint).

    The ledger grows with the number of categories, not with clients: the ledger is given the
    real one's structure (3 projects, 21 support points, 10 half-year cohorts, union) plus one
    category per 2,000 clients (more points), as real data would have.
    """
    from evaluation.publish.joint import check
    from evaluation.publish.ledger_synthetic import synthetic_ledger

    out = []
    for n in sizes:
        points = 21 + n // 2_000
        t0 = time.perf_counter()
        led = synthetic_ledger(SEED, n, projects=3, points=points, cohorts=10)
        t1 = time.perf_counter()
        d = check(led)
        t2 = time.perf_counter()
        out.append(
            {
                "clients": n,
                "cells": len(led.cells),
                "relations": len(led.relations),
                "withheld": len(d.withheld),
                "build_seconds": round(t1 - t0, 3),
                "check_seconds": round(t2 - t1, 3),
            }
        )
        _say(
            f"disclosure check, {n:,} clients: {len(led.cells):,} cells, "
            f"{len(d.withheld):,} withheld, {t2 - t1:.1f} s"
        )
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and write bench.json, bench.png and bench.md to --out."""
    ap = argparse.ArgumentParser(prog="python -m evaluation.pipeline.bench", description=__doc__)
    ap.add_argument("--out", type=Path, default=REPO_ROOT / "build" / "bench")
    ap.add_argument("--sizes", type=int, nargs="*", default=list(SIZES))
    ap.add_argument("--no-references", action="store_true", help="skip the default-data part")
    ap.add_argument("--timeout", type=float, default=600, help="seconds per command (default 600)")
    ap.add_argument(
        "--disclosure-only", action="store_true", help="only time the joint disclosure check"
    )
    args = ap.parse_args(argv)
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    env = _env()
    result: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "load_before": _load()},
        "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    result["disclosure_check"] = disclosure_cost()
    if args.disclosure_only:
        (out / "disclosure.json").write_text(
            json.dumps(result["disclosure_check"], indent=2) + "\n", encoding="utf-8"
        )
        return 0
    result["help_seconds"] = time_help(env)
    _say(f"evaluation --help: {result['help_seconds']} s")
    if not args.no_references:
        build = out / "work" / "default"
        shutil.rmtree(build, ignore_errors=True)
        cmd = [*_tool("evaluation"), "run", "--build", str(build), "--quiet"]
        cold = measure(cmd, env, args.timeout)
        _say(f"default data, cold run: {cold.seconds:.1f} s (exit {cold.returncode})")
        if cold.returncode:
            raise SystemExit(f"the cold run failed:\n{cold.stderr_tail}")
        man = _manifest(build)
        noop = measure(cmd, env, args.timeout)
        _say(f"default data, nothing changed: {noop.seconds:.2f} s")
        render_s = man.get("timings_seconds", {}).get("render", 0.0)
        result["default"] = {
            "cold": asdict(cold),
            "noop": asdict(noop),
            "noop_was_noop": _same_run(man, _manifest(build)),
            "cold_compute": round(cold.seconds - render_s, 3),
            "stages": man.get("timings_seconds", {}),
            "notebooks": {r["name"]: r.get("seconds") for r in man["notebooks"]},
        }
        from evaluation.pipeline.run import absolute_parameters

        for nb in man["notebooks"]:  # the manifest's paths are relative; the cwd is REPO_ROOT
            nb["parameters"] = absolute_parameters(nb["parameters"], build, REPO_ROOT)
        result["references"] = references(man, out / "work" / "references", env, args.timeout)
        ref = result["references"]
        result["ratios"] = ratios(
            result["default"]["cold_compute"],
            cold.seconds,
            ref["one_kernel"]["seconds"],
            ref["papermill_sequential"]["seconds"],
            noop.seconds,
        )
    sizes: list[SizeResult] = []
    for i, n in enumerate(sorted(args.sizes)):
        _say(f"{n:,} clients …")
        res = run_size(n, out, env, args.timeout, render=(i == 0))
        sizes.append(res)
        _say(
            f"{res.clients:,} clients: {res.run.seconds:.1f} s, peak {res.run.peak_tree_mb:.0f} MB"
            f"{' TIMEOUT' if res.run.timed_out else ''}"
        )
        if res.render is not None and res.render.returncode:
            _say(f"rendering at {n:,} clients failed:\n{res.render.stderr_tail}")
        if res.run.returncode:
            _say(f"stopping: the run failed or timed out\n{res.run.stderr_tail}")
            break
    result["sizes"] = [asdict(s) for s in sizes]
    result["growth"] = growth([(s.clients, s.run.seconds, s.run.returncode == 0) for s in sizes])
    result["machine"]["load_after"] = _load()
    self_usage = resource.getrusage(resource.RUSAGE_SELF)
    result["machine"]["bench_process_mb"] = round(self_usage.ru_maxrss / 1024, 1)
    result["targets"] = target_checks(result)
    (out / "bench.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    table = markdown(result)
    (out / "bench.md").write_text(table, encoding="utf-8")
    plot(result, out / "bench.png")
    print(table)
    _say(f"written: {out / 'bench.json'}, {out / 'bench.png'}, {out / 'bench.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
