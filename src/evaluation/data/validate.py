"""Validate a dataset against the contract: types, pandera checks, cross-table rules, one report."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Collection
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from evaluation.data import contract_holds
from evaluation.data.coerce import coerce_table
from evaluation.data.problems import Problem
from evaluation.data.schema_problems import pandera_problems
from evaluation.data.validation_report import ValidationReport

if TYPE_CHECKING:
    from evaluation.data.contract import TableSpec
    from evaluation.data.read import RawTable

# what validate_dataset's `typed` returns: columns known to hold no repeated value, or a function
# giving them once work started in the background is done
Known = set[tuple[str, str]] | Callable[[], set[tuple[str, str]]] | None


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
    raw: RawTable, spec: TableSpec, schema: Callable[[], Any] | None = None
) -> tuple[pd.DataFrame, list[Problem]]:
    """Typed table and its problems (see _contract_problems)."""
    frame, problems, stand_in = coerce_table(raw, spec)
    frame.attrs["unknown_columns"] = list(raw.unknown_columns)
    return frame, problems + _contract_problems(frame, spec, raw.file, stand_in, problems, schema)


def _contract_problems(
    frame: pd.DataFrame,
    spec: TableSpec,
    file: str,
    stand_in: set[str],
    unreadable: list[Problem],
    schema: Callable[[], Any] | None = None,
    unrepeated: Collection[str] = (),
) -> list[Problem]:
    """pandera's problems with the typed table (schema(), else the spec's); pandera runs only
    when the vectorised pre-check says it would find something, and then says what.
    unrepeated: columns already known to hold no repeated value."""
    if contract_holds.holds(frame, spec, unrepeated):
        return []
    cells = {(p.column, p.row) for p in unreadable}
    made = schema() if schema is not None else None
    return pandera_problems(frame, spec, file, stand_in, cells, made)


def configured_projects(spec: TableSpec, projects: list[str]) -> tuple[TableSpec, Any]:
    """The enrolments contract with `project` allowed to be any configured project id.

    The YAML lists the default projects (ENH, MOH1, MOH2); a project added in evaluation.yml
    must validate without editing the contract, so its code list comes from the configuration.
    """
    return _projects_spec(spec, projects), _projects_schema(spec, projects)


def _projects_spec(spec: TableSpec, projects: list[str]) -> TableSpec:
    import dataclasses

    col = spec.columns["project"]
    columns = dict(spec.columns)
    columns["project"] = dataclasses.replace(col, checks={**col.checks, "isin": list(projects)})
    return dataclasses.replace(spec, columns=columns)


def _projects_schema(spec: TableSpec, projects: list[str]) -> Any:
    import pandera.pandas as pa

    schema = spec.schema()
    checks = [c for c in schema.columns["project"].checks if c.name != "isin"]
    return schema.update_column("project", checks=[*checks, pa.Check.isin(list(projects))])


def validate_dataset(
    data_dir: str | Path,
    periods: dict[str, tuple[dt.date, dt.date]],
    cutoff: dt.date | dict[str, tuple[dt.date, str]] | None = None,
    typed: Callable[[dict[str, pd.DataFrame]], Known] | None = None,
) -> tuple[dict[str, pd.DataFrame], ValidationReport]:
    """Read and validate every table of one dataset folder; all problems at once.

    Returns the typed tables (dates datetime64, booleans bool, contract columns only) and the
    report. Client identifiers are still the originals: pseudonymise before anything leaves.
    typed: called with the typed tables (the rows and values returned, before the contract
    checks and cross-table rules run; prepare starts hashing their identifiers then), their
    shared identifiers as categoricals (crosscheck.encode_ids, made once for the rules too); it
    may return (table, column) pairs it found to hold no repeated value (and no empty cell), or
    a function that returns them once its work is done: the cross-table rules run meanwhile.
    """
    from evaluation.data import crosscheck
    from evaluation.data import read as io
    from evaluation.data.contract import TABLES, load_spec

    raw = io.read_dataset(data_dir, TABLES)
    problems = list(raw.problems)
    frames: dict[str, pd.DataFrame] = {}
    files: dict[str, str] = {}
    checks: dict[str, tuple] = {}
    for name in TABLES:
        table = raw.tables.pop(name, None)  # the raw text copy is freed once typed
        if table is None:
            continue
        spec, schema = load_spec(name), None
        if name == "enrolments" and periods:
            written = spec
            spec = _projects_spec(written, sorted(periods))
            schema = functools.partial(_projects_schema, written, sorted(periods))
        frame, found, stand_in = coerce_table(table, spec)
        frame.attrs["unknown_columns"] = list(table.unknown_columns)
        problems += found
        frames[name] = frame
        files[name] = table.file
        checks[name] = (spec, table.file, stand_in, found, schema)
    encoded = crosscheck.encode_ids(frames)  # shared by the rules and (via typed) prepare
    ahead = typed(dict(encoded)) if typed is not None else None
    ruled = crosscheck.run_rules(frames, files, periods=periods, cutoff=cutoff, encoded=encoded)
    del encoded
    known = (ahead() if callable(ahead) else ahead) or set()
    for name, frame in frames.items():
        unrepeated = {column for table, column in known if table == name}
        problems += _contract_problems(frame, *checks[name], unrepeated)
    problems += ruled
    counts = {name: len(frames[name]) for name in TABLES if name in frames}
    tables = {name: _finish(frame, load_spec(name)) for name, frame in frames.items()}
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
