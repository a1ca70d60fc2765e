"""Safe tabular exports: CSV (and XLSX) whose text cells cannot run as spreadsheet formulas."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> object:
    """Prefix a text value that a spreadsheet would read as a formula with a quote (OWASP)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def safe_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Copy of df with every text cell neutralised; numeric columns are left as numbers."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(neutralise)
    return out


def write_csv(df: pd.DataFrame, path: Path) -> Path:
    """Write df as UTF-8 CSV with stable float formatting and neutralised text."""
    path.parent.mkdir(parents=True, exist_ok=True)
    safe_frame(df).to_csv(path, index=False, lineterminator="\n", float_format="%.10g")
    return path


def write_xlsx(df: pd.DataFrame, path: Path, sheet: str = "data") -> Path:
    """Write df as XLSX with neutralised text (numbers stay numeric cells)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    safe_frame(df).to_excel(path, index=False, sheet_name=sheet)
    return path
