"""Raw cells to the contract's types: text, dates, numbers and booleans; unreadable cells become
problems (and NA)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from evaluation.data.problems import Problem, show, where
from evaluation.data.threads import each

if TYPE_CHECKING:
    from evaluation.data.contract import TableSpec
    from evaluation.data.read import RawTable

# Columns arrive from Excel as numbers; accept whole floats as ids and codes ("1001.0" -> "1001").
_BOOL_WORDS = {
    "true": True,
    "false": False,
    "1": True,
    "0": False,
    "yes": True,
    "no": False,
    "y": True,
    "n": False,
    "ja": True,
    "nee": False,
    "j": True,
    "waar": True,
    "onwaar": False,
}
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[T ]00:00(?::00(?:\.0+)?)?)?$")
_NL_DATE = re.compile(r"^\d{1,2}-\d{1,2}-\d{4}$")


_EMPTY = ("", "nan", "<NA>")  # cells that mean "no value"


def _clean_text(raw: pd.Series) -> bool:
    """True for an Arrow-backed str column that stripping and emptying would leave as it is
    (then it is used as read, without a second copy of every string)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if raw.dtype != "str" or not isinstance(raw.array, pd.arrays.ArrowStringArray):
        return False
    cells = pa.chunked_array(raw.array._pa_array)
    if pc.any(pc.is_in(cells, value_set=pa.array(_EMPTY, type=cells.type))).as_py():
        return False
    stripped = pc.binary_length(pc.utf8_trim_whitespace(cells))
    return not pc.any(pc.not_equal(stripped, pc.binary_length(cells))).as_py()


def _as_text(raw: pd.Series) -> pd.Series:
    """Raw cells (str from CSV, objects from Excel, typed from Parquet) as stripped str or NA."""
    if _clean_text(raw):
        return raw
    if raw.dtype == object:
        raw = raw.map(
            lambda v: (
                v
                if v is None or isinstance(v, str)
                else None
                if isinstance(v, float) and np.isnan(v)  # an empty cell after a code mapping
                else (str(int(v)) if isinstance(v, float) and v.is_integer() else show(v))
            )
        )
    elif pd.api.types.is_float_dtype(raw):
        raw = raw.map(lambda v: None if pd.isna(v) else show(v))
    elif pd.api.types.is_datetime64_any_dtype(raw):
        raw = raw.dt.strftime("%Y-%m-%d")
    text = raw.astype("str").str.strip()
    return text.mask(text.isna() | text.isin(_EMPTY))


def _parse_dates(raw: pd.Series) -> pd.Series:
    """ISO (YYYY-MM-DD) or Dutch (dd-mm-yyyy) dates; Excel/Parquet datetimes pass through."""
    if pd.api.types.is_datetime64_any_dtype(raw):
        return raw.astype("datetime64[ns]")
    text = _as_text(raw)
    iso = text.str.match(_ISO_DATE.pattern).fillna(False).astype(bool)
    nl = text.str.match(_NL_DATE.pattern).fillna(False).astype(bool)
    out = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns]")
    if iso.any():
        parsed = pd.to_datetime(text[iso].str.slice(0, 10), format="%Y-%m-%d", errors="coerce")
        out[iso] = parsed.astype("datetime64[ns]")
    if nl.any():
        parsed = pd.to_datetime(text[nl], format="%d-%m-%Y", errors="coerce")
        out[nl] = parsed.astype("datetime64[ns]")
    return out


def _parse_numbers(raw: pd.Series, decimal: str) -> pd.Series:
    """Numbers from numbers or text; with decimal comma '1.234,5' -> 1234.5."""
    if pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
        return raw.astype("float64")
    text = _as_text(raw)
    if decimal == ",":
        both = text.str.contains(",", regex=False).fillna(False).astype(bool)
        text = text.where(~both, text.str.replace(".", "", regex=False))
        text = text.str.replace(",", ".", regex=False)
    return pd.to_numeric(text, errors="coerce").astype("float64")


def _parse_bools(raw: pd.Series) -> pd.Series:
    """true/false, 1/0, yes/no, ja/nee (any case) or real booleans -> pandas 'boolean'."""
    if pd.api.types.is_bool_dtype(raw):
        return raw.astype("boolean")
    text = _as_text(raw).str.lower()
    text = text.str.replace(r"\.0$", "", regex=True)
    return text.map(_BOOL_WORDS).astype("boolean")


_KIND_WORDS = {
    "date": "is not a valid date (expected YYYY-MM-DD or dd-mm-yyyy)",
    "int": "is not a whole number",
    "float": "is not a number",
    "bool": "is not true or false",
}
_KIND_RULES = {
    "date": "invalid_date",
    "int": "invalid_integer",
    "float": "invalid_number",
    "bool": "invalid_boolean",
}


def coerce_table(raw: RawTable, spec: TableSpec) -> tuple[pd.DataFrame, list[Problem], set[str]]:
    """Turn raw cells into the contract's dtypes; unparseable cells become problems and NA.

    Returns the typed frame (index = source row numbers), the problems, and the columns that were
    given a nullable stand-in dtype because values were missing (pandera's dtype complaint about
    those is dropped: the missing values are reported as such). Two columns are coerced at a
    time: Arrow's string work runs without the interpreter lock.
    """
    frame = raw.frame
    index = pd.Index(raw.rows, name="row")
    names = [name for name in spec.columns if name in frame.columns]
    done = each(lambda name: _coerce_column(raw, spec, name, index), names)
    out = pd.DataFrame(index=index)
    problems: list[Problem] = []
    stand_in: set[str] = set()
    for name, (typed, found, stands_in) in zip(names, done, strict=True):
        out[name] = typed
        problems += found
        if stands_in:
            stand_in.add(name)
    return out, problems, stand_in


def _coerce_column(
    raw: RawTable, spec: TableSpec, name: str, index: pd.Index
) -> tuple[pd.Series, list[Problem], bool]:
    """One column of coerce_table: typed values, problems, whether it has a stand-in dtype."""
    values = raw.frame[name].set_axis(index)
    col = spec.columns[name]
    kind = col.kind
    if kind == "str":
        return _as_text(values), [], False
    # typed input (Parquet) needs no text round trip just to know which cells are filled
    typed_input = values.dtype != object and not pd.api.types.is_string_dtype(values)
    present = values.notna() if typed_input else _as_text(values).notna()
    if kind == "date":
        typed = _parse_dates(values)
    elif kind in ("int", "float"):
        typed = _parse_numbers(values, raw.decimal)
        if kind == "int":
            fraction = typed.notna() & (typed % 1 != 0)
            typed = typed.mask(fraction)
    else:
        typed = _parse_bools(values)
    problems: list[Problem] = []
    bad = present & typed.isna()
    if bad.any():
        redact = name in spec.redacted
        shown = _as_text(values)[bad]
        for row, value in shown.items():
            text = "this value" if redact else show(value)
            problems.append(
                Problem(
                    spec.name,
                    name,
                    int(row),
                    _KIND_RULES[kind],
                    f"{where(raw.file, int(row), name)}: {text} {_KIND_WORDS[kind]}",
                    None if redact else value,
                )
            )
    stands_in = False
    if kind == "int":
        typed = typed.round().astype("Int64")
    elif kind == "bool" and col.dtype == "bool":
        if typed.isna().any():
            stands_in = True
        else:
            typed = typed.astype(bool)
    return typed, problems, stands_in
