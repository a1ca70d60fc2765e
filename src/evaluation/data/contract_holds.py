"""Whether a typed table meets its pandera schema, answered without pandera.

pandera says exactly what is wrong, but importing it, building the schemas and running its
per-column machinery costs seconds even when nothing is wrong, which is almost always. This
module answers only "would pandera find nothing?" with vectorised checks. It is conservative:
anything it does not know (a dtype, a check, a schema option) or any doubt counts as "no", and
the caller then runs pandera for the exact problems. So a "yes" here means pandera would have
returned no failure case, and the messages for bad input are pandera's as before.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from evaluation.data.contract import TableSpec

# keys of a schema file and of its columns that this module understands; any other key (strict,
# coerce, required, regex, ...) sends the table to pandera
_SCHEMA_KEYS = {"schema_type", "version", "name", "title", "description", "columns", "metadata"}
_COLUMN_KEYS = {"title", "description", "dtype", "nullable", "unique"}
_CHECKS = {"isin", "in_range", "str_length", "str_matches", "greater_than_or_equal_to"}


def _dtype_ok(values: pd.Series, dtype: str) -> bool:
    """The column's dtype is one pandera accepts for the contract dtype (a subset of them)."""
    have = values.dtype
    if dtype == "str":
        return isinstance(have, pd.StringDtype) and have.storage == "pyarrow"
    wanted = {
        "datetime64[ns]": np.dtype("M8[ns]"),
        "float64": np.dtype("float64"),
        "Int64": pd.Int64Dtype(),
        "bool": np.dtype(bool),
        "boolean": pd.BooleanDtype(),
    }.get(dtype)
    return wanted is not None and have == wanted


def _arrow(values: pd.Series) -> Any:
    import pyarrow as pa

    return pa.chunked_array(values.array._pa_array)  # type: ignore[attr-defined]


def _all(mask: Any) -> bool:
    """True when every value of an Arrow boolean array is true (nulls count as false)."""
    import pyarrow.compute as pc

    return bool(pc.all(pc.fill_null(mask, False)).as_py() is not False)


def _unique(values: pd.Series, text: bool) -> bool:
    """No value repeats; two empty cells count as a repeat (pandera reports them too)."""
    if text:
        import pyarrow.compute as pc

        return pc.count_distinct(_arrow(values), mode="all").as_py() == len(values)
    return not values.duplicated().any()


def _numbers(values: pd.Series) -> np.ndarray | None:
    """The filled values of a numeric column as floats (None for other dtypes)."""
    if values.dtype == np.dtype("float64"):
        x = values.to_numpy()
    elif isinstance(values.dtype, pd.Int64Dtype):
        x = values.to_numpy(dtype="float64", na_value=np.nan)
    else:
        return None
    return x[~np.isnan(x)]


def _check_holds(values: pd.Series, text: bool, check: str, arg: Any) -> bool:
    """One built-in check on the filled values (pandera ignores empty cells in checks)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if check == "isin":
        allowed = list(arg) if isinstance(arg, list | tuple) else None
        if not text or allowed is None or not all(isinstance(v, str) for v in allowed):
            return False
        cells = _arrow(values).drop_null()
        return _all(pc.is_in(cells, value_set=pa.array(allowed, type=cells.type)))
    if check == "str_length":
        if not text or not isinstance(arg, dict) or set(arg) - {"min_value", "max_value"}:
            return False
        length = pc.utf8_length(_arrow(values).drop_null())
        lo, hi = arg.get("min_value"), arg.get("max_value")
        if lo is not None and not _all(pc.greater_equal(length, int(lo))):
            return False
        return hi is None or _all(pc.less_equal(length, int(hi)))
    if check == "str_matches":
        if not text or not isinstance(arg, str):
            return False
        return bool(values.dropna().str.match(arg, na=False).all())  # pandera's own call
    x = _numbers(values)
    if x is None:
        return False
    if check == "greater_than_or_equal_to":
        return isinstance(arg, int | float) and bool(np.all(x >= arg))
    if check == "in_range":
        keys = {"min_value", "max_value", "include_min", "include_max"}
        if not isinstance(arg, dict) or set(arg) - keys:
            return False
        lo, hi = arg.get("min_value"), arg.get("max_value")
        if not isinstance(lo, int | float) or not isinstance(hi, int | float):
            return False
        above = x >= lo if arg.get("include_min", True) else x > lo
        below = x <= hi if arg.get("include_max", True) else x < hi
        return bool(np.all(above & below))
    return False


def holds(frame: pd.DataFrame, spec: TableSpec, unrepeated: Collection[str] = ()) -> bool:
    """True only when pandera's schema for spec would find no failure in frame. unrepeated:
    columns the caller knows to hold no repeated value and no empty cell (not checked again)."""
    from evaluation.data.contract import schema_document

    try:
        doc = schema_document(spec.name)
    except OSError:
        return False
    if set(doc) - _SCHEMA_KEYS - ({"unique"} if spec.unique_together else set()):
        return False
    written = doc.get("columns") or {}
    for name, col in spec.columns.items():
        body = written.get(name)
        if not isinstance(body, dict) or set(body) - _COLUMN_KEYS - _CHECKS:
            return False
        if name not in frame.columns or set(col.checks) - _CHECKS:
            return False
        values = frame[name]
        if not isinstance(values, pd.Series) or not _dtype_ok(values, col.dtype):
            return False
        text = col.dtype == "str"
        if not col.nullable and values.hasnans:
            return False
        if col.unique and name not in unrepeated and not _unique(values, text):
            return False
        for check, arg in col.checks.items():
            if not _check_holds(values, text, check, arg):
                return False
    together = list(spec.unique_together)
    if together:
        if any(c not in frame.columns for c in together):
            return False
        return not frame.duplicated(subset=together).any()
    return True
