"""The data contract: data_schemas/*.yaml as pandera schemas, plus the metadata pandera drops."""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evaluation.config import read_yaml

if TYPE_CHECKING:
    import pandera.pandas as pa

# The case-level tables of one dataset, in the order reports list them.
TABLES: tuple[str, ...] = (
    "clients",
    "enrolments",
    "sessions",
    "referrals",
    "departures",
    "support",
    "monitoring",
)
PUBLISHED = "published_figures"

# Keys of a column in pandera's YAML that are not checks (mirrors pandera.io._flat_checks).
COLUMN_KEYS = frozenset(
    {
        "title",
        "description",
        "dtype",
        "nullable",
        "checks",
        "name",
        "unique",
        "coerce",
        "required",
        "regex",
        "default",
        "report_duplicates",
        "drop_invalid_rows",
    }
)

# dtype in YAML -> the kind of value a reader must turn raw cells into.
_KINDS = {
    "str": "str",
    "string": "str",
    "string[pyarrow]": "str",
    "string[python]": "str",
    "Int64": "int",
    "int64": "int",
    "float64": "float",
    "Float64": "float",
    "bool": "bool",
    "boolean": "bool",
    "datetime64[ns]": "date",
    "datetime64[us]": "date",
}


def schema_dir() -> Path:
    """Folder holding the contract: <repo>/data_schemas (the package is installed editable)."""
    return Path(__file__).resolve().parents[3] / "data_schemas"


@dataclass(frozen=True)
class ColumnSpec:
    """One column as written in the YAML: what the reader and the dictionary need."""

    name: str
    dtype: str
    kind: str
    nullable: bool
    unique: bool
    description: str
    checks: dict[str, Any]


@dataclass(frozen=True)
class TableSpec:
    """One table of the contract: raw YAML, its columns and the metadata pandera does not keep."""

    name: str
    path: Path
    description: str
    columns: dict[str, ColumnSpec]
    unique_together: tuple[str, ...]
    metadata: dict[str, Any]

    @property
    def rules(self) -> list[str]:
        """Names of the Python rules (data/rules_*.py) that apply to this table."""
        return list(self.metadata.get("cross_table_rules") or [])

    @property
    def pseudonymised(self) -> list[str]:
        """Columns holding client identifiers: hashed on load, never quoted in messages."""
        return list(self.metadata.get("pseudonymised") or [])

    @property
    def dropped(self) -> list[str]:
        """Special-category and free-text columns: dropped on load, never quoted."""
        meta = self.metadata
        return list(meta.get("special_category") or []) + [
            c for c in meta.get("free_text") or [] if c not in (meta.get("special_category") or [])
        ]

    @property
    def redacted(self) -> set[str]:
        """Columns whose values must never appear in a report."""
        return set(self.pseudonymised) | set(self.dropped)

    def schema(self) -> pa.DataFrameSchema:
        """The pandera schema built from this YAML file."""
        return load_schema(self.name)


@functools.cache
def schema_document(name: str) -> Any:
    """data_schemas/<name>.yaml parsed once per process (callers copy what they change)."""
    path = schema_dir() / f"{name}.yaml"
    return read_yaml(path.read_text(encoding="utf-8"))


def _raw(name: str) -> dict[str, Any]:
    return copy.deepcopy(schema_document(name))


@functools.cache
def load_spec(name: str) -> TableSpec:
    """Read data_schemas/<name>.yaml into a TableSpec (columns in file order)."""
    raw = _raw(name)
    cols = {}
    for col, body in (raw.get("columns") or {}).items():
        dtype = str(body.get("dtype"))
        cols[col] = ColumnSpec(
            name=col,
            dtype=dtype,
            kind=_KINDS.get(dtype, "str"),
            nullable=bool(body.get("nullable", False)),
            unique=bool(body.get("unique", False)),
            description=" ".join(str(body.get("description", "")).split()),
            checks={k: v for k, v in body.items() if k not in COLUMN_KEYS},
        )
    return TableSpec(
        name=name,
        path=schema_dir() / f"{name}.yaml",
        description=" ".join(str(raw.get("description", "")).split()),
        columns=cols,
        unique_together=tuple(raw.get("unique") or ()),
        metadata=dict(raw.get("metadata") or {}),
    )


@functools.cache
def load_schema(name: str) -> pa.DataFrameSchema:
    """The pandera DataFrameSchema for one table, straight from its YAML file."""
    from pandera.io.pandas_io import deserialize_schema

    # what DataFrameSchema.from_yaml does, on the document already parsed for load_spec
    return deserialize_schema(_raw(name))


@functools.cache
def load_codes() -> dict[str, Any]:
    """Shared code lists in data_schemas/codes.yaml (countries, support points, organisations)."""
    return _raw("codes")


def schema_names() -> list[str]:
    """Every schema file in data_schemas/ except the code lists."""
    return sorted(p.stem for p in schema_dir().glob("*.yaml") if p.stem != "codes")


def check_signature(schema: pa.DataFrameSchema) -> dict[str, list[tuple[str, str]]]:
    """Per column the checks as (name, statistics) pairs: what a round trip must preserve."""
    out: dict[str, list[tuple[str, str]]] = {}
    for col, column in schema.columns.items():
        out[col] = sorted((c.name, repr(sorted(c.statistics.items()))) for c in column.checks)
    return out
