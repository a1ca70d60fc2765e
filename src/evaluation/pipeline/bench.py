"""`make bench`: wall time per stage and peak memory from 10^3 to 10^6 clients, plus references.

On the default data the cold `evaluation run` is compared with the same notebooks run one after
another by the papermill CLI (the common practice) and with the same notebooks run in one kernel
(close to the floor). Results go to build/bench/bench.{json,png,md}; targets are reported, never
asserted. Every measured command runs in its own process group, is sampled for the memory of its
whole process tree and is stopped after --timeout seconds (bench_measure); the commands are in
bench_commands, the tables and plot in bench_report.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from evaluation.pipeline import bench_primitives as primitives
from evaluation.pipeline import bench_split
from evaluation.pipeline.bench_commands import (
    SEED,
    SizeResult,
    bench_env,
    interleaved,
    read_manifest,
    references,
    run_size,
    same_run,
    say,
    size_command,
    time_help,
    tool_command,
    use_alone,
    with_median,
)
from evaluation.pipeline.bench_measure import REPO_ROOT, measure
from evaluation.pipeline.bench_report import growth, markdown, plot, ratios, target_checks

SIZES = (1_000, 10_000, 100_000, 1_000_000)


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
        say(
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
        "--repeats",
        type=int,
        default=5,
        help="cold runs timed alone of the largest size, the sizes taking turns; the wall time "
        "is their median (default 5)",
    )
    ap.add_argument(
        "--repeats-small",
        type=int,
        default=11,
        help="cold runs timed alone of each smaller size (default 11): the first decade's "
        "marginal cost is a difference of two short runs' times, each of which varies by as "
        "much, so their medians need more runs",
    )
    ap.add_argument(
        "--repeats-default",
        type=int,
        default=3,
        help="cold runs of the default data, and runs of the one-kernel reference (default 3): "
        "the ratio of two single runs of 10-25 s moves with any pause of the machine",
    )
    ap.add_argument(
        "--disclosure-only", action="store_true", help="only time the joint disclosure check"
    )
    args = ap.parse_args(argv)
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    env = bench_env()
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
    result["primitives"] = primitives.measure()
    say(
        "the machine alone, cost per row from "
        f"{primitives.ROWS[0]:,} to {primitives.ROWS[-1]:,} rows: "
        + ", ".join(f"{k} {v:.1f}×" for k, v in primitives.growth(result["primitives"]).items())
    )
    result["help_seconds"] = time_help(env)
    say(f"evaluation --help: {result['help_seconds']} s")
    if not args.no_references:
        build = out / "work" / "default"
        shutil.rmtree(build, ignore_errors=True)
        cmd = [*tool_command("evaluation"), "run", "--build", str(build), "--quiet"]
        colds, computes = [], []
        for i in range(max(1, args.repeats_default)):
            shutil.rmtree(build, ignore_errors=True)
            stages = out / "work" / "default.stage" if i == 0 else None  # memory by stage: once
            run_ = measure(cmd, env, args.timeout, stage_file=stages)
            say(f"default data, cold run {i + 1}: {run_.seconds:.1f} s (exit {run_.returncode})")
            if run_.returncode:
                raise SystemExit(f"the cold run failed:\n{run_.stderr_tail}")
            man = read_manifest(build)
            colds.append(run_)
            computes.append(run_.seconds - man.get("timings_seconds", {}).get("render", 0.0))
        cold = with_median(colds)  # the first run's memory by stage, the runs' median time
        noop = measure(cmd, env, args.timeout)
        say(f"default data, nothing changed: {noop.seconds:.2f} s")
        result["default"] = {
            "cold": asdict(cold),
            "cold_compute_runs": [round(c, 3) for c in computes],
            "noop": asdict(noop),
            "noop_was_noop": same_run(man, read_manifest(build)),
            "cold_compute": round(statistics.median(computes), 3),
            "stages": man.get("timings_seconds", {}),
            "notebooks": {r["name"]: r.get("seconds") for r in man["notebooks"]},
        }
        from evaluation.pipeline.run import absolute_parameters

        for nb in man["notebooks"]:  # the manifest's paths are relative; the cwd is REPO_ROOT
            nb["parameters"] = absolute_parameters(nb["parameters"], build, REPO_ROOT)
        result["references"] = references(
            man, out / "work" / "references", env, args.timeout, args.repeats_default
        )
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
        say(f"{n:,} clients …")
        res = run_size(n, out, env, args.timeout, render=(i == 0))
        sizes.append(res)
        say(
            f"{res.clients:,} clients: {res.run.seconds:.1f} s, peak {res.run.peak_tree_mb:.0f} MB"
            f"{' TIMEOUT' if res.run.timed_out else ''}"
        )
        if res.render is not None and res.render.returncode:
            say(f"rendering at {n:,} clients failed:\n{res.render.stderr_tail}")
        if res.run.returncode:
            say(f"stopping: the run failed or timed out\n{res.run.stderr_tail}")
            break
    ran = [s for s in sizes if s.run.returncode == 0]
    if ran and args.repeats:
        largest = max(s.target_clients for s in ran)
        small = max(args.repeats, args.repeats_small)
        counts = {
            str(s.target_clients): args.repeats if s.target_clients == largest else small
            for s in ran
        }
        say(
            f"timing every size alone, taking turns: {args.repeats} cold runs of {largest:,} "
            f"clients, {small} of each smaller size …"
        )
        alone = interleaved(
            {str(s.target_clients): size_command(s.target_clients, out) for s in ran},
            env,
            args.timeout,
            counts,
        )
        for s in ran:
            use_alone(s, alone.get(str(s.target_clients), []))
            runs = ", ".join(f"{x:.2f}" for x in s.run.alone_seconds)
            say(f"{s.clients:,} clients alone: {runs} s")
    result["sizes"] = [asdict(s) for s in sizes]
    result["growth"] = growth([(s.clients, s.run.seconds, s.run.returncode == 0) for s in sizes])
    result["machine"]["load_after"] = _load()
    self_usage = resource.getrusage(resource.RUSAGE_SELF)
    result["machine"]["bench_process_mb"] = round(self_usage.ru_maxrss / 1024, 1)
    result["time_split"] = bench_split.split(result["sizes"])
    result["targets"] = target_checks(result)
    (out / "bench.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    table = markdown(result)
    (out / "bench.md").write_text(table, encoding="utf-8")
    plot(result, out / "bench.png")
    print(table)
    say(f"written: {out / 'bench.json'}, {out / 'bench.png'}, {out / 'bench.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
