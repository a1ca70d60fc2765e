"""Writing the generated tables as CSV, XLSX or Parquet."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from evaluation.data.synthetic.scenarios import TABLES

# A folder written by `evaluation synth` holds this file, so that a run given the folder with
# --data labels its report as synthetic (the reader skips dot files).
MARKER = ".synthetic"


def is_synthetic(folder: Path) -> bool:
    """Whether `folder` was written by `evaluation synth` (it holds the marker file)."""
    return (Path(folder) / MARKER).is_file()


def mark(folder: Path) -> None:
    """Leave the marker that labels `folder` as synthetic."""
    (Path(folder) / MARKER).write_text(
        "SYNTHETIC data written by `evaluation synth`: no real person is in these tables.\n",
        encoding="utf-8",
    )


# ------------------------------------------------------------------------------ writing


def _write_csv(df: pd.DataFrame, path: Path) -> None:
    """CSV via pyarrow (fast): header unquoted, fields quoted only when needed, LF, ISO dates."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    table = pa.Table.from_pandas(df, preserve_index=False)
    for i, f in enumerate(table.schema):
        if pa.types.is_timestamp(f.type):
            table = table.set_column(i, f.name, table.column(i).cast(pa.date32()))
    with open(path, "wb") as out:
        out.write((",".join(df.columns) + "\n").encode("utf-8"))
        try:
            pcsv.write_csv(
                table, out, pcsv.WriteOptions(include_header=False, quoting_style="none")
            )
        except pa.ArrowInvalid:  # a value holds a delimiter or quote: quote the strings
            out.seek(0)
            out.truncate()
            out.write((",".join(df.columns) + "\n").encode("utf-8"))
            pcsv.write_csv(table, out, pcsv.WriteOptions(include_header=False))


def write(tables: dict[str, pd.DataFrame], out_dir: Path, fmt: str = "csv") -> list[Path]:
    """Write each table as <name>.<fmt> (csv: UTF-8, ',', ISO dates, LF; byte-stable)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in TABLES:
        df = tables[name]
        path = out_dir / f"{name}.{fmt}"
        if fmt == "csv":
            _write_csv(df, path)
        elif fmt == "parquet":
            df.to_parquet(path, index=False)
        elif fmt == "xlsx":
            df.to_excel(path, index=False, sheet_name=name)
        else:
            raise ValueError(f"unknown format '{fmt}' (csv, parquet or xlsx)")
        paths.append(path)
    mark(out_dir)
    return paths
