"""The report's data and methods: the validation summary and the reconciliation of the
published figures, in tables and sentences."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

_ROW = re.compile(r"^\|\s*(\w+)\s*\|\s*(\d+)\s*\|\s*(\d+)\s*\|\s*(\d+)\s*\|\s*$")


def prepared_rows(data_dir: str | Path) -> dict[str, int]:
    """Rows per prepared table in data_dir, from the Parquet files' footers (nothing loaded)."""
    import pyarrow.parquet as pq

    return {p.stem: pq.read_metadata(p).num_rows for p in sorted(Path(data_dir).glob("*.parquet"))}


def validation_summary(
    data_dir: str | Path, tables: Mapping[str, pd.DataFrame] | None = None
) -> pd.DataFrame:
    """Per table: rows read, errors and warnings from <data_dir>/validation.md (written by
    prepare); rows recounted from the prepared tables (when not given: from their files)
    where the report lacks a table."""
    counts = prepared_rows(data_dir) if tables is None else {k: len(v) for k, v in tables.items()}
    found: dict[str, tuple[int, int, int]] = {}
    report = Path(data_dir) / "validation.md"
    if report.is_file():
        for line in report.read_text(encoding="utf-8").splitlines():
            m = _ROW.match(line)
            if m:
                found[m.group(1)] = (int(m.group(2)), int(m.group(3)), int(m.group(4)))
    rows = []
    for name in sorted(set(found) | set(counts), key=lambda t: (t not in counts, t)):
        if name in found:
            n, err, warn = found[name]
            rows.append({"Table": name, "Rows": n, "Errors": err, "Warnings": warn})
        else:
            rows.append({"Table": name, "Rows": counts[name], "Errors": pd.NA, "Warnings": pd.NA})
    out = pd.DataFrame(rows)
    total = {
        "Table": "Total",
        "Rows": int(out["Rows"].sum()),
        "Errors": pd.to_numeric(out["Errors"]).sum(min_count=1),
        "Warnings": pd.to_numeric(out["Warnings"]).sum(min_count=1),
    }
    return pd.concat([out, pd.DataFrame([total])], ignore_index=True)


def validation_sentence(summary: pd.DataFrame) -> str:
    """One sentence on the validation outcome (summary as from validation_summary)."""
    body, total = summary.iloc[:-1], summary.iloc[-1]
    errors = int(pd.to_numeric(pd.Series([total["Errors"]]), errors="coerce").fillna(0).iloc[0])
    warnings = int(pd.to_numeric(pd.Series([total["Warnings"]]), errors="coerce").fillna(0).iloc[0])
    return (
        f"All {len(body)} tables ({int(total['Rows'])} rows) were checked against "
        f"the data contract before analysis: {errors} errors and {warnings} warnings."
    )


def reconciliation(tables: Mapping[str, pd.DataFrame], figures: pd.DataFrame) -> pd.DataFrame:
    """Published figure beside the same count recomputed from the case records, flagged."""
    from evaluation.analysis.reconcile import reconciliation_table

    t = reconciliation_table(dict(tables), figures)
    return pd.DataFrame(
        {
            "Figure": t["indicator"],
            "Published": t["published"],
            "Recomputed": t["recomputed"],
            "Difference": t["difference"],
            "Check": t["match"].map({True: "matches", False: "DIFFERS"}),
        }
    )


def reconciliation_sentence(rec: pd.DataFrame) -> str:
    """How many published figures the case records reproduce, and which do not."""
    bad = rec[rec["Check"] != "matches"]
    if bad.empty:
        return (
            f"The case records reproduce all {len(rec)} published figures that can be "
            f"recounted from them (@tbl-reconciliation)."
        )
    return (
        f"The case records reproduce {len(rec) - len(bad)} of {len(rec)} published figures; "
        f"{len(bad)} differ and are flagged in @tbl-reconciliation: "
        + "; ".join(bad["Figure"])
        + "."
    )
