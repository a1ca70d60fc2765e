"""The ledger's per-project cells on two cores: on large data the last project's cells are
built in a forked child while this process builds the others'.

The joint check runs beside the notebook kernels, which wait for its decision once they have
loaded their tables and computed; on national-scale data the check is what they wait for, and
its per-project cells are most of its work. A forked child shares the tables already read (no
copy) and returns its own ledger, which Ledger.merge records after this process's, so the
ledger is the one a single process would have built.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

import pandas as pd

from evaluation.publish.ledger import Ledger

T = TypeVar("T")

# rows of every table together from which splitting pays. Measured, the check alone: 10^5
# clients (1.0 M rows) 1.3-1.5 s, split 1.1-1.3 s; 10^6 clients (10 M rows) 11.0-12.8 s, split
# 8.8-10.1 s; at 10^4 clients (0.1 M rows) nothing measurable to save for the fork
SPLIT_ROWS = 500_000

_job: Callable[[Ledger], object] | None = None  # the child's job, inherited when it is forked


def worth_splitting(tables: Mapping[str, pd.DataFrame]) -> bool:
    """Whether the tables are large enough, and this machine has a second core to use."""
    return (os.cpu_count() or 1) > 1 and sum(len(df) for df in tables.values()) >= SPLIT_ROWS


def each_project(ledger: Ledger, jobs: Sequence[Callable[[Ledger], T]], split: bool) -> list[T]:
    """Run each job on ledger, in order, and return their results; with split (and two jobs
    or more) the last one runs in a forked child on an empty ledger, merged after the others.
    The ledger must be empty: the child starts from the ledger as it is when forked."""
    if not split or len(jobs) < 2:
        return [job(ledger) for job in jobs]
    if ledger.cells or ledger.relations or ledger.derived:
        raise ValueError("each_project splits only an empty ledger")
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    global _job
    _job = jobs[-1]
    try:
        # the child is forked as the job is submitted: it shares the tables, and _job
        with ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("fork")) as pool:
            child = pool.submit(_run_job)
            _job = None
            results = [job(ledger) for job in jobs[:-1]]
            theirs, result = child.result()
    finally:
        _job = None
    ledger.merge(theirs)
    return [*results, result]  # type: ignore[list-item]


def _run_job() -> tuple[Ledger, object]:
    assert _job is not None  # set before the fork
    ledger = Ledger()
    return ledger, _job(ledger)
