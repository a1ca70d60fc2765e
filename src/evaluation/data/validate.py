"""Validate a dataset against the contract: types, pandera checks, cross-table rules, one report."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from evaluation.data.crosscheck import describe_rule
from evaluation.data.problems import Problem, show, where

if TYPE_CHECKING:
    from evaluation.data.contract import TableSpec
    from evaluation.data.read import RawTable

MAX_EXAMPLES = 20
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


@dataclass
class ValidationReport:
    """All problems of one validation run, with the row count of every table read."""

    problems: list[Problem]
    row_counts: dict[str, int] = field(default_factory=dict)

    @property
    def errors(self) -> list[Problem]:
        """Problems that make the data unusable (everything but warnings)."""
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        """Notes that do not stop the run (e.g. an extra file in the folder)."""
        return [p for p in self.problems if p.severity != "error"]

    @property
    def ok(self) -> bool:
        """True when no problem is an error."""
        return not self.errors

    def rule_counts(self) -> dict[tuple[str, str], int]:
        """Number of problems per (table, rule)."""
        return dict(Counter((p.table or "dataset", p.rule) for p in self.problems))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: status, counts and every problem."""
        return {
            "ok": self.ok,
            "n_errors": len(self.errors),
            "n_warnings": len(self.warnings),
            "row_counts": dict(self.row_counts),
            "rule_counts": [
                {"table": t, "rule": r, "count": n}
                for (t, r), n in sorted(self.rule_counts().items())
            ],
            "problems": [asdict(p) for p in self.problems],
        }

    def to_markdown(self, max_examples: int = MAX_EXAMPLES) -> str:
        """Readable report grouped by table and rule, at most max_examples lines per rule."""
        lines = ["# Validation report", ""]
        if self.ok:
            status = "**Passed**: the data meet the contract"
            if self.warnings:
                status += f" ({len(self.warnings)} warning(s) below)"
            lines.append(status + ".")
        else:
            lines.append(
                f"**Failed**: {len(self.errors)} error(s) and {len(self.warnings)} warning(s). "
                "Fix the errors below and validate again; no analysis runs on invalid data."
            )
        lines += ["", "| table | rows read | errors | warnings |", "|---|---:|---:|---:|"]
        tables = list(self.row_counts) + sorted(
            {p.table or "dataset" for p in self.problems} - set(self.row_counts)
        )
        for t in tables:
            errs = sum(1 for p in self.errors if (p.table or "dataset") == t)
            warns = sum(1 for p in self.warnings if (p.table or "dataset") == t)
            rows = self.row_counts.get(t, "–")
            lines.append(f"| {t} | {rows} | {errs} | {warns} |")
        by_table: dict[str, dict[str, list[Problem]]] = defaultdict(lambda: defaultdict(list))
        for p in self.problems:
            by_table[p.table or "dataset"][p.rule].append(p)
        for t in tables:
            if t not in by_table:
                continue
            lines += ["", f"## {t}", ""]
            counts = {rule: len(ps) for rule, ps in by_table[t].items()}
            if len(counts) > 1 or sum(counts.values()) > max_examples:
                lines += ["| rule | problems |", "|---|---:|"]
                lines += [f"| {r} | {n} |" for r, n in sorted(counts.items())]
                lines.append("")
            for rule, ps in by_table[t].items():
                kind = "warning" if ps[0].severity != "error" else "error"
                lines.append(f"### {rule} ({len(ps)} {kind}{'s' if len(ps) != 1 else ''})")
                about = describe_rule(rule)
                if about:
                    lines += ["", f"*{about}*"]
                lines.append("")
                lines += [f"- {p.message}" for p in ps[:max_examples]]
                if len(ps) > max_examples:
                    lines.append(f"- … and {len(ps) - max_examples} more (all in report.json)")
                lines.append("")
        return "\n".join(lines).rstrip() + "\n"

    def write(self, out_dir: str | Path) -> tuple[Path, Path]:
        """Write report.md and report.json into out_dir; returns both paths."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        md, js = out / "report.md", out / "report.json"
        md.write_text(self.to_markdown(), encoding="utf-8")
        js.write_text(json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n", "utf-8")
        return md, js


# --------------------------------------------------------------------------- coercion


def _as_text(raw: pd.Series) -> pd.Series:
    """Raw cells (str from CSV, objects from Excel, typed from Parquet) as stripped str or NA."""
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
    return text.mask(text.isna() | (text == "") | (text == "nan") | (text == "<NA>"))


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
    those is dropped: the missing values are reported as such).
    """
    frame = raw.frame
    out = pd.DataFrame(index=pd.Index(raw.rows, name="row"))
    problems: list[Problem] = []
    stand_in: set[str] = set()
    for name, col in spec.columns.items():
        if name not in frame.columns:
            continue
        values = frame[name].set_axis(out.index)
        kind = col.kind
        if kind == "str":
            out[name] = _as_text(values)
            continue
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
        if kind == "int":
            typed = typed.round().astype("Int64")
        elif kind == "bool" and col.dtype == "bool":
            if typed.isna().any():
                stand_in.add(name)
            else:
                typed = typed.astype(bool)
        out[name] = typed
    return out, problems, stand_in


# --------------------------------------------------------------------------- pandera -> Problems

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
        (schema if schema is not None else spec.schema()).validate(frame, lazy=True)
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


# --------------------------------------------------------------------------- entry points


def _finish(frame: pd.DataFrame, spec: TableSpec) -> pd.DataFrame:
    """Typed table for analysis: contract columns in contract order, plain RangeIndex."""
    cols = [c for c in spec.columns if c in frame.columns]
    out = frame[cols].reset_index(drop=True)
    for name in cols:
        col = spec.columns[name]
        if col.kind == "bool" and col.dtype == "bool" and out[name].notna().all():
            out[name] = out[name].astype(bool)
    return out


def _validate_table(
    raw: RawTable, spec: TableSpec, schema: Any = None
) -> tuple[pd.DataFrame, list[Problem]]:
    frame, problems, stand_in = coerce_table(raw, spec)
    frame.attrs["unknown_columns"] = list(raw.unknown_columns)
    unreadable = {(p.column, p.row) for p in problems}
    problems += pandera_problems(frame, spec, raw.file, stand_in, unreadable, schema)
    return frame, problems


def configured_projects(spec: TableSpec, projects: list[str]) -> tuple[TableSpec, Any]:
    """The enrolments contract with `project` allowed to be any configured project id.

    The YAML lists the default projects (ENH, MOH1, MOH2); a project added in evaluation.yml
    must validate without editing the contract, so its code list comes from the configuration.
    """
    import dataclasses

    import pandera.pandas as pa

    col = spec.columns["project"]
    columns = dict(spec.columns)
    columns["project"] = dataclasses.replace(col, checks={**col.checks, "isin": list(projects)})
    schema = spec.schema()
    checks = [c for c in schema.columns["project"].checks if c.name != "isin"]
    schema = schema.update_column("project", checks=[*checks, pa.Check.isin(list(projects))])
    return dataclasses.replace(spec, columns=columns), schema


def validate_dataset(
    data_dir: str | Path,
    periods: dict[str, tuple[dt.date, dt.date]],
    cutoff: dt.date | dict[str, tuple[dt.date, str]] | None = None,
) -> tuple[dict[str, pd.DataFrame], ValidationReport]:
    """Read and validate every table of one dataset folder; all problems at once.

    Returns the typed tables (dates datetime64, booleans bool, contract columns only) and the
    report. Client identifiers are still the originals: pseudonymise before anything leaves.
    """
    from evaluation.data import crosscheck
    from evaluation.data import read as io
    from evaluation.data.contract import TABLES, load_spec

    raw = io.read_dataset(data_dir, TABLES)
    problems = list(raw.problems)
    typed: dict[str, pd.DataFrame] = {}
    files: dict[str, str] = {}
    for name in TABLES:
        table = raw.tables.pop(name, None)  # the raw text copy is freed once typed
        if table is None:
            continue
        spec, schema = load_spec(name), None
        if name == "enrolments" and periods:
            spec, schema = configured_projects(spec, sorted(periods))
        frame, found = _validate_table(table, spec, schema)
        problems += found
        typed[name] = frame
        files[name] = table.file
    problems += crosscheck.run_rules(typed, files, periods=periods, cutoff=cutoff)
    counts = {name: len(typed[name]) for name in TABLES if name in typed}
    tables = {name: _finish(frame, load_spec(name)) for name, frame in typed.items()}
    return tables, ValidationReport(_ordered(problems), counts)


def validate_published(path: str | Path) -> tuple[pd.DataFrame, ValidationReport]:
    """Read and validate data/published/figures.csv against data_schemas/published_figures.yaml."""
    from evaluation.data import crosscheck
    from evaluation.data import read as io
    from evaluation.data.contract import PUBLISHED, load_spec

    spec = load_spec(PUBLISHED)
    table, problems = io.read_table(Path(path), PUBLISHED, list(spec.columns))
    if table is None:
        return pd.DataFrame(columns=list(spec.columns)), ValidationReport(problems, {})
    frame, found = _validate_table(table, spec)
    problems += found
    problems += crosscheck.run_rules({PUBLISHED: frame}, {PUBLISHED: table.file}, periods=None)
    report = ValidationReport(_ordered(problems), {PUBLISHED: len(frame)})
    return _finish(frame, spec), report


def _ordered(problems: list[Problem]) -> list[Problem]:
    """Stable order: tables in contract order, then rule, then row."""
    from evaluation.data.contract import PUBLISHED, TABLES

    order = {t: i for i, t in enumerate((None, *TABLES, PUBLISHED))}
    return sorted(
        problems,
        key=lambda p: (order.get(p.table, 99), p.rule, p.row if p.row is not None else -1),
    )
