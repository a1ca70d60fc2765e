"""What every cross-table rule is made of: the context it sees, its record, a registrar, and the
lookups and checks that rules share (ids that must exist, dates that must not precede others).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from evaluation.data.problems import Problem, show, where


@dataclass(frozen=True)
class Context:
    """What every rule sees: typed tables, their file names, and the project periods."""

    tables: dict[str, pd.DataFrame]
    files: dict[str, str]
    periods: dict[str, tuple[dt.date, dt.date]] | None
    # project id (or '*' for any other) -> (data cut-off, the evaluation.yml key that sets it)
    cutoff: dict[str, tuple[dt.date, str]] | None = None

    def file(self, table: str) -> str:
        """File name of a table as the user named it."""
        return self.files.get(table, f"{table}")


@dataclass(frozen=True)
class Rule:
    """A named rule on one table, the columns it needs, and what it says in plain words."""

    name: str
    table: str
    needs: tuple[str, ...]
    description: str
    check: Callable[[Context], list[Problem]]


def registrar(rules: list[Rule]) -> Callable:
    """A decorator factory that appends each named rule function to `rules`."""

    def rule(name: str, table: str, needs: tuple[str, ...], description: str):
        def register(
            func: Callable[[Context], list[Problem]],
        ) -> Callable[[Context], list[Problem]]:
            rules.append(Rule(name, table, needs, description, func))
            return func

        return register

    return rule


def member(values: pd.Series, keys: pd.Series | pd.Index) -> pd.Series:
    """values.isin(keys), fast for large Arrow-backed string columns (hash join on objects)."""
    return values.astype(object).isin(pd.unique(pd.Series(keys, dtype=object).dropna()))


def ids_missing(
    ctx: Context, table: str, column: str, target: str, rule_name: str
) -> list[Problem]:
    """Rows of table whose column value is absent from target's primary key."""
    df = ctx.tables[table]
    keys = ctx.tables[target][column].dropna()
    values = df[column]
    orphan = values.notna() & ~member(values, keys)
    out = []
    for row, value in values[orphan].items():
        if column == "client_id":
            text = f"{where(ctx.file(table), row, column)}: this client does not exist in {target}"
            value = None
        else:
            text = (
                f"{where(ctx.file(table), row, column)}: {show(value)} does not exist in {target}"
            )
        out.append(Problem(table, column, int(row), rule_name, text, value))
    return out


def dates_before(
    ctx: Context,
    table: str,
    column: str,
    later: pd.Series,
    earlier: pd.Series,
    rule_name: str,
    what: str,
) -> list[Problem]:
    """Rows where the later date precedes the earlier one (both known)."""
    bad = later.notna() & earlier.notna() & (later < earlier)
    return [
        Problem(
            table,
            column,
            int(row),
            rule_name,
            f"{where(ctx.file(table), row, column)}: {show(later[row])} is before {what} "
            f"{show(earlier[row])}",
            show(later[row]),
        )
        for row in later.index[bad]
    ]


def is_verified(departures: pd.DataFrame) -> pd.Series:
    """True for departures that count as a verified return."""
    return (departures["departure_type"] == "independent_verified") & (
        departures["verification"].notna() & (departures["verification"] != "unverified")
    )


def lookup(keys: pd.Series, values: pd.Series) -> pd.Series:
    """keys.map(values), also when values is empty (e.g. an export without referrals)."""
    if len(values) == 0:  # pandas cannot map through an empty datetime Series
        return pd.Series(None, index=keys.index, dtype=values.dtype)
    return keys.map(values)


def client_of_enrolment(ctx: Context, enrolment_ids: pd.Series) -> pd.Series:
    """The client of each enrolment id (NA when unknown)."""
    enr = ctx.tables["enrolments"].drop_duplicates("enrolment_id").set_index("enrolment_id")
    return lookup(enrolment_ids, enr["client_id"])


def date_of_enrolment(ctx: Context, enrolment_ids: pd.Series) -> pd.Series:
    """The enrolment date of each enrolment id (NaT when unknown)."""
    enr = ctx.tables["enrolments"].drop_duplicates("enrolment_id").set_index("enrolment_id")
    return lookup(enrolment_ids, enr["enrolment_date"])
