"""Cross-table rules on monitoring contacts after return, and on published figures."""

from __future__ import annotations

import pandas as pd

from evaluation.data.problems import Problem, show
from evaluation.data.rule_base import (
    Context,
    Rule,
    client_without_rule,
    exists_rule,
    first_per_client,
    is_verified,
    lookup,
    order_rule,
    row_problems,
    same_row,
)


def _verified_dates(ctx: Context) -> pd.Series:
    """Per client the date of the first verified departure."""
    dep = ctx.tables["departures"]
    return first_per_client(dep[is_verified(dep)], "departure_date")


def _verified_departure(ctx: Context, df: pd.DataFrame) -> pd.Series:
    return lookup(df["client_id"], _verified_dates(ctx))


def _not_reached_reason(ctx: Context) -> list[Problem]:
    df = ctx.tables["monitoring"]
    reached = df["reached"].astype("boolean")
    missing = (reached == False) & df["not_reached_reason"].isna()  # noqa: E712 (NA-aware)
    extra = (reached == True) & df["not_reached_reason"].notna()  # noqa: E712
    rule = ("monitoring", "not_reached_reason", "not_reached_reason_iff_not_reached")
    return row_problems(
        ctx,
        *rule,
        df.index[missing.fillna(False)],
        lambda row: "empty, but the client was not reached",
    ) + row_problems(
        ctx,
        *rule,
        df.index[extra.fillna(False)],
        lambda row: f"{show(df.at[row, 'not_reached_reason'])} given, but the client was reached",
        lambda row: str(df.at[row, "not_reached_reason"]),
    )


_OUTCOMES = ("residence_status", "livelihood", "rss_economic", "rss_social", "rss_psychosocial")


def _no_outcome(ctx: Context) -> list[Problem]:
    df = ctx.tables["monitoring"]
    not_reached = (df["reached"].astype("boolean") == False).fillna(False)  # noqa: E712
    out: list[Problem] = []
    for col in (c for c in _OUTCOMES if c in df.columns):
        values = df[col]
        out += row_problems(
            ctx,
            "monitoring",
            col,
            "no_outcome_when_not_reached",
            df.index[not_reached & values.notna()],
            lambda row, v=values: f"{show(v[row])} recorded, but the client was not reached",
            lambda row, v=values: show(v[row]),
        )
    return out


RULES: list[Rule] = [
    # ------------------------------------------------------------------------ monitoring
    exists_rule(
        "monitoring_client_exists",
        "monitoring",
        "client_id",
        "clients",
        "Every monitoring contact belongs to a client listed in clients.",
    ),
    client_without_rule(
        "monitoring_needs_verified_departure",
        "monitoring",
        lambda ctx: _verified_dates(ctx).index,
        "contact with a client who has no verified departure",
        (
            "monitoring.client_id",
            "departures.client_id",
            "departures.departure_type",
            "departures.verification",
            "departures.departure_date",
        ),
        "Only clients with a verified departure are monitored after return.",
    ),
    order_rule(
        "monitoring_after_departure",
        "monitoring",
        "contact_date",
        _verified_departure,
        "the verified departure date",
        (
            "monitoring.client_id",
            "monitoring.contact_date",
            "departures.departure_type",
            "departures.verification",
            "departures.departure_date",
        ),
        "A monitoring contact is on or after the client's verified departure.",
    ),
    Rule(
        "not_reached_reason_iff_not_reached",
        "monitoring",
        ("monitoring.reached", "monitoring.not_reached_reason"),
        "not_reached_reason is filled in exactly when the client was not reached.",
        _not_reached_reason,
    ),
    Rule(
        "no_outcome_when_not_reached",
        "monitoring",
        ("monitoring.reached",),
        "A contact where the client was not reached records no residence status, livelihood or "
        "RSS.",
        _no_outcome,
    ),
    # ------------------------------------------------------------------------ published figures
    order_rule(
        "period_order",
        "published_figures",
        "period_end",
        same_row("period_start"),
        "period_start",
        ("published_figures.period_start", "published_figures.period_end"),
        "A figure's period ends on or after it starts.",
    ),
]
