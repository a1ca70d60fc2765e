"""Cross-table rules on enrolments, sessions and referrals."""

from __future__ import annotations

import pandas as pd

from evaluation.data.problems import Problem, show, where
from evaluation.data.rule_base import (
    Context,
    Rule,
    date_of_enrolment,
    dates_before,
    ids_missing,
    registrar,
)

RULES: list[Rule] = []
rule = registrar(RULES)


# --------------------------------------------------------------------------- enrolments


@rule(
    "enrolment_client_exists",
    "enrolments",
    ("enrolments.client_id", "clients.client_id"),
    "Every enrolment belongs to a client listed in clients.",
)
def _enrolment_client(ctx: Context) -> list[Problem]:
    return ids_missing(ctx, "enrolments", "client_id", "clients", "enrolment_client_exists")


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
    return dates_before(
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
    return dates_before(
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
    return ids_missing(ctx, "sessions", "enrolment_id", "enrolments", "session_enrolment_exists")


@rule(
    "session_after_enrolment",
    "sessions",
    ("sessions.enrolment_id", "sessions.session_date", "enrolments.enrolment_date"),
    "A session takes place on or after the enrolment date.",
)
def _session_order(ctx: Context) -> list[Problem]:
    df = ctx.tables["sessions"]
    start = date_of_enrolment(ctx, df["enrolment_id"])
    return dates_before(
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
    return ids_missing(ctx, "referrals", "enrolment_id", "enrolments", "referral_enrolment_exists")


@rule(
    "referral_after_enrolment",
    "referrals",
    ("referrals.enrolment_id", "referrals.referral_date", "enrolments.enrolment_date"),
    "A referral is made on or after the date of the enrolment that made it.",
)
def _referral_order(ctx: Context) -> list[Problem]:
    df = ctx.tables["referrals"]
    start = date_of_enrolment(ctx, df["enrolment_id"])
    return dates_before(
        ctx,
        "referrals",
        "referral_date",
        df["referral_date"],
        start,
        "referral_after_enrolment",
        "the enrolment date",
    )
