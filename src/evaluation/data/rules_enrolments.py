"""Cross-table rules on enrolments, sessions and referrals."""

from __future__ import annotations

import pandas as pd

from evaluation.data.problems import Problem, show, where
from evaluation.data.rule_base import (
    Context,
    Rule,
    enrolment_start,
    exists_rule,
    order_rule,
    row_problems,
    same_row,
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


def _exit_reason(ctx: Context) -> list[Problem]:
    df = ctx.tables["enrolments"]
    bad = df["exit_date"].notna() & df["exit_reason"].isna()
    return row_problems(
        ctx,
        "enrolments",
        "exit_reason",
        "exit_reason_when_exited",
        df.index[bad],
        lambda row: f"empty, but the enrolment has an exit date ({show(df.at[row, 'exit_date'])})",
    )


RULES: list[Rule] = [
    # ------------------------------------------------------------------------ enrolments
    exists_rule(
        "enrolment_client_exists",
        "enrolments",
        "client_id",
        "clients",
        "Every enrolment belongs to a client listed in clients.",
    ),
    Rule(
        "enrolment_in_project_period",
        "enrolments",
        ("enrolments.project", "enrolments.enrolment_date"),
        "The enrolment date lies inside the project's period (evaluation.yml).",
        _enrolment_period,
    ),
    order_rule(
        "exit_after_enrolment",
        "enrolments",
        "exit_date",
        same_row("enrolment_date"),
        "the enrolment date",
        ("enrolments.exit_date", "enrolments.enrolment_date"),
        "An enrolment ends on or after the day it started.",
    ),
    Rule(
        "exit_reason_when_exited",
        "enrolments",
        ("enrolments.exit_date", "enrolments.exit_reason"),
        "An enrolment with an exit date says why it ended (exit_reason).",
        _exit_reason,
    ),
    order_rule(
        "plan_after_enrolment",
        "enrolments",
        "reintegration_plan_date",
        same_row("enrolment_date"),
        "the enrolment date",
        ("enrolments.reintegration_plan_date", "enrolments.enrolment_date"),
        "A reintegration plan is made on or after the enrolment date.",
    ),
    # ------------------------------------------------------------------------ sessions, referrals
    exists_rule(
        "session_enrolment_exists",
        "sessions",
        "enrolment_id",
        "enrolments",
        "Every session belongs to an enrolment listed in enrolments.",
    ),
    order_rule(
        "session_after_enrolment",
        "sessions",
        "session_date",
        enrolment_start,
        "the enrolment date",
        ("sessions.enrolment_id", "sessions.session_date", "enrolments.enrolment_date"),
        "A session takes place on or after the enrolment date.",
    ),
    exists_rule(
        "referral_enrolment_exists",
        "referrals",
        "enrolment_id",
        "enrolments",
        "Every referral comes from an enrolment listed in enrolments.",
    ),
    order_rule(
        "referral_after_enrolment",
        "referrals",
        "referral_date",
        enrolment_start,
        "the enrolment date",
        ("referrals.enrolment_id", "referrals.referral_date", "enrolments.enrolment_date"),
        "A referral is made on or after the date of the enrolment that made it.",
    ),
]
