"""Run a table's pandera schema and say every failure as a Problem in plain words."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from evaluation.data.problems import Problem, show, where

if TYPE_CHECKING:
    from evaluation.data.contract import TableSpec

_CHECK_RULES = {
    "column_in_dataframe": "missing_column",
    "not_nullable": "required",
    "field_uniqueness": "duplicate_value",
    "multiple_fields_uniqueness": "duplicate_combination",
    "isin": "unknown_code",
    "in_range": "out_of_range",
    "greater_than_or_equal_to": "out_of_range",
    "less_than_or_equal_to": "out_of_range",
    "greater_than": "out_of_range",
    "less_than": "out_of_range",
    "str_matches": "pattern",
    "str_length": "length",
    "dtype": "wrong_type",
}


def _rule_of(check: str) -> str:
    return _CHECK_RULES.get(check.split("(")[0], check.split("(")[0])


def _check_words(spec: TableSpec, column: str, check: str) -> str:
    """What the failing value should have been, in words, from the YAML check."""
    col = spec.columns.get(column)
    base = check.split("(")[0]
    checks = col.checks if col else {}
    if base == "isin":
        allowed = checks.get("isin") or []
        if len(allowed) <= 12:
            return "is not one of the allowed codes: " + ", ".join(map(str, allowed))
        return "is not an allowed code (see the data dictionary and data_schemas/codes.yaml)"
    if base == "in_range":
        r = checks.get("in_range") or {}
        return f"is outside the allowed range {show(r.get('min_value'))}–{show(r.get('max_value'))}"
    if base == "greater_than_or_equal_to":
        return f"is below the minimum {show(checks.get(base))}"
    if base == "less_than_or_equal_to":
        return f"is above the maximum {show(checks.get(base))}"
    if base == "str_matches":
        return f"does not have the expected form ({checks.get('str_matches')})"
    if base == "str_length":
        r = checks.get("str_length") or {}
        lo, hi = r.get("min_value"), r.get("max_value")
        return f"has the wrong length (allowed {lo or 0}–{hi or 'any'} characters)"
    if base == "dtype":
        return f"has the wrong type (expected {col.dtype if col else '?'})"
    return f"fails the check {check}"


def pandera_problems(
    frame: pd.DataFrame,
    spec: TableSpec,
    file: str,
    stand_in: set[str],
    unreadable: set[tuple[str | None, int | None]] = frozenset(),
    schema: Any = None,
) -> list[Problem]:
    """Run the table's pandera schema lazily and translate every failure case into a Problem.

    Cells already reported as unreadable (column, row) are not reported again as empty.
    """
    import pandera.errors

    try:
        # inplace: the contract neither coerces nor fills in, so the frame is only read (and
        # pandera's defensive copy of every table would double the memory of large ones)
        (schema if schema is not None else spec.schema()).validate(frame, lazy=True, inplace=True)
        return []
    except pandera.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    problems: list[Problem] = []
    seen_combo: set[int] = set()
    for case in cases.itertuples(index=False):
        check, column = str(case.check), case.column
        rule = _rule_of(check)
        raw_row = case.index
        row = None if raw_row is None or pd.isna(raw_row) else int(raw_row)
        if rule == "missing_column":
            name = str(case.failure_case)
            problems.append(
                Problem(
                    spec.name,
                    name,
                    None,
                    rule,
                    f"{file}: required column {name} is missing"
                    + _similar(name, getattr(frame, "attrs", {}).get("unknown_columns", [])),
                )
            )
            continue
        column = None if column is None or pd.isna(column) else str(column)
        if rule == "wrong_type" and column in stand_in:
            continue
        if rule == "required" and (column, row) in unreadable:
            continue
        if rule == "duplicate_combination":
            if row in seen_combo:
                continue
            seen_combo.add(row)
            cols = " and ".join(spec.unique_together)
            problems.append(
                Problem(
                    spec.name,
                    ", ".join(spec.unique_together),
                    row,
                    rule,
                    f"{where(file, row, None)}: another row has the same {cols}",
                )
            )
            continue
        redact = column in spec.redacted
        value = None if redact else show(case.failure_case)
        if rule == "required":
            message = f"{where(file, row, column)}: a value is required but the cell is empty"
            value = None
        elif rule == "duplicate_value":
            shown = "this value" if redact else value
            message = f"{where(file, row, column)}: {shown} appears in more than one row"
        else:
            shown = "the value" if redact else value
            message = f"{where(file, row, column)}: {shown} {_check_words(spec, column, check)}"
        problems.append(Problem(spec.name, column, row, rule, message, value))
    return problems


def _similar(name: str, candidates: list[str]) -> str:
    import difflib

    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    if not close:
        lower = [c for c in candidates if c.strip().lower() == name.lower()]
        close = lower[:1]
    if close:
        return f" (the file has a column '{close[0]}': rename it or map it in mapping.yaml)"
    return ""
