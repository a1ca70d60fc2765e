"""The YAML files are the contract: prove pandera keeps every rule, and YAML and Python agree."""

from __future__ import annotations

import json

import pandera.pandas as pa
import pytest
import yaml

from evaluation.data import contract as schemas
from evaluation.data import crosscheck
from evaluation.report import dictionary

NAMES = schemas.schema_names()


def test_every_table_has_a_schema() -> None:
    assert set(NAMES) == {*schemas.TABLES, schemas.PUBLISHED}


@pytest.mark.parametrize("name", NAMES)
def test_yaml_keys_are_all_understood(name: str) -> None:
    """A misspelt check key would be ignored silently by pandera: every key must be known."""
    raw = yaml.safe_load((schemas.schema_dir() / f"{name}.yaml").read_text("utf-8"))
    schema = schemas.load_schema(name)
    assert list(schema.columns) == list(raw["columns"])
    for col, body in raw["columns"].items():
        assert body.get("description"), f"{name}.{col} has no description"
        check_keys = [k for k in body if k not in schemas.COLUMN_KEYS]
        for k in check_keys:
            assert callable(getattr(pa.Check, k, None)), f"{name}.{col}: unknown check {k}"
        assert len(schema.columns[col].checks) == len(check_keys)
        assert schema.columns[col].nullable is bool(body.get("nullable", False))
        assert schema.columns[col].unique is bool(body.get("unique", False))


@pytest.mark.parametrize("name", NAMES)
def test_round_trip_loses_no_check(name: str) -> None:
    """YAML -> pandera -> YAML -> pandera keeps every check, its statistics, dtype and flags."""
    first = schemas.load_schema(name)
    second = pa.DataFrameSchema.from_yaml(first.to_yaml())
    sig1, sig2 = schemas.check_signature(first), schemas.check_signature(second)
    assert sig1 == sig2
    assert sum(len(v) for v in sig1.values()) == sum(len(c.checks) for c in second.columns.values())
    for col in first.columns:
        a, b = first.columns[col], second.columns[col]
        assert (str(a.dtype), a.nullable, a.unique, a.description) == (
            str(b.dtype),
            b.nullable,
            b.unique,
            b.description,
        )
    assert first.unique == second.unique


def test_round_trip_would_notice_a_lost_check() -> None:
    """The signature comparison is sensitive: dropping one check changes it."""
    schema = schemas.load_schema("clients")
    damaged = schema.update_column("sex", checks=[])
    assert schemas.check_signature(damaged) != schemas.check_signature(schema)


def test_yaml_rules_and_python_rules_agree() -> None:
    named = {r for n in NAMES for r in schemas.load_spec(n).rules}
    assert named == crosscheck.rule_names()
    for r in crosscheck.RULES:
        assert r.name in schemas.load_spec(r.table).rules, f"{r.name} not listed in {r.table}.yaml"
        assert r.description.endswith(".")
    # a rule name may serve several tables (the same check on each), but once per table
    pairs = [(r.name, r.table) for r in crosscheck.RULES]
    assert len(pairs) == len(set(pairs)), "duplicate rule names within a table"


def test_metadata_columns_exist() -> None:
    for name in NAMES:
        spec = schemas.load_spec(name)
        for key in ("pseudonymised", "special_category", "free_text", "primary_key"):
            for col in spec.metadata.get(key) or []:
                assert col in spec.columns, f"{name}: metadata.{key} names unknown column {col}"
    assert set(schemas.load_spec("clients").dropped) == {"medical_needs", "vulnerability_note"}
    assert schemas.load_spec("sessions").dropped == ["counsellor_note"]
    tables_with_clients = {n for n in schemas.TABLES if "client_id" in schemas.load_spec(n).columns}
    assert {n for n in schemas.TABLES if schemas.load_spec(n).pseudonymised} == tables_with_clients


def test_code_lists_match_codes_yaml() -> None:
    codes = schemas.load_codes()
    iso = set(codes["iso3166_alpha3"]["codes"])
    assert len(iso) == 249
    assert {"NGA", "ETH", "GIN", "ARM", "IRQ", "NLD", "AFG"} <= iso
    assert all(len(c) == 3 and c.isupper() for c in iso)
    col = lambda t, c: set(schemas.load_spec(t).columns[c].checks["isin"])  # noqa: E731
    assert col("clients", "nationality") == iso | {"XKX", "XXA", "XXX"}
    assert col("clients", "country_of_return") == iso | {"XKX"}
    assert col("departures", "destination") == iso | {"XKX"}
    sp = col("enrolments", "support_point")
    assert sp == set(codes["support_points"]["codes"]) == {f"sp{i:02d}" for i in range(1, 22)}
    orgs = codes["organisations"]["codes"]
    assert col("referrals", "receiving_org") == {
        c for c, v in orgs.items() if "receiving_org" in v["used_for"]
    }
    assert col("departures", "facilitated_by") == set(orgs)


def test_dictionary_lists_every_column_and_rule(tmp_path) -> None:
    out = dictionary.write_dictionary(tmp_path / "dictionary.md")
    text = out.read_text("utf-8")
    for name in NAMES:
        spec = schemas.load_spec(name)
        assert f"## {name}" in text
        for col in spec.columns:
            assert f"| `{col}` |" in text
        for rule in spec.rules:
            assert f"- `{rule}`: {crosscheck.describe_rule(rule)}" in text
    assert "| `household_size` | whole number | yes |  | 1 to 15 |" in text
    assert "| `exit_reason` | text | no |  | one of: `returned`" in text
    json.dumps(text)  # plain text, no objects
