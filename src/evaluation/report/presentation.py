"""Tables for people: every table the report prints passes through a presentation spec
(presentation.yaml beside this file): column labels, code -> label for cells (with the code lists
of data_schemas/codes.yaml), and, for tables recognised by their columns, units (percentages
instead of proportions, whole months), combined columns and dropped constant columns.
Suppression markers ('x', '<5') and withheld cells pass through unchanged.
"""

from __future__ import annotations

import math
import string
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from evaluation.config import read_yaml

SPEC_FILE = Path(__file__).with_name("presentation.yaml")
CODES_FILE = Path(__file__).resolve().parents[3] / "data_schemas" / "codes.yaml"


@lru_cache(maxsize=1)
def spec() -> dict[str, Any]:
    """The presentation spec."""
    return read_yaml(SPEC_FILE.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def value_labels() -> dict[str, str]:
    """Code -> label: the spec's own list, then countries, organisations and support points."""
    labels: dict[str, str] = {}
    if CODES_FILE.is_file():
        codes = read_yaml(CODES_FILE.read_text(encoding="utf-8"))
        for block in codes.values():
            for code, entry in (block.get("codes") or {}).items():
                labels[str(code)] = entry if isinstance(entry, str) else entry.get("name", code)
    labels.update({str(k): str(v) for k, v in (spec().get("values") or {}).items()})
    return labels


def _number(value: object) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float) and not (isinstance(value, float) and math.isnan(value)):
        return float(value)
    return None


def _format(value: object, fmt: str | None) -> object:
    x = _number(value)
    if x is None or fmt is None:
        return value
    if fmt == "percent":
        text = f"{100 * x:.1f}"
    elif fmt == "months":
        text = f"{x:.0f}" if x == round(x) else f"{x:.1f}"
    elif fmt == "one_decimal":
        text = f"{x:.1f}"
    else:
        return value
    return text.replace("-", "\u2212")  # the minus sign, as in the combined intervals


def _table_rule(df: pd.DataFrame) -> dict[str, Any] | None:
    cols = set(map(str, df.columns))
    for rule in (spec().get("tables") or {}).values():
        if set(rule["match"]) <= cols:
            return rule
    return None


class _Formatter(string.Formatter):
    """str.format with one more format type: 'p', a proportion as a percentage without the
    sign ('{ci_low:.1p}' of 0.021 gives '2.1'), for intervals combined into one column."""

    def format_field(self, value: Any, format_spec: str) -> str:
        if format_spec.endswith("p"):
            return format(100 * float(value), format_spec[:-1] + "f")
        return super().format_field(value, format_spec)


def _combine(row: pd.Series, template: str) -> str:
    values = {str(k): v for k, v in row.items()}
    if any(str(v).strip() in ("x", "<5", "") for v in values.values() if not _number(v)):
        # a suppressed part hides the combined cell
        keys = [k for k in values if "{" + k in template]
        if any(_number(values[k]) is None for k in keys):
            return "x"
    return _Formatter().format(template, **values).replace("-", "\u2212")


def present(df: pd.DataFrame) -> pd.DataFrame:
    """The frame as people read it: labelled columns, labelled codes, units."""
    out = df.copy()
    rule = _table_rule(out)
    if rule:
        for name, template in (rule.get("combine") or {}).items():
            out[name] = [_combine(r, template) for _, r in out.iterrows()]
        if rule.get("combine"):
            used = {k for t in rule["combine"].values() for k in out.columns if "{" + str(k) in t}
            keep = set(rule.get("columns") or {})
            out = out.drop(columns=[c for c in used if c not in keep])
        if rule.get("order"):
            out = out[[c for c in rule["order"] if c in out.columns]]
        for col, how in (rule.get("columns") or {}).items():
            if col not in out.columns:
                continue
            if how.get("drop"):
                out = out.drop(columns=[col])
                continue
            out[col] = [_format(v, how.get("format")) for v in out[col]]
        renames = {c: h["label"] for c, h in (rule.get("columns") or {}).items() if "label" in h}
        out = out.rename(columns=renames)
    for col in spec().get("drop_when_constant") or []:
        # the same words in every row say nothing a caption does not (e.g. "enrolled in ENH")
        if col in out.columns and len(out) > 1 and out[col].astype(str).nunique() == 1:
            out = out.drop(columns=[col])
    labels = value_labels()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = [labels.get(v, v) if isinstance(v, str) else v for v in out[col]]
    headers = spec().get("headers") or {}
    return out.rename(columns={c: headers.get(str(c), c) for c in out.columns})


def term_label(variable: str, level: str = "", reference: str = "") -> str:
    """A model term as people read it: 'Household: couple (vs single)', 'Age (per 10 years)'."""
    labels = value_labels()
    name = labels.get(str(variable), str(variable))
    if not level:
        return name

    def word(code: str) -> str:  # plain words stay lower-case inside a label: 'couple (vs single)'
        label = labels.get(str(code), str(code))
        return str(code) if label.lower() == str(code).lower() else label

    text = f"{name}: {word(level)}"
    return f"{text} (vs {word(reference)})" if reference else text
