"""Conversion: who moves from counselling to referral to verified return, per client (DOMAIN §3).

Everything here counts persons, not cases. A project's clients are the distinct client_ids
with an enrolment in it. Every rate carries n, N and a Wilson 95 % interval (analysis.rates).
The chain ENH → MOH → return is counted on linked records, never by multiplying ratios.
Bands live in client_bands, time to return in time_to_return.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from evaluation.analysis.client_bands import (
    AGE_BANDS,
    HOUSEHOLD_TYPES,
    STAY_BANDS,
    UNKNOWN,
    age_band,
    half_year,
    household_type,
    stay_band,
)
from evaluation.analysis.client_groups import Groups, project_enrolments, take
from evaluation.analysis.linked_returns import (
    first_returns,
    verified_departures,
)
from evaluation.analysis.rates import Rate, wilson
from evaluation.analysis.time_axis import as_dates
from evaluation.data.membership import lookup

RETURNED_OTHER_ORG = "returned_other_org"
MOH = "MOH"
ORG_LABELS = {
    "MOH": "MOH",
    "BRIDGE_TO_BETTER": "Bridge to Better",
    "ROS": "ROS",
    "SOLID_ROAD": "Solid Road",
    "WERELDWIJD": "WereldWijd",
    "IOM": "IOM",
    "OTHER": "other organisation",
}
SUBGROUPS = {
    "country_of_return": "Country of return",
    "region": "Region",
    "support_point": "Support point",
    "sex": "Sex",
    "age_band": "Age band",
    "household_type": "Household",
    "stay_band": "Length of stay in NL",
    "intake_route": "Intake route",
}

_CLIENT_COLUMNS = ("country_of_return", "sex", "birth_year", "years_in_nl", "household_size")
COLUMNS = {  # the tables and columns client_frame and chain read (prepared.load)
    "clients": ("client_id", *_CLIENT_COLUMNS),
    "departures": ("client_id", "enrolment_id", "departure_date", "departure_type", "verification"),
    "enrolments": (
        "enrolment_id",
        "client_id",
        "project",
        "support_point",
        "intake_route",
        "enrolment_date",
        "reintegration_plan_date",
        "exit_date",
        "exit_reason",
    ),
    "referrals": ("enrolment_id", "referral_date", "receiving_org"),
    "sessions": ("enrolment_id",),
}
_STEP_COLS = ["step", "n", "N", "estimate", "ci_low", "ci_high", "of"]


def nothing_to_evaluate(
    tables: Mapping[str, pd.DataFrame], projects: str | Sequence[str]
) -> str | None:
    """Why there is nothing to evaluate for these projects (a sentence), or None.

    A project configured in evaluation.yml but without a single enrolment in the case records
    (a header-only table, or an export of other projects only) is valid data: the notebooks then
    say so instead of computing rates of nobody.
    """
    ids = [projects] if isinstance(projects, str) else list(projects)
    enr = tables.get("enrolments")
    present = set() if enr is None else set(enr["project"].dropna().astype(str).unique())
    empty = [p for p in ids if p not in present]
    if not empty:
        return None
    names = " and ".join(empty)
    verb = "has" if len(empty) == 1 else "have"
    return (
        f"Nothing to evaluate: {names} {verb} no enrolments in the case records, so no rate, "
        "curve or model can be computed for " + ("it." if len(empty) == 1 else "them.")
    )


def client_frame(
    tables: Mapping[str, pd.DataFrame],
    project: str,
    kind: str = "return",
    regions: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """One row per client enrolled in the project, with outcomes and subgroup bands.

    Columns: client_id, enrolment_date (first), exit_date and exit_reason (last enrolment),
    cohort, counselled, referred, referred_<ORG> per organisation, referred_other, plan,
    returned, departure_date, and the SUBGROUPS columns. First and last are per column: the
    first or last enrolment (by date, then id) where the column has a value.
    """
    e = project_enrolments(tables["enrolments"], project).reset_index(drop=True)
    if e.empty:
        raise ValueError(f"no enrolments for project {project!r}")
    groups = Groups.of(e["client_id"])

    def first(col: str) -> pd.Series:
        return take(e[col], groups.first_valid(e[col]))

    frame = pd.DataFrame({"client_id": take(e["client_id"], groups.starts)})
    for col in ("enrolment_date", "support_point", "intake_route"):
        frame[col] = first(col)
    # An open (null) exit on any enrolment means the client is still enrolled.
    open_exit = groups.any(e["exit_date"].isna().to_numpy())
    last_exit = take(e["exit_date"], groups.last_valid(e["exit_date"]))
    frame["exit_date"] = last_exit.where(~open_exit)
    last_reason = take(e["exit_reason"], groups.last_valid(e["exit_reason"]))
    frame["exit_reason"] = last_reason.where(frame["exit_date"].notna())
    frame["cohort"] = half_year(frame["enrolment_date"])

    sessions = tables.get("sessions")
    with_session = np.zeros(len(e), dtype=bool)
    if sessions is not None and len(sessions):
        # each session's enrolment row (hashing the project's enrolments, not all sessions)
        at = lookup(sessions["enrolment_id"], e["enrolment_id"])
        with_session[at[at >= 0]] = True
    frame["counselled"] = groups.any(with_session)

    refs = tables.get("referrals")
    if refs is None or not len(refs):
        refs = pd.DataFrame({"enrolment_id": pd.Series(dtype=str), "receiving_org": []})
    at = lookup(refs["enrolment_id"], e["enrolment_id"])  # each referral's enrolment row
    frame["referred"] = groups.any_of(at)
    org = refs["receiving_org"]
    for name in ORG_LABELS:
        frame[f"referred_{name}"] = groups.any_of(at[(org == name).to_numpy()])
    frame["referred_other"] = groups.any_of(at[(org != MOH).to_numpy()])
    frame["plan"] = groups.any(e["reintegration_plan_date"].notna().to_numpy())

    departure = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns]")
    found = first_returns(e, groups, tables["departures"], kind)
    if found is not None:
        which, dates = found
        departure = departure.astype(dates.dtype)
        departure.iloc[which] = dates.to_numpy()
    frame["departure_date"] = departure
    frame["returned"] = frame["departure_date"].notna()

    c = tables["clients"]
    at = lookup(frame["client_id"], c["client_id"])
    cl = pd.DataFrame({col: take(c[col], at) for col in _CLIENT_COLUMNS})
    for col in ("country_of_return", "sex"):
        frame[col] = cl[col].astype(object).where(cl[col].notna(), UNKNOWN).to_numpy()
    age = frame["enrolment_date"].dt.year.to_numpy() - pd.to_numeric(cl["birth_year"]).to_numpy()
    frame["age"] = age
    frame["age_band"] = age_band(pd.Series(age, index=frame.index))
    frame["years_in_nl"] = pd.to_numeric(cl["years_in_nl"]).to_numpy()
    frame["household_type"] = household_type(
        pd.Series(cl["household_size"].to_numpy(), index=frame.index)
    )
    frame["stay_band"] = stay_band(pd.Series(cl["years_in_nl"].to_numpy(), index=frame.index))
    regions = regions or {}
    # each distinct support point looked up once
    codes, points = pd.factorize(frame["support_point"], use_na_sentinel=False)
    region = pd.Series(points).map(lambda sp: regions.get(sp, UNKNOWN))
    frame["region"] = region.take(codes).reset_index(drop=True)
    for col in ("support_point", "intake_route"):
        frame[col] = frame[col].astype(object).where(frame[col].notna(), UNKNOWN)
    frame.attrs = _merged_attrs(tables["enrolments"], tables["departures"])
    return frame.reset_index(drop=True)


def _merged_attrs(enrolments: pd.DataFrame, departures: pd.DataFrame) -> dict:
    """The table attributes (DataFrame.attrs, e.g. validation's unknown columns) the frame
    carries, kept as pandas' merges of the two tables once passed them on: when both have the
    same, non-empty attributes and some departure is a verified one; stored frames keep them."""
    same = bool(enrolments.attrs) and enrolments.attrs == departures.attrs
    if not same or verified_departures(departures).empty:
        return {}
    return copy.deepcopy(enrolments.attrs)


def _step(step: str, n: int, N: int, of: str) -> dict:
    """One funnel or chain step; with nobody in the denominator (N = 0) the share and its
    interval do not exist and stay missing (the tables print '—' with the reason)."""
    if int(N) <= 0:
        nan = float("nan")
        return {
            "step": step,
            "n": 0,
            "N": 0,
            "estimate": nan,
            "ci_low": nan,
            "ci_high": nan,
            "of": of,
        }
    r = wilson(int(n), int(N))
    return {
        "step": step,
        "n": r.n,
        "N": r.N,
        "estimate": r.estimate,
        "ci_low": r.ci_low,
        "ci_high": r.ci_high,
        "of": of,
    }


def funnel(frame: pd.DataFrame, project: str, kind: str = "return") -> pd.DataFrame:
    """Funnel steps for one project, each a share of the clients enrolled, with Wilson CIs.

    Counselling projects: enrolled → counselled → referred (any; MOH; other; each other
    organisation) → verified return. Return projects: enrolled → plan → verified return.
    """
    N = len(frame)
    of = f"enrolled in {project}"
    rows = [_step(f"Enrolled in {project}", N, N, of)]
    if kind == "counselling":
        rows.append(_step("Counselled (≥ 1 session)", frame["counselled"].sum(), N, of))
        rows.append(_step("Referred to a return organisation", frame["referred"].sum(), N, of))
        rows.append(_step("  to MOH", frame[f"referred_{MOH}"].sum(), N, of))
        rows.append(_step("  to other organisations", frame["referred_other"].sum(), N, of))
        for org, label in ORG_LABELS.items():
            if org != MOH and frame[f"referred_{org}"].any():
                rows.append(_step(f"    to {label}", frame[f"referred_{org}"].sum(), N, of))
    else:
        rows.append(_step("Reintegration plan made", frame["plan"].sum(), N, of))
    rows.append(_step("Returned (verified departure)", frame["returned"].sum(), N, of))
    return pd.DataFrame(rows, columns=_STEP_COLS)


def cohort_funnel(frame: pd.DataFrame, project: str, kind: str = "return") -> pd.DataFrame:
    """The funnel per half-year enrolment cohort (long format, column 'cohort')."""
    steps = ["counselled", "referred", "referred_other", "plan", "returned"]
    steps += [f"referred_{org}" for org in ORG_LABELS]
    frame = frame[["cohort", *(c for c in steps if c in frame)]]  # what funnel counts
    parts = [
        funnel(g, project, kind).assign(cohort=c) for c, g in frame.groupby("cohort", sort=True)
    ]
    out = pd.concat(parts, ignore_index=True)
    return out[["cohort", *_STEP_COLS]]


HEADLINE_STEPS = {
    "counselling": ("Referred to a return organisation", "Returned (verified departure)"),
    "return": ("Reintegration plan made", "Returned (verified departure)"),
}


def cohort_headline(cohorts: pd.DataFrame, kind: str = "return") -> pd.DataFrame:
    """The headline steps of each cohort's funnel: a table short enough for a funder to read
    (the full funnel per cohort stays in the results file)."""
    keep = cohorts["step"].isin(HEADLINE_STEPS[kind])
    return cohorts[keep].reset_index(drop=True)


def rate(frame: pd.DataFrame, outcome: str) -> Rate:
    """Share of clients in the frame with a true outcome column, as a Wilson Rate."""
    return wilson(int(frame[outcome].sum()), len(frame))


def referral_rates(frame: pd.DataFrame) -> dict[str, Rate]:
    """ENH referral rates: any, to MOH, to any other organisation (clients ÷ enrolled)."""
    return {
        "any": rate(frame, "referred"),
        "moh": rate(frame, f"referred_{MOH}"),
        "other": rate(frame, "referred_other"),
    }


def _order(var: str, groups: Iterable[str]) -> list[str]:
    fixed = {"age_band": AGE_BANDS, "household_type": HOUSEHOLD_TYPES, "stay_band": STAY_BANDS}
    groups = list(groups)
    if var in fixed:
        return [g for g in fixed[var] if g in groups]
    known = sorted(g for g in groups if g != UNKNOWN)
    return known + ([UNKNOWN] if UNKNOWN in groups else [])


def subgroup_rates(
    frame: pd.DataFrame, outcome: str, by: Sequence[str] | None = None
) -> pd.DataFrame:
    """Outcome rate per level of each subgroup variable: variable, label, group, n, N, CI."""
    by = list(by or SUBGROUPS)
    rows = []
    for var in by:
        counts = frame.groupby(var)[outcome].agg(["sum", "size"])
        for g in _order(var, counts.index.astype(str)):
            n, N = counts.loc[g, "sum"], counts.loc[g, "size"]
            r = wilson(int(n), int(N))
            rows.append(
                {
                    "variable": var,
                    "label": SUBGROUPS.get(var, var),
                    "group": g,
                    "n": r.n,
                    "N": r.N,
                    "estimate": r.estimate,
                    "ci_low": r.ci_low,
                    "ci_high": r.ci_high,
                }
            )
    return pd.DataFrame(rows)


def chain(
    tables: Mapping[str, pd.DataFrame],
    source: str = "ENH",
    targets: Sequence[str] = ("MOH1", "MOH2"),
) -> pd.DataFrame:
    """ENH → MOH → return from linked records: each step n of the previous step's N.

    Step 1: source clients referred to MOH. Step 2: of whom enrolled in a target project on or
    after their first MOH referral. Step 3: of whom returned (verified departure linked to that
    target enrolment). The last row gives returns over all referred, counted, not multiplied.
    """
    enr = tables["enrolments"]
    used = ("client_id", "enrolment_id", "enrolment_date", "exit_date")
    src = project_enrolments(enr, source, used).reset_index(drop=True)
    src_groups = Groups.of(src["client_id"])
    refs = tables["referrals"]
    at = lookup(refs["enrolment_id"], src["enrolment_id"])
    moh = np.flatnonzero((at >= 0) & (refs["receiving_org"] == MOH).to_numpy())
    who = src_groups.row_group[at[moh]]
    dates = as_dates(refs["referral_date"].iloc[moh]).reset_index(drop=True)
    first_ref = dates[who >= 0].groupby(who[who >= 0]).min()  # per source client group
    referred_ids = take(src["client_id"], src_groups.starts[first_ref.index.to_numpy()])
    n_src = len(src_groups)

    enrolled: set[int] = set()  # positions in first_ref
    returned: set[int] = set()
    for proj in targets:
        t = project_enrolments(enr, proj, used, among=referred_ids).reset_index(drop=True)
        ref = lookup(t["client_id"], referred_ids)
        keep = ref >= 0
        if not keep.any():  # no referred client enrolled here (or nobody was referred at all)
            continue
        since = first_ref.to_numpy()[np.where(keep, ref, 0)]
        keep &= t["enrolment_date"].to_numpy() >= since
        t, ref = t.loc[keep].reset_index(drop=True), ref[keep]
        enrolled |= set(ref.tolist())
        groups = Groups.of(t["client_id"])
        found = first_returns(t, groups, tables["departures"], "return")
        if found is not None:
            returned |= set(ref[groups.starts[found[0]]].tolist())
    target_txt = " or ".join(targets)
    referred = len(first_ref)
    rows = [
        _step(f"{source} clients referred to MOH", referred, n_src, f"enrolled in {source}"),
        _step(f"  enrolled in {target_txt}", len(enrolled), referred, "referred to MOH"),
        _step("  returned (verified)", len(returned), len(enrolled), f"enrolled in {target_txt}"),
    ]
    if referred:
        rows.append(
            _step("Returned, of all referred to MOH", len(returned), referred, "referred to MOH")
        )
    return pd.DataFrame(rows, columns=_STEP_COLS)


MODEL_COVARIATES = ("sex", "age_10", "years_in_nl", "household_type")


def model_frame(frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Clients for the pre-specified models and how many were left out.

    Covariates: sex (female/male; the few 'other' or unknown are left out, as one tiny level
    would separate), age per 10 years and years in the Netherlands (continuous, so they cost one
    parameter each) and household type. Clients missing any of these are left out.
    """
    keep = (
        frame["sex"].isin(["female", "male"])
        & frame["age"].notna()
        & frame["years_in_nl"].notna()
        & (frame["household_type"] != UNKNOWN)
    )
    out = frame.loc[keep].assign(age_10=frame.loc[keep, "age"] / 10)
    return out, int((~keep).sum())
