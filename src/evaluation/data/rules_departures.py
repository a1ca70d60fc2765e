"""Cross-table rules on departures and the support that follows them."""

from __future__ import annotations

import pandas as pd

from evaluation.data.problems import Problem, show
from evaluation.data.rule_base import (
    Context,
    Rule,
    client_of_enrolment,
    client_without_rule,
    date_of_enrolment,
    exists_rule,
    first_per_client,
    is_verified,
    known_client,
    lookup,
    order_rule,
    row_problems,
)


def _enrolment_or_first(ctx: Context, df: pd.DataFrame) -> pd.Series:
    """The date of the departure's enrolment or, without one, of the client's first enrolment."""
    start = lookup(df["client_id"], first_per_client(ctx.tables["enrolments"], "enrolment_date"))
    if "enrolment_id" in df.columns:
        own = date_of_enrolment(ctx, df["enrolment_id"])
        start = own.where(own.notna(), start)
    return start


def _first_referral(ctx: Context, df: pd.DataFrame) -> pd.Series:
    """The date of the client's first referral (through any of the client's enrolments)."""
    ref = ctx.tables["referrals"]
    client = client_of_enrolment(ctx, ref["enrolment_id"])
    return lookup(df["client_id"], first_per_client(ref.assign(client_id=client), "referral_date"))


def _first_departure(ctx: Context, df: pd.DataFrame) -> pd.Series:
    """The date of the client's first departure."""
    return lookup(df["client_id"], first_per_client(ctx.tables["departures"], "departure_date"))


def _departure_same_client(ctx: Context) -> list[Problem]:
    df = ctx.tables["departures"]
    owner = client_of_enrolment(ctx, df["enrolment_id"])
    bad = owner.notna() & df["client_id"].notna() & (owner != df["client_id"])
    bad &= known_client(ctx, df["client_id"])
    return row_problems(
        ctx,
        "departures",
        "enrolment_id",
        "departure_enrolment_same_client",
        df.index[bad],
        lambda row: (
            f"enrolment {show(df.at[row, 'enrolment_id'])} belongs to another client "
            "than this departure"
        ),
        lambda row: str(df.at[row, "enrolment_id"]),
    )


def _one_verified(ctx: Context) -> list[Problem]:
    df = ctx.tables["departures"]
    verified = df[is_verified(df) & df["client_id"].notna()]
    dup = verified["client_id"].duplicated(keep="first")
    return row_problems(
        ctx,
        "departures",
        "client_id",
        "one_verified_departure_per_client",
        verified.index[dup],
        lambda row: (
            "this client already has a verified departure in an earlier row; a client "
            "returns (verified) at most once"
        ),
        whole_row=True,
    )


RULES: list[Rule] = [
    # ------------------------------------------------------------------------ departures
    exists_rule(
        "departure_client_exists",
        "departures",
        "client_id",
        "clients",
        "Every departure belongs to a client listed in clients.",
    ),
    exists_rule(
        "departure_enrolment_exists",
        "departures",
        "enrolment_id",
        "enrolments",
        "A departure's enrolment, when given, is listed in enrolments.",
    ),
    Rule(
        "departure_enrolment_same_client",
        "departures",
        ("departures.enrolment_id", "departures.client_id", "enrolments.client_id"),
        "A departure's enrolment belongs to the same client as the departure.",
        _departure_same_client,
    ),
    order_rule(
        "departure_after_enrolment",
        "departures",
        "departure_date",
        _enrolment_or_first,
        "the enrolment date",
        ("departures.client_id", "departures.departure_date", "enrolments.enrolment_date"),
        "A departure is on or after its enrolment (or, without one, the client's first enrolment).",
    ),
    order_rule(
        "departure_after_referral",
        "departures",
        "departure_date",
        _first_referral,
        "the client's first referral date",
        (
            "departures.client_id",
            "departures.departure_date",
            "referrals.enrolment_id",
            "referrals.referral_date",
            "enrolments.client_id",
        ),
        "A departure is on or after the client's first referral, if the client was referred.",
    ),
    Rule(
        "one_verified_departure_per_client",
        "departures",
        ("departures.client_id", "departures.departure_type", "departures.verification"),
        "A client has at most one verified return (independent_verified and not unverified).",
        _one_verified,
    ),
    # ------------------------------------------------------------------------ support
    exists_rule(
        "support_client_exists",
        "support",
        "client_id",
        "clients",
        "Every support item belongs to a client listed in clients.",
    ),
    client_without_rule(
        "support_client_departed",
        "support",
        lambda ctx: ctx.tables["departures"]["client_id"],
        "support for a client without a departure",
        ("support.client_id", "departures.client_id"),
        "Reintegration support goes only to clients with a departure.",
    ),
    order_rule(
        "support_after_departure",
        "support",
        "support_date",
        _first_departure,
        "the departure date",
        ("support.client_id", "support.support_date", "departures.departure_date"),
        "Support is given on or after the client's (first) departure.",
    ),
]
