"""Rules on time: nothing recorded after the data cut-off or after its project's end."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import numpy as np
import pandas as pd

from evaluation.data.problems import Problem, show
from evaluation.data.rule_base import (
    Context,
    Rule,
    enrolments_by_id,
    lookup,
    registrar,
    row_problems,
)

RULES: list[Rule] = []
rule = registrar(RULES)


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
            project = lookup(df["enrolment_id"], enrolments_by_id(ctx)["project"])
        if "client_id" in df.columns and "client_id" in enr.columns:
            latest = ctx.shared("latest_project", lambda: _latest_project(enr, cutoffs))
            project = project.where(project.notna(), lookup(df["client_id"], latest))
    # a handful of projects: look each up once, then spread over the rows (NA: the default)
    codes, uniques = pd.factorize(project, use_na_sentinel=True)
    pairs = [cutoffs.get(p, default) if isinstance(p, str) else default for p in uniques]
    pairs.append(default)
    first, second = np.empty(len(pairs), dtype=object), np.empty(len(pairs), dtype=object)
    for i, c in enumerate(pairs):
        first[i], second[i] = (c[0], c[1]) if c else (None, "")
    per_code = pd.to_datetime(pd.Series(first)).to_numpy()
    dates = pd.Series(per_code[codes], index=project.index, name=project.name)
    keys = pd.Series(second[codes], index=project.index, name=project.name, dtype=object)
    return dates, keys


def _latest_project(enr: pd.DataFrame, cutoffs: dict[str, tuple[dt.date, str]]) -> pd.Series:
    """Per client a project (of the client's enrolments) with the latest cut-off.

    Only the cut-off and its setting matter to the rules: when a client's latest projects all
    share them, the last such row is taken without sorting; when they differ (two projects
    with the same cut-off set by different settings), the original sort breaks the tie.
    """
    rank = {p: c for p, (c, _) in cutoffs.items()}
    known = enr.dropna(subset=["client_id", "project"])
    codes, projects = pd.factorize(known["project"])
    ranks = [rank.get(p) for p in projects]  # None: not configured, sorted first
    order = {r: i for i, r in enumerate(sorted({r for r in ranks if r is not None}))}
    per_project = np.array([-1 if r is None else order[r] for r in ranks], dtype=np.int64)
    setting = [str(cutoffs.get(p, cutoffs.get("*"))) for p in projects]
    same_setting = pd.factorize(pd.Series(setting, dtype=object))[0]
    rows = pd.DataFrame(
        {
            "client": pd.factorize(known["client_id"])[0],
            "rank": per_project[codes],
            "setting": same_setting[codes] if len(codes) else codes,
        }
    )
    top = rows[rows["rank"] == rows.groupby("client")["rank"].transform("max")]
    if len(top) and top.groupby("client")["setting"].nunique().max() > 1:
        return (
            known.assign(_c=lambda e: e["project"].map(rank))
            .sort_values("_c", na_position="first")
            .drop_duplicates("client_id", keep="last")
            .set_index("client_id")["project"]
        )
    last = top.index[~top["client"].duplicated(keep="last")].to_numpy()
    chosen = known.iloc[last]
    return chosen["project"].set_axis(pd.Index(chosen["client_id"]))


def _after_cutoff(table: str) -> Callable[[Context], list[Problem]]:
    def check(ctx: Context) -> list[Problem]:
        if not ctx.cutoff:
            return []
        df, out = ctx.tables[table], []
        cut, key = _row_cutoffs(ctx, table)
        for col in (c for c in CASE_DATES[table] if c in df.columns):
            dates = df[col]
            out += row_problems(
                ctx,
                table,
                col,
                "on_or_before_cutoff",
                dates.index[dates.notna() & cut.notna() & (dates > cut)],
                lambda row, d=dates: (
                    f"{show(d[row])} is after the data cut-off "
                    f"{show(cut[row])} (set as {key[row]} in evaluation.yml); an event after the "
                    "cut-off cannot be known yet (a typing error, or set a later cut-off)"
                ),
                lambda row, d=dates: show(d[row]),
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
    project = lookup(enrolment_ids, enrolments_by_id(ctx)["project"])
    ends = {p: pd.Timestamp(e) for p, (_, e) in (ctx.periods or {}).items()}
    # a handful of projects: each end looked up once, then spread over the rows
    codes, uniques = pd.factorize(project, use_na_sentinel=True)
    per_code = pd.to_datetime(pd.Series(uniques).map(ends), errors="coerce")
    end = pd.Series(per_code.array.take(codes, allow_fill=True), index=project.index)
    return project, end


def _after_project_end(table: str, column: str, id_column: str) -> Callable:
    def check(ctx: Context) -> list[Problem]:
        if not ctx.periods:
            return []
        df = ctx.tables[table]
        project, end = _project_end_of(ctx, df[id_column])
        dates = df[column]
        bad = dates.notna() & end.notna() & (dates > end)
        return row_problems(
            ctx,
            table,
            column,
            "in_project_period",
            dates.index[bad],
            lambda row: (
                f"{show(dates[row])} is after the end of project {show(project[row])} "
                f"({show(end[row])}, its 'end' in evaluation.yml)"
            ),
            lambda row: show(dates[row]),
        )

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
