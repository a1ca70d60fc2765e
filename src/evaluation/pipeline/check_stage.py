"""The pipeline's disclosure stage: one joint check of every publishable cell per build, cached
by what it rests on, made in a child process beside the notebooks."""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path

from evaluation import hashing
from evaluation.config import Config
from evaluation.pipeline.jobs import Progress


def disclosure_folder(
    cfg: Config, prepared: dict, build: Path, inputs: dict, environment: str, config_hash: str
) -> Path:
    """build/internal/disclosure/<key>/: keyed by what the decision rests on, so known before
    the check runs."""
    from evaluation.analysis.plan import plan_path
    from evaluation.publish import publication

    key = hashing.combine(
        Path(_data_dir(prepared)).name,
        inputs[str(cfg.published)],
        environment,
        config_hash,
        hashing.file_sha256(plan_path(cfg.path)),
    )[:16]
    return build / publication.INTERNAL / "disclosure" / key


def _data_dir(prepared: dict) -> Path:
    return Path(prepared.get("__all__") or next(iter(prepared.values())))


def _decide(cfg: Config, data_dir: Path, out: Path) -> None:
    """Decide into out/, in a child process: at national scale the check takes gigabytes that
    this long-lived process would keep (malloc rarely returns them) while the kernels run."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    tmp = out.with_name(f"{out.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    with ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("forkserver")) as pool:
        pool.submit(decide_into, cfg, data_dir, tmp).result()
    shutil.rmtree(out, ignore_errors=True)
    os.replace(tmp, out)
    (out / ".complete").write_text(out.name + "\n")


class Deciding:
    """The joint check of a run, decided already or running beside the notebooks."""

    def __init__(self, folder: Path, seconds: float = 0.0) -> None:
        self.folder = folder
        self.thread: threading.Thread | None = None
        self.error: BaseException | None = None
        self.seconds = seconds  # the check's own time, once it has ended

    def wait(self) -> Path:
        """The decision folder, once the check has ended; its error if it failed."""
        if self.thread is not None:
            self.thread.join()
        if self.error is not None:
            raise self.error
        return self.folder


def start_check(
    cfg: Config,
    prepared: dict,
    build: Path,
    inputs: dict,
    environment: str,
    config_hash: str,
    progress: Progress,
) -> Deciding:
    """Fill the ledger and run the joint disclosure check once for the whole build (cached in
    build/internal/disclosure/<key>/: the internal ledger and decision, and the public parts,
    results/checked_cells.csv and report/report.{md,json}, that the run copies).

    The check runs in a child process while the notebooks start (this process's thread only
    waits for it: the run keeps its interpreter to schedule the notebooks). The notebooks load
    their tables and compute first; a kernel that looks the decision up before it is written
    waits for it (publish.view.wait_for_decision), and fails if the check fails. Beside the
    kernels the check takes less memory than validation did before them (at 10^6 clients the
    run's peak stays validation's), so it is never run alone first."""
    t0 = time.perf_counter()
    out = disclosure_folder(cfg, prepared, build, inputs, environment, config_hash)
    data_dir = _data_dir(prepared)
    if (out / ".complete").exists():
        return Deciding(out, round(time.perf_counter() - t0, 3))
    progress.say("disclosure: one joint check over every published cell")
    from evaluation.publish.view import failed_marker, pending_marker

    out.parent.mkdir(parents=True, exist_ok=True)
    failed_marker(out).unlink(missing_ok=True)
    pending = pending_marker(out)
    tmp = pending.with_name(f"{pending.name}.tmp-{os.getpid()}")
    tmp.write_text(str(os.getpid()), encoding="utf-8")
    os.replace(tmp, pending)
    deciding = Deciding(out)

    def check() -> None:
        try:
            _decide(cfg, data_dir, out)
        except BaseException as exc:  # noqa: BLE001 - raised by wait() in the run
            deciding.error = exc
            failed_marker(out).write_text(f"{type(exc).__name__}: {exc}", encoding="utf-8")
        finally:
            # after the decision or the failure: a kernel reading the marker first sees either
            pending.unlink(missing_ok=True)
            deciding.seconds = round(time.perf_counter() - t0, 3)

    deciding.thread = threading.Thread(target=check, name="disclosure-check", daemon=True)
    deciding.thread.start()
    return deciding


def decide_into(cfg: Config, data_dir: Path, tmp: Path) -> None:
    """Build the ledger from the prepared tables, decide jointly, write both into tmp/."""
    import pandas as pd

    from evaluation.analysis.plan import load_plan, plan_path
    from evaluation.publish import ledger_tables, publication

    tables = ledger_tables.load(data_dir)  # the columns the ledger counts, ids as codes
    figures = pd.read_csv(cfg.published)
    plan = load_plan(plan_path(cfg.path))
    ledger, decision = publication.decide(
        tables,
        [(p.id, p.kind) for p in cfg.projects],
        figures,
        {p.id: p.cutoff or cfg.cutoff for p in cfg.projects},
        cfg.disclosure_min_count,
        plan.durability.follow_up_options,
        plan.return_,
        {p.id: p.end for p in cfg.projects},
        plan.durability.landmark_months,
        plan=plan,
    )
    publication.write(ledger, decision, tmp, tmp / "results", tmp / "report")
