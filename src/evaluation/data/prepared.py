"""Validated, pseudonymised case tables as Parquet under build/data/: what notebooks read."""

from __future__ import annotations

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


def load(data_dir: str | Path) -> dict[str, pd.DataFrame]:
    """Read every prepared table in data_dir into a dict keyed by table name."""
    data_dir = Path(data_dir)
    tables = {p.stem: pd.read_parquet(p) for p in sorted(data_dir.glob("*.parquet"))}
    if not tables:
        raise FileNotFoundError(f"no prepared tables in {data_dir}; run `evaluation run` first")
    return tables
