"""Read one dataset folder (CSV, XLSX or Parquet per table) keeping each row's source row number.

Row numbers are those the user sees in a spreadsheet: in a CSV the header is row 1 and the first
record row 2, and a record whose quoted cell spans several lines is still one row; in an Excel
sheet the sheet's own row number; in Parquet the 1-based position.

An Excel sheet whose header is not on row 1 is located (the row among the first 30 holding most
of the expected column names), read from there so that every other problem is listed too, and
reported as the error `header_not_on_first_row`: the file must still be fixed.

An optional mapping.yaml in the folder translates file names, headers and codes:

    tables:
      clients:
        file: Clienten.xlsx          # optional; default <table>.csv/.xlsx/.parquet
        sheet: Blad1                 # optional; default the first sheet
        columns: {"Cliëntnummer": client_id}
        codes: {nationality: {Nigeria: NGA}}
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from evaluation.config import read_yaml
from evaluation.data.problems import Problem, show
from evaluation.errors import ConfigError

FORMATS = (".csv", ".xlsx", ".parquet")
MAPPING_FILE = "mapping.yaml"
_HEADER_SCAN_ROWS = 30
_OTHER_SEPARATORS = {"\t": "tab", "|": "vertical bar (|)"}


@dataclass
class RawTable:
    """One table as read: raw cells under contract column names, and their source rows."""

    name: str
    file: str
    frame: pd.DataFrame
    rows: np.ndarray
    decimal: str = "."
    unknown_columns: list[str] = field(default_factory=list)


@dataclass
class RawDataset:
    """Every table found in a dataset folder plus the problems met while reading."""

    tables: dict[str, RawTable]
    problems: list[Problem]


def read_mapping(data_dir: Path) -> dict[str, dict[str, Any]]:
    """mapping.yaml of a dataset folder as {table: {file, sheet, columns, codes}} ({} if absent)."""
    path = data_dir / MAPPING_FILE
    if not path.exists():
        return {}
    try:
        raw = read_yaml(path.read_text(encoding="utf-8-sig")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from exc
    tables = raw.get("tables") if isinstance(raw, dict) else None
    if not isinstance(tables, dict):
        raise ConfigError(f"{path}: expected a top-level key 'tables' mapping table names")
    out: dict[str, dict[str, Any]] = {}
    for name, entry in tables.items():
        entry = entry or {}
        if not isinstance(entry, dict):
            raise ConfigError(f"{path}: tables.{name} must be a mapping")
        for key in ("columns", "codes"):
            if not isinstance(entry.get(key) or {}, dict):
                raise ConfigError(f"{path}: tables.{name}.{key} must be a mapping")
        unknown = set(entry) - {"file", "sheet", "columns", "codes"}
        if unknown:
            raise ConfigError(f"{path}: tables.{name} has unknown key(s) {sorted(unknown)}")
        out[str(name)] = entry
    return out


def _find_file(data_dir: Path, table: str, entry: dict[str, Any]) -> tuple[Path | None, list[Path]]:
    """The file of one table and any competing candidates."""
    if entry.get("file"):
        path = data_dir / str(entry["file"])
        return (path if path.exists() else None), []
    found = [data_dir / f"{table}{ext}" for ext in FORMATS if (data_dir / f"{table}{ext}").exists()]
    return (found[0] if found else None), found[1:]


def read_dataset(data_dir: str | Path, tables: tuple[str, ...] | list[str]) -> RawDataset:
    """Read every expected table of a dataset folder; missing files and extra files are problems."""
    from evaluation.data.contract import load_spec

    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise ConfigError(f"dataset folder {data_dir} does not exist")
    mapping = read_mapping(data_dir)
    problems: list[Problem] = []
    for name in sorted(set(mapping) - set(tables)):
        problems.append(
            Problem(None, None, None, "unknown_table", f"{MAPPING_FILE}: '{name}' is not a table")
        )
    out: dict[str, RawTable] = {}
    used: set[str] = {MAPPING_FILE}
    for name in tables:
        entry = mapping.get(name, {})
        path, extra = _find_file(data_dir, name, entry)
        for other in extra:
            used.add(other.name)
            problems.append(
                Problem(
                    name,
                    None,
                    None,
                    "ambiguous_file",
                    f"{other.name}: table {name} also has {path.name}; keep one file per table",
                )
            )
        if path is None:
            wanted = entry.get("file") or f"{name}.csv, {name}.xlsx or {name}.parquet"
            problems.append(
                Problem(name, None, None, "missing_table", f"table {name} is missing: no {wanted}")
            )
            continue
        used.add(path.name)
        table, found = read_table(path, name, list(load_spec(name).columns), entry)
        problems += found
        if table is not None:
            out[name] = table
    for path in sorted(data_dir.iterdir()):
        if path.name in used or path.name.startswith("."):
            continue
        problems.append(
            Problem(
                None,
                None,
                None,
                "unknown_file",
                f"{path.name} is not part of the contract and was ignored",
                severity="warning",
            )
        )
    return RawDataset(out, problems)


def read_table(
    path: Path, table: str, expected: list[str], entry: dict[str, Any] | None = None
) -> tuple[RawTable | None, list[Problem]]:
    """Read one table file; apply the mapping's headers and codes; None when unreadable."""
    entry = entry or {}
    columns_map = {str(k).strip(): str(v) for k, v in (entry.get("columns") or {}).items()}
    suffix = path.suffix.lower()
    if suffix == ".csv":
        result = read_csv(path, table)
    elif suffix == ".xlsx":
        result = read_xlsx(path, table, set(expected) | set(columns_map), entry.get("sheet"))
    elif suffix == ".parquet":
        result = read_parquet(path, table)
    else:
        msg = f"{path.name}: unsupported format {suffix or '(none)'}; use .csv, .xlsx or .parquet"
        return None, [Problem(table, None, None, "unsupported_format", msg)]
    raw, problems = result
    if raw is None:
        return None, problems
    problems += duplicate_columns(list(raw.frame.columns), path.name, table)
    frame = raw.frame.loc[:, ~pd.Index(_header_keys(raw.frame.columns)).duplicated()]
    frame = frame.rename(columns=columns_map)
    for name in frame.columns[frame.columns.duplicated()].unique():
        problems.append(
            Problem(
                table,
                name,
                1,
                "duplicate_column",
                f"{path.name}: two columns are mapped to {name} in {MAPPING_FILE}; map only one",
            )
        )
    frame = frame.loc[:, ~frame.columns.duplicated()]
    for column, codes in (entry.get("codes") or {}).items():
        if column in frame.columns and codes:
            frame[column] = _translate(frame[column], {str(k): v for k, v in codes.items()})
    raw.frame = frame
    raw.unknown_columns = [c for c in frame.columns if c not in expected]
    for name in raw.unknown_columns:
        problems.append(
            Problem(
                table,
                name,
                None,
                "unknown_column",
                f"{path.name}: column '{show(name)}' is not in the contract and was not read "
                "(rename it or map it in mapping.yaml if it should be)",
                severity="warning",
            )
        )
    return raw, problems


def _header_keys(names) -> list[str]:
    """Column names compared as a person reads them: case and spacing ignored."""
    return [" ".join(str(n).split()).casefold() for n in names]


def duplicate_columns(names: list[str], file: str, table: str) -> list[Problem]:
    """Columns of the raw header whose names repeat, exactly or apart from case and spaces.

    pandas would silently rename the second 'sex' to 'sex.1' and use the first, so this looks
    at the header as written. Every repeat is an error: which of the two is right is unknown.
    """
    first: dict[str, int] = {}
    out = []
    for i, (name, key) in enumerate(zip(names, _header_keys(names), strict=True)):
        if key not in first:
            first[key] = i
            continue
        j = first[key]
        same = "the same name" if names[j] == name else "the same name apart from case or spaces"
        out.append(
            Problem(
                table,
                str(names[j]),
                1,
                "duplicate_column",
                f"{file} row 1: columns {j + 1} ('{show(names[j])}') and {i + 1} "
                f"('{show(name)}') have {same}; keep one of them",
            )
        )
    return out


def _translate(values: pd.Series, lookup: dict[str, Any]) -> pd.Series:
    """Replace codes found in lookup (compared as stripped text); leave the rest for validation."""
    text = values.map(lambda v: str(v).strip() if isinstance(v, str | int | float) else v)
    return text.map(lambda v: lookup.get(v, v) if isinstance(v, str) else v).astype(object)


def _empty(path: Path, table: str) -> tuple[None, list[Problem]]:
    msg = f"{path.name} is empty: expected a header row and one row per record"
    return None, [Problem(table, None, None, "empty_file", msg)]


def read_csv(path: Path, table: str) -> tuple[RawTable | None, list[Problem]]:
    """CSV with ',' or ';' (then decimal comma), UTF-8 with or without BOM; every cell as text."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        msg = (
            f"{path.name} line {line}: the file is not UTF-8 (perhaps Windows-1252/ANSI); "
            "save it as CSV UTF-8"
        )
        return None, [Problem(table, None, line, "encoding", msg)]
    if not text.strip():
        return _empty(path, table)
    header = text.lstrip("\r\n").splitlines()[0]
    sep = ";" if header.count(";") > header.count(",") else ","
    if header.count(sep) == 0:
        for other, word in _OTHER_SEPARATORS.items():
            if header.count(other) > 0:
                msg = (
                    f"{path.name}: the columns are separated by {word}; use a comma (,) or "
                    "a semicolon (;) as separator"
                )
                return None, [Problem(table, None, 1, "csv_delimiter", msg)]
    decimal = "," if sep == ";" else "."
    frame = rows = None
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=sep,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=False,
        )
        rows = np.arange(2, len(frame) + 2)
        if '"' in text and any(frame[c].str.contains("\n", regex=False).any() for c in frame):
            frame = None  # a quoted cell spans lines: count rows exactly on the slow path
    except pd.errors.ParserError:
        frame = None
    problems: list[Problem] = []
    if frame is None:
        frame, rows, problems = _read_csv_records(text, sep, path.name, table)
    header_cells = next(csv.reader(io.StringIO(text, newline=""), delimiter=sep))
    if len(header_cells) == len(frame.columns):
        frame.columns = header_cells  # as written: pandas renames a repeated 'sex' to 'sex.1'
    frame.columns = [str(c).strip().lstrip("\ufeff") for c in frame.columns]
    blank = (frame == "").all(axis=1).to_numpy() if len(frame.columns) else np.zeros(0, bool)
    if blank.any():
        frame, rows = frame.loc[~blank].reset_index(drop=True), rows[~blank]
    return RawTable(table, path.name, frame, rows, decimal), problems


def _read_csv_records(
    text: str, sep: str, file: str, table: str
) -> tuple[pd.DataFrame, np.ndarray, list[Problem]]:
    """Slow, exact path: quoted multi-line cells and rows with the wrong number of fields."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    header = next(reader)
    records, rows, problems = [], [], []
    # A spreadsheet shows one row per record, however many lines a quoted cell spans (and one
    # per blank line): the header is row 1, the k-th record after it row k + 1.
    for start, record in enumerate(reader, start=2):
        if not record or all(v == "" for v in record):
            continue
        if len(record) != len(header):
            problems.append(
                Problem(
                    table,
                    None,
                    start,
                    "csv_field_count",
                    f"{file} row {start}: {len(record)} values but the header has "
                    f"{len(header)} columns (a stray separator, or text with a '{sep}' "
                    "that is not in quotes?); the row was not read",
                )
            )
            continue
        records.append(record)
        rows.append(start)
    frame = pd.DataFrame(records, columns=header, dtype="str")
    if not records:
        frame = pd.DataFrame({c: pd.Series([], dtype="str") for c in header})
    return frame, np.asarray(rows, dtype=int), problems


def read_xlsx(
    path: Path, table: str, expected: set[str], sheet: str | None = None
) -> tuple[RawTable | None, list[Problem]]:
    """First (or named) sheet of a workbook; rows keep their sheet row number."""
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged or non-xlsx file
        msg = f"{path.name} could not be opened as an Excel workbook ({type(exc).__name__})"
        return None, [Problem(table, None, None, "unreadable_file", msg)]
    try:
        if sheet is not None and sheet not in book.sheetnames:
            msg = f"{path.name} has no sheet '{sheet}' (sheets: {', '.join(book.sheetnames)})"
            return None, [Problem(table, None, None, "missing_sheet", msg)]
        ws = book[sheet] if sheet is not None else book.worksheets[0]
        cells = [
            (i, list(r))
            for i, r in enumerate(ws.iter_rows(values_only=True), start=1)
            if any(v is not None and str(v).strip() != "" for v in r)
        ]
    finally:
        book.close()
    if not cells:
        return _empty(path, table)

    def score(values: list[Any]) -> int:
        return sum(1 for v in values if isinstance(v, str) and v.strip() in expected)

    scan = cells[:_HEADER_SCAN_ROWS]
    best = max(range(len(scan)), key=lambda k: (score(scan[k][1]), -k))
    if score(scan[best][1]) == 0:
        best = 0
    header_row, header = cells[best]
    problems = []
    if header_row != 1:
        problems.append(
            Problem(
                table,
                None,
                header_row,
                "header_not_on_first_row",
                f"{path.name}: the column names are on sheet row {header_row}, not on row 1; "
                f"delete the {header_row - 1} row(s) above them. The rows below row "
                f"{header_row} were read so that other problems are listed too.",
            )
        )
    width = max((k + 1 for k, v in enumerate(header) if v is not None), default=0)
    names = [str(v).strip() if v is not None else f"(column {k + 1})" for k, v in enumerate(header)]
    names = names[:width]
    body = [(i, (r + [None] * width)[:width]) for i, r in cells[best + 1 :]]
    frame = pd.DataFrame([r for _, r in body], columns=names, dtype=object)
    if not body:
        frame = pd.DataFrame({c: pd.Series([], dtype=object) for c in names})
    rows = np.asarray([i for i, _ in body], dtype=int)
    return RawTable(table, path.name, frame, rows, "."), problems


def read_parquet(path: Path, table: str) -> tuple[RawTable | None, list[Problem]]:
    """A Parquet file as written; row numbers are 1-based positions."""
    if path.stat().st_size == 0:
        return _empty(path, table)
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several types for damaged files
        msg = f"{path.name} could not be read as Parquet ({type(exc).__name__})"
        return None, [Problem(table, None, None, "unreadable_file", msg)]
    frame = frame.reset_index(drop=True)
    frame.columns = [str(c).strip() for c in frame.columns]
    return RawTable(table, path.name, frame, np.arange(1, len(frame) + 1)), []
