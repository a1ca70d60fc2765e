"""The benchmark's arithmetic and measuring machinery, on made-up timings (no timed tests)."""

from __future__ import annotations

import math
import sys

import nbformat
import pytest

from evaluation.pipeline import bench_commands, bench_measure, bench_report


def test_loglog_slope_recovers_known_exponents():
    ns = [1e3, 1e4, 1e5, 1e6]
    assert bench_report.loglog_slope(ns, [3e-3 * n for n in ns]) == pytest.approx(1.0)
    assert bench_report.loglog_slope(ns, [2 * n**0.5 for n in ns]) == pytest.approx(0.5)
    # fixed cost 10 s plus 1e-4 s per client: between 1e5 and 1e6, log(110/20)/log(10)
    assert bench_report.loglog_slope([1e5, 1e6], [20.0, 110.0]) == pytest.approx(0.740, abs=1e-3)
    assert bench_report.loglog_slope([1e3], [1.0]) is None


def test_ratios_against_the_references():
    r = bench_report.ratios(
        cold_compute=6.0, cold_total=9.0, one_kernel=4.0, papermill=12.0, noop=0.4
    )
    assert r == {
        "cold_over_one_kernel": 1.5,
        "cold_over_papermill": 0.5,
        "cold_with_render_over_one_kernel": 2.25,
        "cold_with_render_over_papermill": 0.75,
        "noop_seconds": 0.4,
    }


def _size(clients: int, seconds: float, peak_mb: float) -> dict:
    run = {
        "seconds": seconds,
        "cpu_seconds": seconds,
        "peak_tree_mb": peak_mb,
        "max_process_mb": peak_mb / 2,
        "returncode": 0,
        "timed_out": False,
        "stderr_tail": "",
    }
    return {
        "target_clients": clients,
        "clients": clients,
        "scale": clients / 577,
        "render": None,
        "synth_seconds": None,
        "run": run,
        "noop": dict(run, seconds=0.3),
        "noop_was_noop": True,
        "stages": {"validate_prepare": 1.0, "execute": 2.0},
        "notebooks": {},
    }


def test_targets_met_and_missed():
    result = {
        "ratios": bench_report.ratios(8.0, 10.0, 4.0, 20.0, 0.3),  # 2.0 and 0.4
        "sizes": [_size(100_000, 10.0, 1024.0), _size(1_000_000, 100.0, 7168.0)],
        "help_seconds": 0.05,
        "growth": bench_report.growth(
            [(10_000, 55.0, True), (100_000, 100.0, True), (1_000_000, 550.0, True)]
        ),
    }
    t = bench_report.target_checks(result)
    # issue 16's targets: cold <= 1.0x one kernel, no-op <= 0.2 s, 10^5 <= 25 s,
    # 10^6 <= 120 s and <= 4 GB; 7168 MB = 7.0 GB
    assert t["cold_over_one_kernel"] == {"value": 2.0, "limit": 1.0, "met": False}
    assert t["cold_over_papermill"]["met"] is True
    assert t["hundred_thousand_seconds"] == {"value": 10.0, "limit": 25.0, "met": True}
    assert t["million_seconds"] == {"value": 100.0, "limit": 120.0, "met": True}
    assert t["million_peak_gb"] == {"value": 7.0, "limit": 4.0, "met": False}
    assert t["linear_growth"]["met"] is True
    assert t["noop_seconds"] == {"value": 0.3, "limit": 0.2, "met": False}


def test_markdown_table_has_one_row_per_size_with_its_numbers():
    result = {
        "sizes": [_size(1_000, 5.0, 300.0), _size(1_000_000, 100.0, 7168.0)],
        "growth": {"exponent": 0.67, "exponent_last_decade": 1.0},
        "targets": {},
    }
    md = bench_report.markdown(result)
    rows = [line for line in md.splitlines() if line.startswith("| 1,0")]
    assert len(rows) == 2
    assert rows[1].split("|")[5].strip() == "100.0"  # wall seconds of the 10^6 run
    assert rows[1].split("|")[7].strip() == "7,168.0"  # peak memory of the tree


def test_markdown_shows_the_cost_of_the_joint_disclosure_check():
    """The joint check's own seconds: per pipeline size (from the run's manifest) in the last
    column, and alone on synthetic ledgers of 10^5 and 10^6 clients in a table of its own."""
    big = _size(1_000_000, 100.0, 7168.0)
    big["stages"]["disclosure_check"] = 12.5
    checks = [
        {"clients": 100_000, "cells": 2_400, "relations": 900, "withheld": 31,
         "build_seconds": 0.4, "check_seconds": 3.25},
        {"clients": 1_000_000, "cells": 21_000, "relations": 8_000, "withheld": 250,
         "build_seconds": 2.0, "check_seconds": 47.0},
    ]  # fmt: skip
    md = bench_report.markdown(
        {
            "sizes": [_size(1_000, 5.0, 300.0), big],
            "growth": {},
            "targets": {},
            "disclosure_check": checks,
        }  # fmt: skip
    )
    rows = [line for line in md.splitlines() if line.startswith("| 1,0")]
    assert rows[0].split("|")[-2].strip() == "–"  # no timing recorded for that size
    assert rows[1].split("|")[-2].strip() == "12.5"
    alone = md.split("## Joint disclosure check alone", 1)[1].splitlines()
    million = next(line for line in alone if line.startswith("| 1,000,000 |"))
    assert [c.strip() for c in million.split("|")[1:-1]] == [
        "1,000,000", "21,000", "8,000", "250", "2.00", "47.0"
    ]  # fmt: skip


def test_measure_sees_the_memory_of_a_child_process():
    code = "import time; b = bytearray(150 * 2**20); time.sleep(1.0)"
    m = bench_measure.measure([sys.executable, "-c", code], {}, timeout=60, interval=0.05)
    assert m.returncode == 0 and not m.timed_out
    assert m.peak_tree_mb >= 150
    assert m.max_process_mb >= 150


def test_largest_process_is_not_the_size_of_the_bench_itself():
    """This test process holds 400 MB when it starts a child that holds 60 MB: the largest
    process of the child's tree is about 60 MB (the interpreter adds tens), not the 400 MB
    that Linux carries into a forked child's ru_maxrss."""
    held = bytearray(400 * 2**20)
    held[::4096] = b"x" * len(held[::4096])  # touched: resident
    code = (
        "import time; b = bytearray(60 * 2**20); b[::4096] = b'x' * len(b[::4096]); time.sleep(1.0)"
    )
    m = bench_measure.measure([sys.executable, "-c", code], {}, timeout=60, interval=0.05)
    assert m.returncode == 0
    assert 60 <= m.max_process_mb < 200
    del held


def test_measure_stops_a_command_at_the_timeout():
    m = bench_measure.measure(
        [sys.executable, "-c", "import time; time.sleep(60)"], {}, timeout=0.5
    )
    assert m.timed_out
    assert m.returncode == -9


def test_one_kernel_notebook_runs_each_notebook_with_its_parameters(tmp_path):
    runs = [
        {"name": "a", "notebook": "notebooks/published.ipynb", "parameters": {"results_dir": "r1"}},
        {"name": "b", "notebook": "notebooks/published.ipynb", "parameters": {"results_dir": "r2"}},
    ]
    nb = nbformat.read(bench_commands.one_kernel_notebook(runs, tmp_path), as_version=4)
    own = nbformat.read(bench_measure.REPO_ROOT / "notebooks" / "published.ipynb", as_version=4)
    n_code = sum(c.cell_type == "code" for c in own.cells)
    assert len(nb.cells) == 2 * (n_code + 2)  # + a chdir cell and a parameters cell per run
    sources = [c.source for c in nb.cells]
    assert sources.count("results_dir = 'r1'") == 1
    assert sources.index("results_dir = 'r2'") == n_code + 2 + sources.index("results_dir = 'r1'")
    assert str(tmp_path / "b") in sources[n_code + 2]


def test_measure_counts_the_cpu_time_of_a_grandchild():
    busy = "import time; t = time.process_time(); exec('while time.process_time() - t < 1.0: pass')"
    outer = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {busy!r}])"
    m = bench_measure.measure([sys.executable, "-c", outer], {}, timeout=60, interval=0.05)
    assert m.returncode == 0
    assert 0.9 <= m.cpu_seconds < 5


def test_growth_compares_the_marginal_cost_per_client_of_each_decade():
    # 50 s fixed + 0.5 ms per client, then a run stopped at a 600 s timeout
    g = bench_report.growth(
        [(10_000, 55.0, True), (100_000, 100.0, True), (1_000_000, 600.0, False)]
    )
    assert [m["ms_per_client"] for m in g["marginal"]] == pytest.approx([0.5, 500 / 900], abs=1e-4)
    assert [m["lower_bound"] for m in g["marginal"]] == [False, True]
    assert g["marginal_ratio_last"] == pytest.approx(1.11, abs=0.01)
    assert g["exponent"] == pytest.approx(math.log(100 / 55) / math.log(10), abs=1e-3)
    assert not g["complete"]
    checks = bench_report.target_checks({"growth": g})
    assert checks["linear_growth"]["met"] is None  # a lower bound proves nothing either way
    quadratic = bench_report.growth([(10, 1.0, True), (100, 100.0, True), (1000, 10_000.0, True)])
    assert bench_report.target_checks({"growth": quadratic})["linear_growth"]["met"] is False


def test_measure_splits_the_peak_memory_by_stage(tmp_path):
    # by construction: 20 MB held in the first stage, 200 MB in the second
    code = (
        "import time\n"
        "from evaluation.pipeline.bench_measure import mark_stage\n"
        "mark_stage('small'); a = bytearray(20 * 2**20); time.sleep(0.8); del a\n"
        "mark_stage('big'); b = bytearray(200 * 2**20); time.sleep(0.8)\n"
    )
    m = bench_measure.measure(
        [sys.executable, "-c", code], {}, timeout=60, interval=0.05, stage_file=tmp_path / "s"
    )
    assert m.returncode == 0
    assert set(m.stage_peak_mb) == {"small", "big"}
    assert m.stage_peak_mb["big"] >= 200
    assert m.stage_peak_mb["big"] - m.stage_peak_mb["small"] >= 150
    assert m.peak_tree_mb == pytest.approx(max(m.stage_peak_mb.values()), abs=0.1)


def test_the_stage_table_gives_each_stage_peak_per_size():
    size = _size(10_000, 20.0, 900.0)
    size["run"]["stage_peak_mb"] = {"validate_prepare": 310.0, "notebooks": 900.0}
    rows = [r for r in bench_report.stage_memory_table([size]) if r.startswith("| 10,000")]
    # columns: validate + prepare, disclosure check, notebooks, publish results, render
    assert [c.strip() for c in rows[0].split("|")[2:-1]] == ["310.0", "–", "900.0", "–", "–"]
    assert bench_report.stage_memory_table([_size(10_000, 20.0, 900.0)]) == []


def test_a_run_timed_alone_is_not_sampled_and_still_stopped_at_its_timeout():
    """interval=None: wall time only (no memory read), and the timeout still ends the run."""
    import os

    from evaluation.pipeline.bench_measure import measure

    env = dict(os.environ)
    done = measure(["sleep", "0.3"], env, timeout=10, interval=None)
    assert done.returncode == 0 and not done.timed_out
    assert 0.3 <= done.seconds < 2.0
    assert done.peak_tree_mb == 0.0 and done.stage_peak_mb == {}  # nothing was sampled
    stopped = measure(["sleep", "30"], env, timeout=0.5, interval=None)
    assert stopped.timed_out and stopped.seconds < 5.0


def test_each_run_timed_alone_starts_from_an_emptied_build_folder(tmp_path):
    """The command fails if the folder it writes is already there: three runs succeed only if
    the folder is removed before each one (a warm build would be a no-op, not a cold run)."""
    import os

    build = tmp_path / "build"
    build.mkdir()  # left over from the sampled run
    code = "import os, sys, time; os.mkdir(sys.argv[1]); time.sleep(0.2)"
    cmd = [sys.executable, "-c", code, str(build)]
    runs = bench_commands.interleaved({"a": (cmd, build)}, dict(os.environ), 10, 3).get("a", [])
    assert len(runs) == 3 and all(0.2 <= s < 5.0 for s in runs)
    failing = [sys.executable, "-c", "import sys; sys.exit(3)"]
    assert bench_commands.interleaved({"a": (failing, build)}, dict(os.environ), 10, 3) == {}


def test_markdown_names_every_run_whose_median_is_the_wall_time():
    small = _size(10_000, 9.0, 800.0)
    small["run"]["alone_seconds"] = [9.0, 12.5, 8.25]  # median 9.0, the wall column
    md = bench_report.markdown({"sizes": [small], "growth": {}, "targets": {}})
    assert "median of cold runs timed alone (10,000 clients 8.25, 9.00, 12.5 s)" in md
    row = next(line for line in md.splitlines() if line.startswith("| 10,000"))
    assert row.split("|")[5].strip() == "9.00"


def test_sizes_timed_alone_take_turns_and_a_failing_one_is_left_out(tmp_path):
    """Three commands, three turns: the order is a b c, then c b a, then a b c (worked out by
    hand), each run into its emptied folder; c fails on its second run and is not run again."""
    import os

    log = tmp_path / "log"
    code = (
        "import os, sys; os.mkdir(sys.argv[2]); "
        "open(sys.argv[3], 'a').write(sys.argv[1]); "
        "sys.exit(sys.argv[1] == 'c' and open(sys.argv[3]).read().count('c') == 2)"
    )
    runs = {
        name: ([sys.executable, "-c", code, name, str(tmp_path / name), str(log)], tmp_path / name)
        for name in "abc"
    }
    timed = bench_commands.interleaved(runs, dict(os.environ), 10, repeats=3)
    assert log.read_text() == "abccba" + "ab"
    assert set(timed) == {"a", "b"} and all(len(v) == 3 for v in timed.values())


def test_smaller_sizes_can_take_more_turns_than_the_largest(tmp_path):
    """Per-command repeats: a runs 3 times, b once; the turns go a b, then (reversed) a alone,
    then a alone (worked out by hand): b sits out the turns after its one run."""
    import os

    log = tmp_path / "log"
    code = "import os, sys; os.mkdir(sys.argv[2]); open(sys.argv[3], 'a').write(sys.argv[1])"
    runs = {
        name: ([sys.executable, "-c", code, name, str(tmp_path / name), str(log)], tmp_path / name)
        for name in "ab"
    }
    timed = bench_commands.interleaved(runs, dict(os.environ), 10, repeats={"a": 3, "b": 1})
    assert log.read_text() == "abaa"
    assert {k: len(v) for k, v in timed.items()} == {"a": 3, "b": 1}


def test_primitives_growth_and_table_worked_by_hand():
    """Cost per row 2.0 -> 5.0 ns grows 2.5x, 10.0 -> 12.0 ns 1.2x; the table prints both row
    counts and the growth, and nothing when nothing was measured."""
    from evaluation.pipeline import bench_primitives

    measured = [
        {"rows": 600_000, "ns_per_row": {"sort integers": 10.0, "hash identifiers": 2.0}},
        {"rows": 6_000_000, "ns_per_row": {"sort integers": 12.0, "hash identifiers": 5.0}},
    ]
    assert bench_primitives.growth(measured) == {"sort integers": 1.2, "hash identifiers": 2.5}
    md = bench_primitives.markdown(measured)
    assert "| operation | 600,000 rows (ns) | 6,000,000 rows (ns) | growth per row |" in md
    assert "| hash identifiers | 2.0 | 5.0 | 2.50× |" in md
    assert bench_primitives.markdown([]) == []
    full = bench_report.markdown({"sizes": [], "growth": {}, "targets": {}, "primitives": measured})
    assert "| sort integers | 10.0 | 12.0 | 1.20× |" in full


def test_primitives_cost_per_row_is_time_over_rows(monkeypatch):
    """With a clock that advances 0.5 s per reading pair, every operation on 1,000 rows costs
    0.5 s / 1,000 rows = 500,000 ns per row (the best of two equal runs)."""
    from evaluation.pipeline import bench_primitives

    ticks = iter(x * 0.5 for x in range(1000))
    monkeypatch.setattr(bench_primitives.time, "perf_counter", lambda: next(ticks))
    measured = bench_primitives.measure(rows=(1_000,), repeats=2)
    assert measured[0]["rows"] == 1_000
    assert set(measured[0]["ns_per_row"].values()) == {500_000.0}
    assert len(measured[0]["ns_per_row"]) == 5


def test_measure_splits_the_cpu_of_the_tree_into_user_and_system_time():
    # by construction: a loop in the interpreter is user time; reading /dev/zero into fresh
    # 16 MB buffers is the kernel's (it zeroes each one)
    user = (
        "import time; t = time.process_time()\n"
        "while time.process_time() - t < 0.6: sum(i * i for i in range(200_000))"
    )
    kernel = (
        "import time; f = open('/dev/zero', 'rb', 0); t = time.process_time()\n"
        "while time.process_time() - t < 0.6: f.read(1 << 24)"
    )
    busy = bench_measure.measure([sys.executable, "-c", user], {}, timeout=60, interval=0.05)
    zeroing = bench_measure.measure([sys.executable, "-c", kernel], {}, timeout=60, interval=0.05)
    assert busy.user_seconds >= 0.5 and busy.system_seconds < busy.user_seconds / 2
    assert zeroing.system_seconds > zeroing.user_seconds
    assert busy.cpu_seconds >= busy.user_seconds + busy.system_seconds - 0.01


def test_machine_counters_read_idle_time_and_huge_pages(tmp_path):
    import os

    hz = os.sysconf("SC_CLK_TCK")
    stat, vmstat = tmp_path / "stat", tmp_path / "vmstat"
    stat.write_text(f"cpu  100 5 50 {9 * hz} {hz} 0 0 0 0 0\ncpu0 1 2 3 4 5 6 7 8 9 10\n")
    vmstat.write_text("nr_free_pages 12\nthp_fault_alloc 1536\nthp_split_pmd 3\n")
    assert bench_measure.machine_counters(stat, vmstat) == {"idle": 10.0, "huge_pages": 1536}
    vmstat.write_text("nr_free_pages 12\n")  # a kernel without transparent huge pages
    assert bench_measure.machine_counters(stat, vmstat) == {"idle": 10.0}


def test_time_split_gives_each_part_its_marginal_cost_ratio():
    from evaluation.pipeline import bench_split

    def size(n, user, system, idle, huge, rc=0):
        run = {"returncode": rc, "user_seconds": user, "system_seconds": system,
               "idle_core_seconds": idle, "huge_pages": huge}  # fmt: skip
        return {"clients": n, "run": run}

    sizes = [
        size(10_000, 10.0, 1.0, 2.0, 512),
        size(100_000, 15.0, 2.0, 3.0, 1024),
        size(1_000_000, 60.0, 22.0, 21.0, 6144),
        size(2_000_000, 1.0, 1.0, 1.0, 1, rc=1),  # failed: left out
    ]
    s = bench_split.split(sizes)
    assert [r["clients"] for r in s["rows"]] == [10_000, 100_000, 1_000_000]
    # user: 5 s over 90,000 clients, then 45 s over 900,000: 0.05 ms against 0.0556 ms
    assert s["parts"]["user"]["ratio"] == pytest.approx(0.9, abs=0.005)
    # system: 1 s over 90,000, then 20 s over 900,000: twice the cost per client
    assert s["parts"]["system"]["ratio"] == pytest.approx(2.0, abs=0.005)
    # idle: 1 s over 90,000, then 18 s over 900,000
    assert s["parts"]["idle"]["ratio"] == pytest.approx(1.8, abs=0.005)
    # wall: 3 s over 90,000 clients (33.3 µs), then 45 s over 900,000 (50 µs)
    wall = bench_report.growth(
        [(10_000, 7.0, True), (100_000, 10.0, True), (1_000_000, 55.0, True)]
    )
    text = "\n".join(bench_split.markdown(s, wall))
    assert "| 1,000,000 | 60.0 | 22.0 | 21.0 | 12.0 |" in text  # 6,144 huge pages of 2 MiB
    assert "| wall time (the linearity target) | 33.3 | 50.0 | 1.50 |" in text
    assert "| user CPU | 55.6 | 50.0 | 0.90 |" in text
    assert "| system CPU | 11.1 | 22.2 | 2.00 |" in text
    assert bench_split.markdown(bench_split.split([]), {}) == []


def _measured(seconds: float) -> bench_measure.Measured:
    import dataclasses

    fields = {f.name: None for f in dataclasses.fields(bench_measure.Measured)}
    fields.update(seconds=seconds, cpu_seconds=seconds, peak_tree_mb=100.0, returncode=0)
    return bench_measure.Measured(**fields)


def test_the_one_kernel_reference_is_the_median_of_its_runs(tmp_path, monkeypatch):
    """Three one-kernel runs of 30, 20 and 25 s: the reference time is their median, 25 s (by
    hand), not the first run's; the papermill runs are summed as before (one notebook: 7 s)."""
    times = iter([7.0, 30.0, 20.0, 25.0])
    monkeypatch.setattr(bench_commands, "measure", lambda *a, **k: _measured(next(times)))
    monkeypatch.setattr(bench_commands, "say", lambda *a, **k: None)
    manifest = {"notebooks": [{"name": "a", "notebook": "notebooks/summary.ipynb",
                               "parameters": {}}]}  # fmt: skip
    ref = bench_commands.references(manifest, tmp_path / "w", {}, 10, repeats=3)
    assert ref["one_kernel"]["seconds"] == 25.0
    assert ref["one_kernel"]["alone_seconds"] == [30.0, 20.0, 25.0]
    assert ref["papermill_sequential"]["seconds"] == 7.0


def test_markdown_gives_the_median_of_the_default_runs_and_each_run():
    # the first run's CPU and memory, the median of the runs' wall times (with_median)
    run = {"seconds": 12.6, "cpu_seconds": 18.5, "peak_tree_mb": 663.0}
    run["alone_seconds"] = [30.4, 12.6, 12.1]
    result = {
        "sizes": [],
        "growth": {},
        "targets": {},
        "default": {
            "cold": run,
            "cold_compute_runs": [26.1, 8.9, 8.5],
            "cold_compute": 8.9,
            "noop": {"seconds": 0.05, "cpu_seconds": 0.05, "peak_tree_mb": 3.0},
            "noop_was_noop": True,
        },
        "references": {
            "papermill_sequential": {"seconds": 40.0, "cpu_seconds": 39.0, "peak_tree_mb": 300},
            "one_kernel": {
                "seconds": 22.4,
                "cpu_seconds": 22.0,
                "peak_tree_mb": 340.0,
                "alone_seconds": [22.4, 26.7, 21.9],
            },  # fmt: skip
        },
    }
    lines = bench_report.markdown(result).splitlines()
    cold = next(x for x in lines if x.startswith("| `evaluation run`, cold"))
    assert "(median of 3: 30.4, 12.6, 12.1)" in cold and cold.split("|")[2].strip() == "12.6"
    compute = next(x for x in lines if x.startswith("| … of which"))
    assert compute.split("|")[2].strip() == "8.90"
    one = next(x for x in lines if x.startswith("| all notebooks in one kernel"))
    assert "(median of 3: 22.4, 26.7, 21.9)" in one and one.split("|")[2].strip() == "22.4"
