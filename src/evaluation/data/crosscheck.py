"""Rules that need Python: across tables or across columns. Each is named in the YAML metadata.

Every rule gets the typed tables (index = source row numbers) and returns Problems. A rule is
skipped when a table or column it needs is absent (that absence is already reported), and rows
whose key values are empty are left to the required-value checks.
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


RULES: list[Rule] = []


def rule(name: str, table: str, needs: tuple[str, ...], description: str):
    """Register a rule function under its name (decorator)."""

    def register(func: Callable[[Context], list[Problem]]) -> Callable[[Context], list[Problem]]:
        RULES.append(Rule(name, table, needs, description, func))
        return func

    return register


def rule_names() -> set[str]:
    """Names of every registered rule."""
    return {r.name for r in RULES}


def describe_rule(name: str) -> str:
    """The plain-English description of a Python rule ('' for pandera rules)."""
    return next((r.description for r in RULES if r.name == name), "")


def run_rules(
    tables: dict[str, pd.DataFrame],
    files: dict[str, str],
    periods: dict[str, tuple[dt.date, dt.date]] | None,
    cutoff: dt.date | dict[str, tuple[dt.date, str]] | None = None,
) -> list[Problem]:
    """Run every rule whose tables and columns are present.

    cutoff: one data cut-off for every project, or per project id (and '*' for the rest) the
    cut-off with the evaluation.yml key that sets it (see cutoffs_of).
    """
    if isinstance(cutoff, dt.date):
        cutoff = {"*": (cutoff, "data.cutoff")}
    ctx = Context(tables, files, periods, cutoff)
    problems: list[Problem] = []
    for r in RULES:
        if r.table not in tables:
            continue
        if r.name == "enrolment_in_project_period" and periods is None:
            continue
        present = all(
            t in tables and c in tables[t].columns for t, c in (n.split(".") for n in r.needs)
        )
        if present:
            problems += r.check(ctx)
    return problems


# --------------------------------------------------------------------------- helpers


def _member(values: pd.Series, keys: pd.Series | pd.Index) -> pd.Series:
    """values.isin(keys), fast for large Arrow-backed string columns (hash join on objects)."""
    return values.astype(object).isin(pd.unique(pd.Series(keys, dtype=object).dropna()))


def _ids_missing(
    ctx: Context, table: str, column: str, target: str, rule_name: str
) -> list[Problem]:
    """Rows of table whose column value is absent from target's primary key."""
    df = ctx.tables[table]
    keys = ctx.tables[target][column].dropna()
    values = df[column]
    orphan = values.notna() & ~_member(values, keys)
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


def _before(
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


def _verified(departures: pd.DataFrame) -> pd.Series:
    """True for departures that count as a verified return."""
    return (departures["departure_type"] == "independent_verified") & (
        departures["verification"].notna() & (departures["verification"] != "unverified")
    )


def _lookup(keys: pd.Series, values: pd.Series) -> pd.Series:
    """keys.map(values), also when values is empty (e.g. an export without referrals)."""
    if len(values) == 0:  # pandas cannot map through an empty datetime Series
        return pd.Series(None, index=keys.index, dtype=values.dtype)
    return keys.map(values)


def _client_of_enrolment(ctx: Context, enrolment_ids: pd.Series) -> pd.Series:
    enr = ctx.tables["enrolments"].drop_duplicates("enrolment_id").set_index("enrolment_id")
    return _lookup(enrolment_ids, enr["client_id"])


def _date_of_enrolment(ctx: Context, enrolment_ids: pd.Series) -> pd.Series:
    enr = ctx.tables["enrolments"].drop_duplicates("enrolment_id").set_index("enrolment_id")
    return _lookup(enrolment_ids, enr["enrolment_date"])


# --------------------------------------------------------------------------- enrolments


@rule(
    "enrolment_client_exists",
    "enrolments",
    ("enrolments.client_id", "clients.client_id"),
    "Every enrolment belongs to a client listed in clients.",
)
def _enrolment_client(ctx: Context) -> list[Problem]:
    return _ids_missing(ctx, "enrolments", "client_id", "clients", "enrolment_client_exists")


@rule(
    "enrolment_in_project_period",
    "enrolments",
    ("enrolments.project", "enrolments.enrolment_date"),
    "The enrolment date lies inside the project's period (evaluation.yml).",
)
def _enrolment_period(ctx: Context) -> list[Problem]:
    df = ctx.tables["enrolments"]
    periods = ctx.periods or {}
    out = []
    for project, group in df.dropna(subset=["project", "enrolment_date"]).groupby("project"):
        if project not in periods:
            for row in group.index:
                out.append(
                    Problem(
                        "enrolments",
                        "project",
                        int(row),
                        "enrolment_in_project_period",
                        f"{where(ctx.file('enrolments'), row, 'project')}: no period is configured "
                        f"for project {show(project)} in evaluation.yml",
                        str(project),
                    )
                )
            continue
        start, end = (pd.Timestamp(d) for d in periods[project])
        dates = group["enrolment_date"]
        for row in dates.index[(dates < start) | (dates > end)]:
            out.append(
                Problem(
                    "enrolments",
                    "enrolment_date",
                    int(row),
                    "enrolment_in_project_period",
                    f"{where(ctx.file('enrolments'), row, 'enrolment_date')}: {show(dates[row])} "
                    f"is outside the {project} period {show(start)} to {show(end)}",
                    show(dates[row]),
                )
            )
    return out


@rule(
    "exit_after_enrolment",
    "enrolments",
    ("enrolments.exit_date", "enrolments.enrolment_date"),
    "An enrolment ends on or after the day it started.",
)
def _exit_order(ctx: Context) -> list[Problem]:
    df = ctx.tables["enrolments"]
    return _before(
        ctx,
        "enrolments",
        "exit_date",
        df["exit_date"],
        df["enrolment_date"],
        "exit_after_enrolment",
        "the enrolment date",
    )


@rule(
    "exit_reason_when_exited",
    "enrolments",
    ("enrolments.exit_date", "enrolments.exit_reason"),
    "An enrolment with an exit date says why it ended (exit_reason).",
)
def _exit_reason(ctx: Context) -> list[Problem]:
    df = ctx.tables["enrolments"]
    bad = df["exit_date"].notna() & df["exit_reason"].isna()
    return [
        Problem(
            "enrolments",
            "exit_reason",
            int(row),
            "exit_reason_when_exited",
            f"{where(ctx.file('enrolments'), row, 'exit_reason')}: empty, but the enrolment has "
            f"an exit date ({show(df.at[row, 'exit_date'])})",
        )
        for row in df.index[bad]
    ]


@rule(
    "plan_after_enrolment",
    "enrolments",
    ("enrolments.reintegration_plan_date", "enrolments.enrolment_date"),
    "A reintegration plan is made on or after the enrolment date.",
)
def _plan_order(ctx: Context) -> list[Problem]:
    df = ctx.tables["enrolments"]
    return _before(
        ctx,
        "enrolments",
        "reintegration_plan_date",
        df["reintegration_plan_date"],
        df["enrolment_date"],
        "plan_after_enrolment",
        "the enrolment date",
    )


# --------------------------------------------------------------------------- sessions, referrals


@rule(
    "session_enrolment_exists",
    "sessions",
    ("sessions.enrolment_id", "enrolments.enrolment_id"),
    "Every session belongs to an enrolment listed in enrolments.",
)
def _session_enrolment(ctx: Context) -> list[Problem]:
    return _ids_missing(ctx, "sessions", "enrolment_id", "enrolments", "session_enrolment_exists")


@rule(
    "session_after_enrolment",
    "sessions",
    ("sessions.enrolment_id", "sessions.session_date", "enrolments.enrolment_date"),
    "A session takes place on or after the enrolment date.",
)
def _session_order(ctx: Context) -> list[Problem]:
    df = ctx.tables["sessions"]
    start = _date_of_enrolment(ctx, df["enrolment_id"])
    return _before(
        ctx,
        "sessions",
        "session_date",
        df["session_date"],
        start,
        "session_after_enrolment",
        "the enrolment date",
    )


@rule(
    "referral_enrolment_exists",
    "referrals",
    ("referrals.enrolment_id", "enrolments.enrolment_id"),
    "Every referral comes from an enrolment listed in enrolments.",
)
def _referral_enrolment(ctx: Context) -> list[Problem]:
    return _ids_missing(ctx, "referrals", "enrolment_id", "enrolments", "referral_enrolment_exists")


@rule(
    "referral_after_enrolment",
    "referrals",
    ("referrals.enrolment_id", "referrals.referral_date", "enrolments.enrolment_date"),
    "A referral is made on or after the date of the enrolment that made it.",
)
def _referral_order(ctx: Context) -> list[Problem]:
    df = ctx.tables["referrals"]
    start = _date_of_enrolment(ctx, df["enrolment_id"])
    return _before(
        ctx,
        "referrals",
        "referral_date",
        df["referral_date"],
        start,
        "referral_after_enrolment",
        "the enrolment date",
    )


# --------------------------------------------------------------------------- departures


@rule(
    "departure_client_exists",
    "departures",
    ("departures.client_id", "clients.client_id"),
    "Every departure belongs to a client listed in clients.",
)
def _departure_client(ctx: Context) -> list[Problem]:
    return _ids_missing(ctx, "departures", "client_id", "clients", "departure_client_exists")


@rule(
    "departure_enrolment_exists",
    "departures",
    ("departures.enrolment_id", "enrolments.enrolment_id"),
    "A departure's enrolment, when given, is listed in enrolments.",
)
def _departure_enrolment(ctx: Context) -> list[Problem]:
    return _ids_missing(
        ctx, "departures", "enrolment_id", "enrolments", "departure_enrolment_exists"
    )


@rule(
    "departure_enrolment_same_client",
    "departures",
    ("departures.enrolment_id", "departures.client_id", "enrolments.client_id"),
    "A departure's enrolment belongs to the same client as the departure.",
)
def _departure_same_client(ctx: Context) -> list[Problem]:
    df = ctx.tables["departures"]
    owner = _client_of_enrolment(ctx, df["enrolment_id"])
    bad = owner.notna() & df["client_id"].notna() & (owner != df["client_id"])
    if "clients" in ctx.tables and "client_id" in ctx.tables["clients"]:
        # a client missing from clients is reported once, by departure_client_exists
        bad &= _member(df["client_id"], ctx.tables["clients"]["client_id"])
    return [
        Problem(
            "departures",
            "enrolment_id",
            int(row),
            "departure_enrolment_same_client",
            f"{where(ctx.file('departures'), row, 'enrolment_id')}: enrolment "
            f"{show(df.at[row, 'enrolment_id'])} belongs to another client than this departure",
            str(df.at[row, "enrolment_id"]),
        )
        for row in df.index[bad]
    ]


@rule(
    "departure_after_enrolment",
    "departures",
    ("departures.client_id", "departures.departure_date", "enrolments.enrolment_date"),
    "A departure is on or after its enrolment (or, without one, the client's first enrolment).",
)
def _departure_order(ctx: Context) -> list[Problem]:
    df = ctx.tables["departures"]
    enr = ctx.tables["enrolments"].dropna(subset=["client_id", "enrolment_date"])
    first = enr.groupby("client_id")["enrolment_date"].min()
    start = _lookup(df["client_id"], first)
    if "enrolment_id" in df.columns:
        own = _date_of_enrolment(ctx, df["enrolment_id"])
        start = own.where(own.notna(), start)
    return _before(
        ctx,
        "departures",
        "departure_date",
        df["departure_date"],
        start,
        "departure_after_enrolment",
        "the enrolment date",
    )


@rule(
    "departure_after_referral",
    "departures",
    (
        "departures.client_id",
        "departures.departure_date",
        "referrals.enrolment_id",
        "referrals.referral_date",
        "enrolments.client_id",
    ),
    "A departure is on or after the client's first referral, if the client was referred.",
)
def _departure_after_referral(ctx: Context) -> list[Problem]:
    df = ctx.tables["departures"]
    ref = ctx.tables["referrals"]
    client = _client_of_enrolment(ctx, ref["enrolment_id"])
    first = ref.assign(client_id=client).dropna(subset=["client_id", "referral_date"])
    first = first.groupby("client_id")["referral_date"].min()
    return _before(
        ctx,
        "departures",
        "departure_date",
        df["departure_date"],
        _lookup(df["client_id"], first),
        "departure_after_referral",
        "the client's first referral date",
    )


@rule(
    "one_verified_departure_per_client",
    "departures",
    ("departures.client_id", "departures.departure_type", "departures.verification"),
    "A client has at most one verified return (independent_verified and not unverified).",
)
def _one_verified(ctx: Context) -> list[Problem]:
    df = ctx.tables["departures"]
    verified = df[_verified(df) & df["client_id"].notna()]
    dup = verified["client_id"].duplicated(keep="first")
    return [
        Problem(
            "departures",
            "client_id",
            int(row),
            "one_verified_departure_per_client",
            f"{where(ctx.file('departures'), row, None)}: this client already has a verified "
            "departure in an earlier row; a client returns (verified) at most once",
        )
        for row in verified.index[dup]
    ]


# --------------------------------------------------------------------------- support


@rule(
    "support_client_exists",
    "support",
    ("support.client_id", "clients.client_id"),
    "Every support item belongs to a client listed in clients.",
)
def _support_client(ctx: Context) -> list[Problem]:
    return _ids_missing(ctx, "support", "client_id", "clients", "support_client_exists")


@rule(
    "support_client_departed",
    "support",
    ("support.client_id", "departures.client_id"),
    "Reintegration support goes only to clients with a departure.",
)
def _support_departed(ctx: Context) -> list[Problem]:
    df = ctx.tables["support"]
    departed = ctx.tables["departures"]["client_id"]
    bad = df["client_id"].notna() & ~_member(df["client_id"], departed)
    if "clients" in ctx.tables and "client_id" in ctx.tables["clients"]:
        # unknown clients are reported once, by support_client_exists
        bad &= _member(df["client_id"], ctx.tables["clients"]["client_id"])
    return [
        Problem(
            "support",
            "client_id",
            int(row),
            "support_client_departed",
            f"{where(ctx.file('support'), row, None)}: support for a client without a departure",
        )
        for row in df.index[bad]
    ]


@rule(
    "support_after_departure",
    "support",
    ("support.client_id", "support.support_date", "departures.departure_date"),
    "Support is given on or after the client's (first) departure.",
)
def _support_order(ctx: Context) -> list[Problem]:
    df = ctx.tables["support"]
    dep = ctx.tables["departures"].dropna(subset=["client_id", "departure_date"])
    first = dep.groupby("client_id")["departure_date"].min()
    return _before(
        ctx,
        "support",
        "support_date",
        df["support_date"],
        _lookup(df["client_id"], first),
        "support_after_departure",
        "the departure date",
    )


# --------------------------------------------------------------------------- monitoring


@rule(
    "monitoring_client_exists",
    "monitoring",
    ("monitoring.client_id", "clients.client_id"),
    "Every monitoring contact belongs to a client listed in clients.",
)
def _monitoring_client(ctx: Context) -> list[Problem]:
    return _ids_missing(ctx, "monitoring", "client_id", "clients", "monitoring_client_exists")


def _verified_dates(ctx: Context) -> pd.Series:
    dep = ctx.tables["departures"]
    dep = dep[_verified(dep)].dropna(subset=["client_id", "departure_date"])
    return dep.groupby("client_id")["departure_date"].min()


@rule(
    "monitoring_needs_verified_departure",
    "monitoring",
    (
        "monitoring.client_id",
        "departures.client_id",
        "departures.departure_type",
        "departures.verification",
        "departures.departure_date",
    ),
    "Only clients with a verified departure are monitored after return.",
)
def _monitoring_verified(ctx: Context) -> list[Problem]:
    df = ctx.tables["monitoring"]
    verified = _verified_dates(ctx)
    bad = df["client_id"].notna() & ~_member(df["client_id"], verified.index)
    if "clients" in ctx.tables and "client_id" in ctx.tables["clients"]:
        bad &= _member(df["client_id"], ctx.tables["clients"]["client_id"])
    return [
        Problem(
            "monitoring",
            "client_id",
            int(row),
            "monitoring_needs_verified_departure",
            f"{where(ctx.file('monitoring'), row, None)}: contact with a client who has no "
            "verified departure",
        )
        for row in df.index[bad]
    ]


@rule(
    "monitoring_after_departure",
    "monitoring",
    (
        "monitoring.client_id",
        "monitoring.contact_date",
        "departures.departure_type",
        "departures.verification",
        "departures.departure_date",
    ),
    "A monitoring contact is on or after the client's verified departure.",
)
def _monitoring_order(ctx: Context) -> list[Problem]:
    df = ctx.tables["monitoring"]
    return _before(
        ctx,
        "monitoring",
        "contact_date",
        df["contact_date"],
        _lookup(df["client_id"], _verified_dates(ctx)),
        "monitoring_after_departure",
        "the verified departure date",
    )


@rule(
    "not_reached_reason_iff_not_reached",
    "monitoring",
    ("monitoring.reached", "monitoring.not_reached_reason"),
    "not_reached_reason is filled in exactly when the client was not reached.",
)
def _not_reached_reason(ctx: Context) -> list[Problem]:
    df = ctx.tables["monitoring"]
    reached = df["reached"].astype("boolean")
    missing = (reached == False) & df["not_reached_reason"].isna()  # noqa: E712 (NA-aware)
    extra = (reached == True) & df["not_reached_reason"].notna()  # noqa: E712
    file = ctx.file("monitoring")
    out = [
        Problem(
            "monitoring",
            "not_reached_reason",
            int(row),
            "not_reached_reason_iff_not_reached",
            f"{where(file, row, 'not_reached_reason')}: empty, but the client was not reached",
        )
        for row in df.index[missing.fillna(False)]
    ]
    out += [
        Problem(
            "monitoring",
            "not_reached_reason",
            int(row),
            "not_reached_reason_iff_not_reached",
            f"{where(file, row, 'not_reached_reason')}: {show(df.at[row, 'not_reached_reason'])} "
            "given, but the client was reached",
            str(df.at[row, "not_reached_reason"]),
        )
        for row in df.index[extra.fillna(False)]
    ]
    return out


_OUTCOMES = ("residence_status", "livelihood", "rss_economic", "rss_social", "rss_psychosocial")


@rule(
    "no_outcome_when_not_reached",
    "monitoring",
    ("monitoring.reached",),
    "A contact where the client was not reached records no residence status, livelihood or RSS.",
)
def _no_outcome(ctx: Context) -> list[Problem]:
    df = ctx.tables["monitoring"]
    not_reached = (df["reached"].astype("boolean") == False).fillna(False)  # noqa: E712
    out = []
    for col in (c for c in _OUTCOMES if c in df.columns):
        for row in df.index[not_reached & df[col].notna()]:
            out.append(
                Problem(
                    "monitoring",
                    col,
                    int(row),
                    "no_outcome_when_not_reached",
                    f"{where(ctx.file('monitoring'), row, col)}: {show(df.at[row, col])} "
                    "recorded, but the client was not reached",
                    show(df.at[row, col]),
                )
            )
    return out


# --------------------------------------------------------------------------- published figures


@rule(
    "period_order",
    "published_figures",
    ("published_figures.period_start", "published_figures.period_end"),
    "A figure's period ends on or after it starts.",
)
def _period_order(ctx: Context) -> list[Problem]:
    df = ctx.tables["published_figures"]
    return _before(
        ctx,
        "published_figures",
        "period_end",
        df["period_end"],
        df["period_start"],
        "period_order",
        "period_start",
    )


# --------------------------------------------------------------------------- cut-off and periods

CASE_DATES: dict[str, tuple[str, ...]] = {
    "enrolments": ("enrolment_date", "reintegration_plan_date", "exit_date"),
    "sessions": ("session_date",),
    "referrals": ("referral_date",),
    "departures": ("departure_date",),
    "support": ("support_date",),
    "monitoring": ("contact_date",),
}


def cutoffs_of(cfg: object) -> dict[str, tuple[dt.date, str]]:
    """Per project id the data cut-off and the evaluation.yml key that sets it; '*' = data.cutoff
    (for records of projects the run does not evaluate)."""
    default = cfg.cutoff  # type: ignore[attr-defined]
    out = {"*": (default, "data.cutoff")}
    for p in cfg.projects:  # type: ignore[attr-defined]
        own = p.cutoff or default
        out[p.id] = (own, f"projects[{p.id}].cutoff" if own != default else "data.cutoff")
    return out


def _row_cutoffs(ctx: Context, table: str) -> tuple[pd.Series, pd.Series]:
    """The cut-off that applies to each row (its project's, via its enrolment or, for records
    of a client, the latest of the client's projects) and the setting that defines it."""
    cutoffs = ctx.cutoff or {}
    default = cutoffs.get("*")
    df = ctx.tables[table]
    enr = ctx.tables.get("enrolments")
    project = pd.Series(None, index=df.index, dtype=object)
    if enr is not None and {"enrolment_id", "project"} <= set(enr.columns):
        if "enrolment_id" in df.columns:
            by_id = enr.drop_duplicates("enrolment_id").set_index("enrolment_id")["project"]
            project = _lookup(df["enrolment_id"], by_id).astype(object)
        if "client_id" in df.columns and "client_id" in enr.columns:
            rank = {p: c for p, (c, _) in cutoffs.items()}
            latest = (
                enr.dropna(subset=["client_id", "project"])
                .assign(_c=lambda e: e["project"].map(rank))
                .sort_values("_c", na_position="first")
                .drop_duplicates("client_id", keep="last")
                .set_index("client_id")["project"]
            )
            project = project.where(project.notna(), _lookup(df["client_id"], latest))
    pairs = project.map(lambda p: cutoffs.get(p, default) if isinstance(p, str) else default)
    dates = pd.to_datetime(pairs.map(lambda c: c[0] if c else None))
    keys = pairs.map(lambda c: c[1] if c else "")
    return dates, keys


def _after_cutoff(table: str) -> Callable[[Context], list[Problem]]:
    def check(ctx: Context) -> list[Problem]:
        if not ctx.cutoff:
            return []
        df, out = ctx.tables[table], []
        cut, key = _row_cutoffs(ctx, table)
        for col in (c for c in CASE_DATES[table] if c in df.columns):
            dates = df[col]
            for row in dates.index[dates.notna() & cut.notna() & (dates > cut)]:
                out.append(
                    Problem(
                        table,
                        col,
                        int(row),
                        "on_or_before_cutoff",
                        f"{where(ctx.file(table), row, col)}: {show(dates[row])} is after the "
                        f"data cut-off {show(cut[row])} (set as {key[row]} in evaluation.yml); "
                        "an event after the cut-off cannot be known yet (a typing error, or set "
                        "a later cut-off)",
                        show(dates[row]),
                    )
                )
        return out

    return check


for _table, _cols in CASE_DATES.items():
    rule(
        "on_or_before_cutoff",
        _table,
        (f"{_table}.{_cols[0]}",),
        "Every date lies on or before the data cut-off (data.cutoff in evaluation.yml, or the "
        "project's own cutoff).",
    )(_after_cutoff(_table))


def _project_end_of(ctx: Context, enrolment_ids: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Project and configured end date of each row's enrolment (NaT when unknown)."""
    enr = ctx.tables["enrolments"].drop_duplicates("enrolment_id").set_index("enrolment_id")
    project = _lookup(enrolment_ids, enr["project"])
    ends = {p: pd.Timestamp(e) for p, (_, e) in (ctx.periods or {}).items()}
    end = pd.to_datetime(project.map(ends), errors="coerce")
    return project, end


def _after_project_end(table: str, column: str, id_column: str) -> Callable:
    def check(ctx: Context) -> list[Problem]:
        if not ctx.periods:
            return []
        df = ctx.tables[table]
        project, end = _project_end_of(ctx, df[id_column])
        dates = df[column]
        bad = dates.notna() & end.notna() & (dates > end)
        return [
            Problem(
                table,
                column,
                int(row),
                "in_project_period",
                f"{where(ctx.file(table), row, column)}: {show(dates[row])} is after the end of "
                f"project {show(project[row])} ({show(end[row])}, its 'end' in evaluation.yml)",
                show(dates[row]),
            )
            for row in dates.index[bad]
        ]

    return check


for _table, _col in (
    ("sessions", "session_date"),
    ("referrals", "referral_date"),
    ("enrolments", "reintegration_plan_date"),
):
    rule(
        "in_project_period",
        _table,
        (f"{_table}.{_col}", f"{_table}.enrolment_id", "enrolments.project"),
        "Sessions, referrals and reintegration plans fall inside their project's period "
        "(start and end in evaluation.yml).",
    )(_after_project_end(_table, _col, "enrolment_id"))


@rule(
    "project_observable",
    "enrolments",
    ("enrolments.project",),
    "Every configured project starts on or before the data cut-off; otherwise nothing of it "
    "can be observed.",
)
def _project_observable(ctx: Context) -> list[Problem]:
    if not ctx.cutoff or not ctx.periods:
        return []
    out = []
    for project, (start, _) in sorted(ctx.periods.items()):
        cutoff, key = ctx.cutoff.get(project, ctx.cutoff.get("*", (None, "")))
        if cutoff is not None and start > cutoff:
            out.append(
                Problem(
                    "enrolments",
                    None,
                    None,
                    "project_observable",
                    f"project {project} starts on {show(start)}, after the data cut-off "
                    f"{show(cutoff)} (set as {key} in evaluation.yml): none of its records can "
                    "be known, so it cannot be evaluated; set a later cut-off or leave the "
                    "project out",
                )
            )
    return out
