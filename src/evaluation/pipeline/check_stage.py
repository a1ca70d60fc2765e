"""The pipeline's disclosure stage: one joint check of every publishable cell per build, cached
by what it rests on, in a child process when the data are large."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from evaluation import hashing
from evaluation.config import Config
from evaluation.pipeline.jobs import Progress


def check_disclosure(
    cfg: Config,
    prepared: dict,
    build: Path,
    inputs: dict,
    environment: str,
    config_hash: str,
    progress: Progress,
) -> Path:
    """Fill the ledger and run the joint disclosure check once for the whole build (cached).

    Returns build/internal/disclosure/<key>/ holding the internal ledger and decision, and the
    public parts (results/checked_cells.csv, report/report.{md,json}) copied into the run.
    """

    from evaluation.publish import publication

    data_dir = prepared.get("__all__") or next(iter(prepared.values()))
    from evaluation.analysis.plan import plan_path

    key = hashing.combine(
        Path(data_dir).name,
        inputs[str(cfg.published)],
        environment,
        config_hash,
        hashing.file_sha256(plan_path(cfg.path)),
    )[:16]
    out = build / publication.INTERNAL / "disclosure" / key
    if (out / ".complete").exists():
        return out
    progress.say("disclosure: one joint check over every published cell")
    tmp = out.with_name(f"{key}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    size = sum(f.stat().st_size for f in Path(data_dir).glob("*.parquet"))
    if size < CHILD_BYTES:
        decide_into(cfg, Path(data_dir), tmp)
    else:
        # in a child process: at national scale the check takes gigabytes that this long-lived
        # process would keep (malloc rarely returns them) while the notebook kernels run
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("forkserver")) as pool:
            pool.submit(decide_into, cfg, Path(data_dir), tmp).result()
    shutil.rmtree(out, ignore_errors=True)
    os.replace(tmp, out)
    (out / ".complete").write_text(key + "\n")
    return out


CHILD_BYTES = 64 * 2**20  # prepared tables above this size are checked in a child process


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
