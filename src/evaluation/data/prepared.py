"""Validated, pseudonymised case tables as Parquet under build/data/: what notebooks read."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import pandas as pd


def write(tables: dict[str, pd.DataFrame], out_dir: Path) -> list[Path]:
    """Write each (already pseudonymised) table as <name>.parquet."""
    from evaluation.data.threads import each

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / f"{name}.parquet" for name in sorted(tables)]

    def one(path: Path) -> None:
        tables[path.stem].reset_index(drop=True).to_parquet(path, index=False)

    # Arrow encodes and compresses without the interpreter lock: two files at once on two cores
    # (each file's bytes are the same as when written alone)
    each(one, sorted(paths, key=lambda p: -len(tables[p.stem])))
    return paths


CONTENT = ".content"  # the sha256 of the prepared tables, written once beside them


def content_digest(data_dir: str | Path) -> str:
    """The sha256 of the prepared tables themselves (names and bytes), not of the folder's name:
    the same tables prepared under other periods or cut-offs (another project added) keep it.
    Recorded in the folder on first use; a folder without tables is known by its name."""
    from evaluation import hashing

    data_dir = Path(data_dir)
    record = data_dir / CONTENT
    if record.is_file():
        return record.read_text(encoding="utf-8").strip()
    if not any(data_dir.glob("*.parquet")):
        return data_dir.name
    digest = hashing.tree_sha256(data_dir, "*.parquet")
    tmp = record.with_name(f"{CONTENT}.tmp")
    tmp.write_text(digest + "\n", encoding="utf-8")
    tmp.replace(record)
    return digest


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
