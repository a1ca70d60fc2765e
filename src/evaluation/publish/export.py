"""Safe tabular exports: CSV (and XLSX) whose text cells cannot run as spreadsheet formulas."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> object:
    """Text a spreadsheet would read as a formula gets a leading quote (OWASP); carriage
    returns become newlines so a CSV writer quotes the field instead of splitting the row."""
    if isinstance(value, str):
        value = value.replace("\r\n", "\n").replace("\r", "\n")
        if value.startswith(_FORMULA_START) or value.startswith("\n"):
            return "'" + value
    return value


def _changes(value: object) -> bool:
    """Whether neutralise changes value."""
    return isinstance(value, str) and (
        value.startswith(_FORMULA_START) or value.startswith("\n") or "\r" in value
    )


def safe_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Copy of df with every text cell and header neutralised; numbers stay numbers."""
    out = df.copy()
    for col in out.columns:
        s = out[col]
        if isinstance(s.dtype, pd.CategoricalDtype):
            s = s.astype(object)
        if isinstance(s.dtype, pd.StringDtype) and not any(map(_changes, s.tolist())):
            continue  # text neutralise leaves as it is: map would give the same column back
        if s.dtype == object or pd.api.types.is_string_dtype(s):
            out[col] = s.map(neutralise)
    out.columns = [neutralise(str(c)) if isinstance(c, str) else c for c in out.columns]
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
