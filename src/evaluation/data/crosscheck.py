"""Rules that need Python: across tables or across columns. Each is named in the YAML metadata.

Every rule gets the typed tables (index = source row numbers) and returns Problems. A rule is
skipped when a table or column it needs is absent (that absence is already reported), and rows
whose key values are empty are left to the required-value checks. The rules themselves live in
rules_enrolments, rules_departures, rules_monitoring and rules_cutoff; this module runs them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

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


# identifiers that rules look up across tables
SHARED_IDS = ("client_id", "enrolment_id")


def encode_ids(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The tables with each shared identifier column as a categorical whose categories are the
    same in every table: a look-up or membership test across tables then compares integer
    codes instead of hashing the text again in every rule."""
    from evaluation.data.threads import each

    def factorized(col: str) -> tuple[str, list[str], Any, Any]:
        names = [n for n, df in tables.items() if col in df and _is_text(df[col])]
        if not names:
            return col, names, None, None
        joined = pd.concat([tables[n][col] for n in names], ignore_index=True)
        return col, names, *pd.factorize(joined, use_na_sentinel=True)

    out = dict(tables)
    for col, names, codes, categories in each(factorized, SHARED_IDS):  # Arrow hashes
        if not names:
            continue
        dtype = pd.CategoricalDtype(pd.Index(categories))
        start = 0
        for n in names:
            part = pd.Categorical.from_codes(codes[start : start + len(out[n])], dtype=dtype)
            out[n] = out[n].assign(**{col: pd.Series(part, index=out[n].index)})
            start += len(out[n])
    return out


def _is_text(values: pd.Series) -> bool:
    return isinstance(values.dtype, pd.StringDtype)


def run_rules(
    tables: dict[str, pd.DataFrame],
    files: dict[str, str],
    periods: dict[str, tuple[dt.date, dt.date]] | None,
    cutoff: dt.date | dict[str, tuple[dt.date, str]] | None = None,
    encoded: dict[str, pd.DataFrame] | None = None,
) -> list[Problem]:
    """Run every rule whose tables and columns are present.

    cutoff: one data cut-off for every project, or per project id (and '*' for the rest) the
    cut-off with the evaluation.yml key that sets it (see cutoffs_of). encoded: encode_ids(tables)
    when the caller made it already.
    """
    if isinstance(cutoff, dt.date):
        cutoff = {"*": (cutoff, "data.cutoff")}
    ctx = Context(encode_ids(tables) if encoded is None else encoded, files, periods, cutoff)
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
