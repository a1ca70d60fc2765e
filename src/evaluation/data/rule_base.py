"""What every cross-table rule is made of: the context it sees, its record, a registrar, the
lookups that rules share, and the kinds of rule that several tables declare (exists_rule: ids
that must exist; order_rule: dates that must not precede others; client_without_rule: clients
who must have a record elsewhere), each from one row of a declarative list.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from evaluation.data.membership import member, positions
from evaluation.data.problems import Problem, show, where


@dataclass(frozen=True)
class Context:
    """What every rule sees: typed tables, their file names, and the project periods."""

    tables: dict[str, pd.DataFrame]
    files: dict[str, str]
    periods: dict[str, tuple[dt.date, dt.date]] | None
    # project id (or '*' for any other) -> (data cut-off, the evaluation.yml key that sets it)
    cutoff: dict[str, tuple[dt.date, str]] | None = None
    # look-ups that several rules share, made once per validation (see `shared`)
    memo: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def file(self, table: str) -> str:
        """File name of a table as the user named it."""
        return self.files.get(table, f"{table}")

    def shared(self, name: str, make: Callable[[], Any]) -> Any:
        """make(), computed once per context under name."""
        if name not in self.memo:
            self.memo[name] = make()
        return self.memo[name]


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


def row_problems(
    ctx: Context,
    table: str,
    column: str | None,
    rule_name: str,
    rows: Iterable[Any],
    says: Callable[[Any], str],
    value: Callable[[Any], Any] | None = None,
    whole_row: bool = False,
) -> list[Problem]:
    """A Problem for each of rows, its message 'file row N, column C: ' + says(row) (without the
    column when whole_row), its value value(row) when given."""
    file = ctx.file(table)
    return [
        Problem(
            table,
            column,
            int(row),
            rule_name,
            f"{where(file, row, None if whole_row else column)}: {says(row)}",
            value(row) if value else None,
        )
        for row in rows
    ]


def ids_missing(
    ctx: Context, table: str, column: str, target: str, rule_name: str
) -> list[Problem]:
    """Rows of table whose column value is absent from target's primary key."""
    keys = ctx.tables[target][column].dropna()
    values = ctx.tables[table][column]
    orphan = values.index[values.notna() & ~member(values, keys)]
    if column == "client_id":  # a client id is personal: not repeated in the message
        says = lambda row: f"this client does not exist in {target}"  # noqa: E731
        return row_problems(ctx, table, column, rule_name, orphan, says)
    says = lambda row: f"{show(values[row])} does not exist in {target}"  # noqa: E731
    return row_problems(ctx, table, column, rule_name, orphan, says, lambda row: values[row])


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
    return row_problems(
        ctx,
        table,
        column,
        rule_name,
        later.index[bad],
        lambda row: f"{show(later[row])} is before {what} {show(earlier[row])}",
        lambda row: show(later[row]),
    )


def exists_rule(name: str, table: str, column: str, target: str, description: str) -> Rule:
    """Rule `name`: every non-empty table.column is a key (same column) of target."""
    return Rule(
        name,
        table,
        (f"{table}.{column}", f"{target}.{column}"),
        description,
        lambda ctx: ids_missing(ctx, table, column, target, name),
    )


# the earlier date each row of a table must not precede (NaT where there is none)
EarlierDates = Callable[[Context, pd.DataFrame], pd.Series]


def order_rule(
    name: str,
    table: str,
    column: str,
    earlier: EarlierDates,
    what: str,
    needs: tuple[str, ...],
    description: str,
) -> Rule:
    """Rule `name`: table.column is on or after the earlier date (named `what` in messages)."""

    def check(ctx: Context) -> list[Problem]:
        df = ctx.tables[table]
        return dates_before(ctx, table, column, df[column], earlier(ctx, df), name, what)

    return Rule(name, table, needs, description, check)


def same_row(column: str) -> EarlierDates:
    """The row's own date in another column."""
    return lambda ctx, df: df[column]


def enrolment_start(ctx: Context, df: pd.DataFrame) -> pd.Series:
    """The date of each row's enrolment (enrolment_id)."""
    return date_of_enrolment(ctx, df["enrolment_id"])


def first_per_client(records: pd.DataFrame, column: str) -> pd.Series:
    """Per client_id the earliest known date in column of records."""
    known = records.dropna(subset=["client_id", column])
    ids = known["client_id"]
    if not isinstance(ids.dtype, pd.CategoricalDtype):
        return known.groupby("client_id")[column].min()
    # grouped on the integer codes: pandas would first re-code the categories as text
    first = known[column].groupby(ids.cat.codes.to_numpy()).min()
    clients = pd.Categorical.from_codes(first.index.to_numpy(), dtype=ids.dtype)
    return first.set_axis(pd.CategoricalIndex(clients, name="client_id"))


def known_client(ctx: Context, client_ids: pd.Series) -> pd.Series | bool:
    """True where the client is listed in clients (or where clients cannot be checked): a client
    missing from clients is reported once, by the table's *_client_exists rule."""
    if "clients" in ctx.tables and "client_id" in ctx.tables["clients"]:
        return member(client_ids, ctx.tables["clients"]["client_id"])
    return True


def client_without_rule(
    name: str,
    table: str,
    keys: Callable[[Context], pd.Series | pd.Index],
    text: str,
    needs: tuple[str, ...],
    description: str,
) -> Rule:
    """Rule `name`: every known client of table is among keys (e.g. the clients who departed);
    each other row is reported as 'file row N: text'."""

    def check(ctx: Context) -> list[Problem]:
        ids = ctx.tables[table]["client_id"]
        bad = ids.notna() & ~member(ids, keys(ctx)) & known_client(ctx, ids)
        return row_problems(
            ctx, table, "client_id", name, ids.index[bad], lambda row: text, whole_row=True
        )

    return Rule(name, table, needs, description, check)


def is_verified(departures: pd.DataFrame) -> pd.Series:
    """True for departures that count as a verified return."""
    return (departures["departure_type"] == "independent_verified") & (
        departures["verification"].notna() & (departures["verification"] != "unverified")
    )


def lookup(keys: pd.Series, values: pd.Series) -> pd.Series:
    """keys.map(values), also when values is empty (e.g. an export without referrals)."""
    if len(values) == 0:  # pandas cannot map through an empty datetime Series
        return pd.Series(None, index=keys.index, dtype=values.dtype)
    found = values.array.take(positions(keys, values.index), allow_fill=True)
    return pd.Series(found, index=keys.index, name=keys.name)


def enrolments_by_id(ctx: Context) -> pd.DataFrame:
    """Enrolments indexed by enrolment_id (the first row of a repeated id)."""
    return ctx.shared(
        "enrolments_by_id",
        lambda: ctx.tables["enrolments"].drop_duplicates("enrolment_id").set_index("enrolment_id"),
    )


def client_of_enrolment(ctx: Context, enrolment_ids: pd.Series) -> pd.Series:
    """The client of each enrolment id (NA when unknown)."""
    return lookup(enrolment_ids, enrolments_by_id(ctx)["client_id"])


def date_of_enrolment(ctx: Context, enrolment_ids: pd.Series) -> pd.Series:
    """The enrolment date of each enrolment id (NaT when unknown)."""
    return lookup(enrolment_ids, enrolments_by_id(ctx)["enrolment_date"])
