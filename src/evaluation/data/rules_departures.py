"""Cross-table rules on departures and the support that follows them."""

from __future__ import annotations

from evaluation.data.problems import Problem, show, where
from evaluation.data.rule_base import (
    Context,
    Rule,
    client_of_enrolment,
    date_of_enrolment,
    dates_before,
    ids_missing,
    is_verified,
    lookup,
    member,
    registrar,
)

RULES: list[Rule] = []
rule = registrar(RULES)


# --------------------------------------------------------------------------- departures


@rule(
    "departure_client_exists",
    "departures",
    ("departures.client_id", "clients.client_id"),
    "Every departure belongs to a client listed in clients.",
)
def _departure_client(ctx: Context) -> list[Problem]:
    return ids_missing(ctx, "departures", "client_id", "clients", "departure_client_exists")


@rule(
    "departure_enrolment_exists",
    "departures",
    ("departures.enrolment_id", "enrolments.enrolment_id"),
    "A departure's enrolment, when given, is listed in enrolments.",
)
def _departure_enrolment(ctx: Context) -> list[Problem]:
    return ids_missing(
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
    owner = client_of_enrolment(ctx, df["enrolment_id"])
    bad = owner.notna() & df["client_id"].notna() & (owner != df["client_id"])
    if "clients" in ctx.tables and "client_id" in ctx.tables["clients"]:
        # a client missing from clients is reported once, by departure_client_exists
        bad &= member(df["client_id"], ctx.tables["clients"]["client_id"])
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
    start = lookup(df["client_id"], first)
    if "enrolment_id" in df.columns:
        own = date_of_enrolment(ctx, df["enrolment_id"])
        start = own.where(own.notna(), start)
    return dates_before(
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
    client = client_of_enrolment(ctx, ref["enrolment_id"])
    first = ref.assign(client_id=client).dropna(subset=["client_id", "referral_date"])
    first = first.groupby("client_id")["referral_date"].min()
    return dates_before(
        ctx,
        "departures",
        "departure_date",
        df["departure_date"],
        lookup(df["client_id"], first),
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
    verified = df[is_verified(df) & df["client_id"].notna()]
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
    return ids_missing(ctx, "support", "client_id", "clients", "support_client_exists")


@rule(
    "support_client_departed",
    "support",
    ("support.client_id", "departures.client_id"),
    "Reintegration support goes only to clients with a departure.",
)
def _support_departed(ctx: Context) -> list[Problem]:
    df = ctx.tables["support"]
    departed = ctx.tables["departures"]["client_id"]
    bad = df["client_id"].notna() & ~member(df["client_id"], departed)
    if "clients" in ctx.tables and "client_id" in ctx.tables["clients"]:
        # unknown clients are reported once, by support_client_exists
        bad &= member(df["client_id"], ctx.tables["clients"]["client_id"])
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
    return dates_before(
        ctx,
        "support",
        "support_date",
        df["support_date"],
        lookup(df["client_id"], first),
        "support_after_departure",
        "the departure date",
    )
