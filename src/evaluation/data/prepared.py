"""Validated, pseudonymised case tables as Parquet under build/data/: what notebooks read."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import pandas as pd


def write(tables: dict[str, pd.DataFrame], out_dir: Path) -> list[Path]:
    """Write each (already pseudonymised) table as <name>.parquet."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, df in sorted(tables.items()):
        path = out_dir / f"{name}.parquet"
        df.reset_index(drop=True).to_parquet(path, index=False)
        paths.append(path)
    return paths


def load(
    data_dir: str | Path,
    names: Iterable[str] | None = None,
    columns: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, pd.DataFrame]:
    """Read the prepared tables in data_dir into a dict keyed by table name: every table, or
    only those in names (a name without a file is left out: optional tables stay optional);
    columns: for some tables, only these columns (a notebook reads what it needs)."""
    data_dir = Path(data_dir)
    files = sorted(data_dir.glob("*.parquet"))
    if names is not None:
        wanted = set(names)
        files = [p for p in files if p.stem in wanted]
    columns = columns or {}
    tables = {
        p.stem: pd.read_parquet(p, columns=list(columns[p.stem]) if p.stem in columns else None)
        for p in files
    }
    if not tables:
        raise FileNotFoundError(f"no prepared tables in {data_dir}; run `evaluation run` first")
    return tables
