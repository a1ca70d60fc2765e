"""The commands the bench times: a synthetic dataset per size, `evaluation run` cold and again
with nothing changed, and the reference runs of the same notebooks (papermill, one kernel)."""

from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from evaluation.pipeline.bench_measure import REPO_ROOT, Measured, measure

CLIENTS_AT_SCALE_1 = 577  # clients in a scale-1 synthetic dataset
SEED = 20151001
BENCH_KEY = "bench-key-synthetic-data-only-0123456789"  # used only when no key is set


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


def tool_command(name: str) -> list[str]:
    """The command of a tool installed next to this Python (else run as `python -m name`)."""
    exe = Path(sys.executable).with_name(name)
    if exe.exists():
        return [str(exe)]
    return [sys.executable, "-m", name]


def bench_env() -> dict[str, str]:
    """The environment of every measured command (a synthetic-data key when none is set)."""
    env = dict(os.environ)
    if not env.get("EVALUATION_PSEUDONYM_KEY") and not env.get("EVALUATION_PSEUDONYM_KEY_FILE"):
        env["EVALUATION_PSEUDONYM_KEY"] = BENCH_KEY  # synthetic data only
    return env


def read_manifest(build: Path) -> dict:
    """A build's manifest.json ({} when there is none)."""
    try:
        return json.loads((build / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def say(message: str) -> None:
    """A progress line on stderr, with the time."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def time_help(env: dict[str, str], repeats: int = 5) -> float:
    """Median wall time of `evaluation --help`."""
    runs = [
        measure([*tool_command("evaluation"), "--help"], env, 60).seconds for _ in range(repeats)
    ]
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


def references(
    manifest: dict, work: Path, env: dict[str, str], timeout: float, repeats: int = 1
) -> dict:
    """Sequential papermill CLI runs, and one kernel running all notebooks, on the same inputs
    (the one kernel repeats times, with_median)."""
    runs = manifest["notebooks"]
    shutil.rmtree(work, ignore_errors=True)
    seq: list[Measured] = []
    for run in runs:
        folder = work / "papermill" / run["name"]
        folder.mkdir(parents=True)
        cmd = [
            *tool_command("papermill"),
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
        say(f"  papermill {run['name']}: {seq[-1].seconds:.1f} s")
    nb = one_kernel_notebook(runs, work / "one_kernel")
    cmd = [*tool_command("papermill"), str(nb), str(nb.with_suffix(".out.ipynb")), "-k", "python3"]
    ones = []
    for _ in range(max(1, repeats)):
        ones.append(measure(cmd, env, timeout))
        say(f"  one kernel: {ones[-1].seconds:.1f} s")
    ok = all(m.returncode == 0 for m in ones)
    one = with_median(ones)
    return {
        "papermill_sequential": {
            "seconds": round(sum(m.seconds for m in seq), 3),
            "cpu_seconds": round(sum(m.cpu_seconds for m in seq), 2),
            "peak_tree_mb": max(m.peak_tree_mb for m in seq),
            "ok": all(m.returncode == 0 for m in seq),
            "per_notebook": {r["name"]: asdict(m) for r, m in zip(runs, seq, strict=True)},
        },
        "one_kernel": {**asdict(one), "ok": ok},
    }


def interleaved(
    runs: dict[str, tuple[list[str], Path]],
    env: dict[str, str],
    timeout: float,
    repeats: int | Mapping[str, int],
) -> dict[str, list[float]]:
    """Wall seconds of `repeats` cold runs of each command (one number for all, or one per
    command), nothing sampling them, each into its emptied build folder. The commands take
    turns, in one order and then in the reverse one: between 10^4 and 10^5 clients the run time
    grows by 2-3 s, about what the machine drifts over a minute, so timing each size in one
    block would measure the drift as marginal cost. A command whose runs are done sits out the
    later turns. A command that fails once is left out of the answer (and not run again)."""
    wanted = {name: repeats if isinstance(repeats, int) else repeats[name] for name in runs}
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    failed: set[str] = set()
    names = list(runs)
    for turn in range(max(wanted.values(), default=0)):
        for name in names if turn % 2 == 0 else names[::-1]:
            if name in failed or turn >= wanted[name]:
                continue
            cmd, build = runs[name]
            shutil.rmtree(build, ignore_errors=True)
            m = measure(cmd, env, timeout, interval=None)
            if m.returncode:
                failed.add(name)
                continue
            seconds[name].append(m.seconds)
    return {name: s for name, s in seconds.items() if name not in failed}


def size_command(n: int, out: Path, render: bool = False) -> tuple[list[str], Path]:
    """`evaluation run` on the synthetic data of size n (cold runs stop before rendering), and
    its build folder."""
    data = out / "data" / f"n{n}"
    build = out / "work" / f"n{n}"
    cmd = [*tool_command("evaluation"), "run", "--data", str(data), "--build", str(build)]
    return [*cmd, "--quiet", *(() if render else ("--no-render",))], build


def with_median(runs: list[Measured]) -> Measured:
    """The first of repeated runs of one command (its CPU and memory), its wall time the median
    of all the runs' (each kept in alone_seconds)."""
    first = runs[0]
    if len(runs) > 1:
        first.alone_seconds = [m.seconds for m in runs]
        first.seconds = statistics.median(first.alone_seconds)
    return first


def use_alone(result: SizeResult, alone: list[float]) -> None:
    """The size's wall time becomes the median of its runs timed alone (the sampled run's time
    is kept beside it)."""
    if alone:
        first = result.run
        first.sampled_seconds, first.seconds = first.seconds, statistics.median(alone)
        first.alone_seconds = alone


def run_size(n: int, out: Path, env: dict[str, str], timeout: float, render: bool) -> SizeResult:
    """Generate (or reuse) n synthetic clients as Parquet; run the pipeline cold, sampled, then
    again with nothing changed.

    The cold run stops before rendering so that every size measures the same stages; its wall
    time is replaced later by the median of cold runs timed alone (interleaved, use_alone). With
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
                *tool_command("evaluation"),
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
    from evaluation.data.synthetic import is_synthetic, mark

    if not is_synthetic(data):  # generated before synth wrote its marker
        mark(data)
    import pyarrow.parquet as pq

    clients = pq.read_metadata(data / "clients.parquet").num_rows
    cold, build = size_command(n, out)
    shutil.rmtree(build, ignore_errors=True)
    first = measure(cold, env, timeout, stage_file=out / "work" / f"n{n}.stage")
    man = read_manifest(build) if first.returncode == 0 else {}
    noop = measure(cold, env, timeout) if first.returncode == 0 else None
    rendered = (
        measure(size_command(n, out, render=True)[0], env, timeout)
        if render and first.returncode == 0
        else None
    )
    return SizeResult(
        target_clients=n,
        clients=clients,
        scale=round(scale, 4),
        synth_seconds=synth_seconds,
        run=first,
        noop=noop,
        noop_was_noop=same_run(man, read_manifest(build)) if noop else None,
        render=rendered,
        stages=man.get("timings_seconds", {}),
        notebooks={r["name"]: r.get("seconds", 0.0) for r in man.get("notebooks", [])},
    )


def same_run(before: dict, after: dict) -> bool:
    """Whether a rerun reused the previous run (a changed library or input gives a new key)."""
    return bool(before.get("run_key")) and before.get("run_key") == after.get("run_key")
