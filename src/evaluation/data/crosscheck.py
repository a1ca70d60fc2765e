"""Rules that need Python: across tables or across columns. Each is named in the YAML metadata.

Every rule gets the typed tables (index = source row numbers) and returns Problems. A rule is
skipped when a table or column it needs is absent (that absence is already reported), and rows
whose key values are empty are left to the required-value checks. The rules themselves live in
rules_enrolments, rules_departures, rules_monitoring and rules_cutoff; this module runs them.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from evaluation.data import rules_cutoff, rules_departures, rules_enrolments, rules_monitoring
from evaluation.data.problems import Problem
from evaluation.data.rule_base import Context, Rule

RULES: list[Rule] = [
    *rules_enrolments.RULES,
    *rules_departures.RULES,
    *rules_monitoring.RULES,
    *rules_cutoff.RULES,
]


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
