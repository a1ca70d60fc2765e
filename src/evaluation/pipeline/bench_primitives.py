"""The machine's own cost per row of the operations the pipeline is built from (sorting,
factorising, gathering, hashing and looking up identifiers), at the row counts of the largest
table (sessions) at 10^5 and at 10^6 clients.

No code of the pipeline runs here: these numbers say how much more each row costs the hardware
once the arrays no longer fit in its caches, which the pipeline's cost per client inherits.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

# rows of the sessions table of the bench's synthetic data at 10^5 and 10^6 clients
ROWS = (600_000, 6_000_000)
SEED = 20151001


def _best(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def measure(rows: tuple[int, ...] = ROWS, repeats: int = 3) -> list[dict[str, Any]]:
    """Per row count: nanoseconds per row of each operation (the best of `repeats`), on
    integers and on 16-character identifiers with about ten rows per distinct value, as in the
    sessions table."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    rng = np.random.default_rng(SEED)
    out = []
    for n in rows:
        ints = rng.integers(0, max(1, n // 2), n)
        order = rng.permutation(n)
        distinct = pa.array([f"{x:016x}" for x in rng.integers(0, 2**62, max(1, n // 10))])
        ids = distinct.take(pa.array(rng.integers(0, len(distinct), n)))
        ops: dict[str, Callable[[], object]] = {
            "sort integers": lambda ints=ints: np.argsort(ints, kind="stable"),
            "factorise integers": lambda ints=ints: pd.factorize(ints),
            "gather at random rows": lambda ints=ints, order=order: ints[order],
            "hash identifiers": lambda ids=ids: pc.dictionary_encode(ids),
            "look identifiers up": lambda ids=ids, d=distinct: pc.index_in(ids, value_set=d),
        }
        out.append(
            {
                "rows": n,
                "ns_per_row": {k: round(1e9 * _best(f, repeats) / n, 2) for k, f in ops.items()},
            }
        )
    return out


def growth(measured: list[dict[str, Any]]) -> dict[str, float]:
    """Per operation: its cost per row at the largest row count over that at the smallest."""
    first, last = measured[0]["ns_per_row"], measured[-1]["ns_per_row"]
    return {k: round(last[k] / first[k], 2) for k in first if first[k] > 0}


def markdown(measured: list[dict[str, Any]]) -> list[str]:
    """The section of bench.md: cost per row at each row count, and how much it grew."""
    if not measured:
        return []
    ratio = growth(measured)
    sizes = [f"{m['rows']:,} rows (ns)" for m in measured]
    lines = [
        "## The machine alone: cost per row of the primitives",
        "",
        "The same operations on arrays of the largest table's length at 10^5 and at 10^6 "
        "clients (sessions), no pipeline code: how much more a row costs once the arrays leave "
        "the processor's caches. The pipeline's cost per client inherits this.",
        "",
        f"| operation | {' | '.join(sizes)} | growth per row |",
        f"|---|{'---:|' * len(sizes)}---:|",
    ]
    for op in measured[0]["ns_per_row"]:
        cells = " | ".join(f"{m['ns_per_row'][op]:.1f}" for m in measured)
        lines.append(f"| {op} | {cells} | {ratio.get(op, float('nan')):.2f}× |")
    return [*lines, ""]
