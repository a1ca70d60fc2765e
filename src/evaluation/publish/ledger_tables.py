"""The prepared tables as the ledger reads them: only the columns it counts with, identifiers as
integer codes (data.id_codes), sessions as the enrolments that had one.

The ledger (publish.ledger_build) only counts people and links tables through identifiers, so
it needs neither the free-text and bookkeeping columns nor the identifiers' text. Reading what
it uses, and replacing identifiers by codes as the tables are read, keeps a large build's
ledger within a fraction of the memory of every table in full.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from evaluation.analysis import conversion, durability, efficiency


def _union(*parts: Mapping[str, Sequence[str]]) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for part in parts:
        for table, cols in part.items():
            out[table] = tuple(dict.fromkeys([*out.get(table, ()), *cols]))
    return out


# per table, the columns any cell of the ledger is counted from: those the analyses read
COLUMNS = _union(conversion.COLUMNS, durability.COLUMNS, efficiency.COLUMNS)
# counselling sessions count only through the enrolments that had one (conversion.client_frame)
SESSIONS = "sessions"


def load(data_dir: str | Path, workers: int = 2) -> dict[str, pd.DataFrame]:
    """The tables of data_dir the ledger reads, with the columns it reads (those present), the
    sessions table as its distinct enrolment ids, and linking identifiers as codes. workers:
    threads reading the files and the pseudonyms (Arrow and numpy work without the
    interpreter lock: 3.6-4.9 s with one at 10^6 clients, 2.3-2.6 s with two)."""
    from functools import partial

    from evaluation.data import id_codes
    from evaluation.data.threads import each

    data_dir = Path(data_dir)
    paths = [p for p in sorted(data_dir.glob("*.parquet")) if p.stem in (*COLUMNS, SESSIONS)]
    if not paths:
        raise FileNotFoundError(f"no prepared tables in {data_dir}; run `evaluation run` first")
    by_size = sorted(paths, key=lambda p: -p.stat().st_size)  # the largest first
    read = dict(zip(by_size, each(partial(_read, workers=workers), by_size, workers), strict=True))
    return id_codes.code_ids({p.stem: read[p] for p in paths}, workers)


def _read(path: Path, workers: int = 1) -> pd.DataFrame:
    """One table as the ledger reads it (workers: threads spelling the sessions' pseudonyms)."""
    import pyarrow.parquet as pq

    if path.stem == SESSIONS:
        table = pq.read_table(path, columns=["enrolment_id"])
        ids = _distinct(table["enrolment_id"].combine_chunks(), workers)
        return pd.DataFrame({"enrolment_id": pd.Series(ids.to_pandas())})
    have = set(pq.read_schema(path).names)
    return pd.read_parquet(path, columns=[c for c in COLUMNS[path.stem] if c in have])


def _distinct(ids, workers: int = 1):
    """pyarrow.compute.unique(ids): each value once, in order of first appearance (a missing
    one included). Pseudonyms are compared by the numbers their digits spell, many times
    faster than hashing their text."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from evaluation.data.id_codes import pseudonym_rows

    text = ids.cast(pa.large_string())
    half = len(text) // 2  # the largest table, read first: the other reads end long before
    numbered = pseudonym_rows([text.slice(0, half), text.slice(half)], workers)
    if numbered is None:
        return pc.unique(ids)
    numbers, valid = numbered
    seen = pd.Series(pd.arrays.IntegerArray(numbers, ~valid)).duplicated(keep="first")
    return ids.filter(pa.array(~seen.to_numpy(dtype=bool, na_value=True)))
