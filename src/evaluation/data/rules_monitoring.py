"""Cross-table rules on monitoring contacts after return, and on published figures."""

from __future__ import annotations

import pandas as pd

from evaluation.data.problems import Problem, show, where
from evaluation.data.rule_base import (
    Context,
    Rule,
    dates_before,
    ids_missing,
    is_verified,
    lookup,
    member,
    registrar,
)

RULES: list[Rule] = []
rule = registrar(RULES)


# --------------------------------------------------------------------------- monitoring


@rule(
    "monitoring_client_exists",
    "monitoring",
    ("monitoring.client_id", "clients.client_id"),
    "Every monitoring contact belongs to a client listed in clients.",
)
def _monitoring_client(ctx: Context) -> list[Problem]:
    return ids_missing(ctx, "monitoring", "client_id", "clients", "monitoring_client_exists")


def _verified_dates(ctx: Context) -> pd.Series:
    dep = ctx.tables["departures"]
    dep = dep[is_verified(dep)].dropna(subset=["client_id", "departure_date"])
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
    bad = df["client_id"].notna() & ~member(df["client_id"], verified.index)
    if "clients" in ctx.tables and "client_id" in ctx.tables["clients"]:
        bad &= member(df["client_id"], ctx.tables["clients"]["client_id"])
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
    return dates_before(
        ctx,
        "monitoring",
        "contact_date",
        df["contact_date"],
        lookup(df["client_id"], _verified_dates(ctx)),
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
    return dates_before(
        ctx,
        "published_figures",
        "period_end",
        df["period_end"],
        df["period_start"],
        "period_order",
        "period_start",
    )
