"""Conversion: who moves from counselling to referral to verified return, per client (DOMAIN §3).

Everything here counts persons, not cases. A project's clients are the distinct client_ids
with an enrolment in it. Every rate carries n, N and a Wilson 95 % interval (analysis.rates).
The chain ENH → MOH → return is counted on linked records, never by multiplying ratios.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from evaluation.analysis.plan import ReturnEstimand
from evaluation.analysis.rates import Rate, wilson
from evaluation.analysis.time_axis import DAYS_PER_MONTH, as_dates

VERIFIED_TYPE = "independent_verified"
UNVERIFIED = "unverified"
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
AGE_BANDS = ("under 18", "18–29", "30–39", "40–49", "50+", "unknown")
HOUSEHOLD_TYPES = ("single", "couple or small (2–3)", "family (4+)", "unknown")
STAY_BANDS = ("under 2 years", "2–4 years", "5–9 years", "10+ years", "unknown")
UNKNOWN = "unknown"
_STEP_COLS = ["step", "n", "N", "estimate", "ci_low", "ci_high", "of"]


def verified_departures(departures: pd.DataFrame) -> pd.DataFrame:
    """Departures that count as return: independent_verified and not unverified."""
    keep = (departures["departure_type"] == VERIFIED_TYPE) & (
        departures["verification"] != UNVERIFIED
    )
    out = departures.loc[keep].copy()
    out["departure_date"] = as_dates(out["departure_date"])
    return out


def half_year(dates: pd.Series) -> pd.Series:
    """Half-year enrolment cohort label such as '2016-H1'."""
    d = as_dates(dates)
    label = d.dt.year.astype("Int64").astype(str) + np.where(d.dt.month <= 6, "-H1", "-H2")
    return label.where(d.notna(), UNKNOWN)


def age_band(age: pd.Series) -> pd.Series:
    """Age at enrolment in bands (AGE_BANDS); missing → 'unknown'."""
    a = pd.to_numeric(age, errors="coerce")
    bins = [-np.inf, 18, 30, 40, 50, np.inf]
    out = pd.cut(a, bins=bins, right=False, labels=list(AGE_BANDS[:-1])).astype(object)
    return out.where(a.notna(), UNKNOWN).astype(str)


def household_type(size: pd.Series) -> pd.Series:
    """Single (1), couple or small (2–3), family (4+); missing → 'unknown'."""
    s = pd.to_numeric(size, errors="coerce")
    out = pd.cut(s, bins=[0, 1, 3, np.inf], labels=list(HOUSEHOLD_TYPES[:-1])).astype(object)
    return out.where(s.notna(), UNKNOWN).astype(str)


def stay_band(years: pd.Series) -> pd.Series:
    """Length of stay in the Netherlands in bands (STAY_BANDS); missing → 'unknown'."""
    y = pd.to_numeric(years, errors="coerce")
    bins = [-np.inf, 2, 5, 10, np.inf]
    out = pd.cut(y, bins=bins, right=False, labels=list(STAY_BANDS[:-1])).astype(object)
    return out.where(y.notna(), UNKNOWN).astype(str)


def load_regions(codes_file: str | Path) -> dict[str, str]:
    """Support point code → region from data_schemas/codes.yaml; {} if the file or list is absent.

    Accepts `support_points:` as a list of {code, region} records or a {code: region|{region}} map.
    """
    import yaml

    path = Path(codes_file)
    if not path.exists():
        return {}
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    sp = doc.get("support_points", {})
    if isinstance(sp, dict) and "codes" in sp:
        sp = sp["codes"]
    out: dict[str, str] = {}
    if isinstance(sp, list):
        for rec in sp:
            if isinstance(rec, dict) and "code" in rec and rec.get("region"):
                out[str(rec["code"])] = str(rec["region"])
    elif isinstance(sp, dict):
        for code, val in sp.items():
            region = val.get("region") if isinstance(val, dict) else val
            if region:
                out[str(code)] = str(region)
    return out


def _project_enrolments(enrolments: pd.DataFrame, project: str) -> pd.DataFrame:
    e = enrolments.loc[enrolments["project"] == project].copy()
    for col in ("enrolment_date", "exit_date", "reintegration_plan_date"):
        if col in e:
            e[col] = as_dates(e[col])
    return e.sort_values(["client_id", "enrolment_date", "enrolment_id"], kind="stable")


def linked_returns(
    enrolments: pd.DataFrame, departures: pd.DataFrame, project: str, kind: str = "return"
) -> pd.DataFrame:
    """First verified departure per client that counts for the project: client_id, departure_date.

    A departure counts when its enrolment_id is one of the client's enrolments in the project.
    Without an enrolment_id it counts when it falls in an enrolment's window (enrolment date to
    exit date, open-ended if still enrolled). For a counselling project (kind 'counselling') any
    verified departure on or after enrolment counts, whichever organisation facilitated it.
    """
    e = _project_enrolments(enrolments, project)
    dep = verified_departures(departures)
    if e.empty or dep.empty:
        return pd.DataFrame(
            {
                "client_id": pd.Series(dtype=str),
                "departure_date": pd.Series(dtype="datetime64[ns]"),
            }
        )
    dep = dep.rename(columns={"enrolment_id": "dep_enrolment_id"})
    if "dep_enrolment_id" not in dep:
        dep["dep_enrolment_id"] = pd.NA
    m = e[["client_id", "enrolment_id", "enrolment_date", "exit_date"]].merge(
        dep[["client_id", "dep_enrolment_id", "departure_date"]], on="client_id"
    )
    direct = m["dep_enrolment_id"] == m["enrolment_id"]
    after = m["departure_date"] >= m["enrolment_date"]
    if kind == "counselling":
        ok = direct.fillna(False) | after.fillna(False)
    else:
        in_window = after & (m["exit_date"].isna() | (m["departure_date"] <= m["exit_date"]))
        ok = direct.fillna(False) | (m["dep_enrolment_id"].isna() & in_window.fillna(False))
    hits = m.loc[ok, ["client_id", "departure_date"]]
    return hits.groupby("client_id", as_index=False)["departure_date"].min()


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
    present = set() if enr is None else set(enr["project"].dropna().astype(str))
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
    returned, departure_date, and the SUBGROUPS columns.
    """
    e = _project_enrolments(tables["enrolments"], project)
    if e.empty:
        raise ValueError(f"no enrolments for project {project!r}")
    first = e.groupby("client_id", as_index=False).first()
    last = e.groupby("client_id", as_index=False).last()
    frame = first[["client_id", "enrolment_date", "support_point", "intake_route"]].copy()
    # An open (null) exit on any enrolment means the client is still enrolled.
    open_exit = e.groupby("client_id")["exit_date"].apply(lambda s: s.isna().any())
    frame["exit_date"] = last["exit_date"].where(~open_exit.reindex(last["client_id"]).to_numpy())
    frame["exit_reason"] = last["exit_reason"].where(frame["exit_date"].notna())
    frame["cohort"] = half_year(frame["enrolment_date"])

    ids = set(e["enrolment_id"])
    sessions = tables.get("sessions")
    counselled = set()
    if sessions is not None and len(sessions):
        sess_enr = sessions.loc[sessions["enrolment_id"].isin(ids), "enrolment_id"]
        counselled = set(e.loc[e["enrolment_id"].isin(sess_enr), "client_id"])
    frame["counselled"] = frame["client_id"].isin(counselled)

    refs = tables.get("referrals")
    if refs is not None and len(refs):
        r = refs.loc[refs["enrolment_id"].isin(ids)].merge(
            e[["enrolment_id", "client_id"]], on="enrolment_id"
        )
    else:
        r = pd.DataFrame({"client_id": pd.Series(dtype=str), "receiving_org": []})
    frame["referred"] = frame["client_id"].isin(set(r["client_id"]))
    for org in ORG_LABELS:
        frame[f"referred_{org}"] = frame["client_id"].isin(
            set(r.loc[r["receiving_org"] == org, "client_id"])
        )
    frame["referred_other"] = frame["client_id"].isin(
        set(r.loc[r["receiving_org"] != MOH, "client_id"])
    )
    with_plan = set(e.loc[e["reintegration_plan_date"].notna(), "client_id"])
    frame["plan"] = frame["client_id"].isin(with_plan)

    ret = linked_returns(tables["enrolments"], tables["departures"], project, kind)
    frame = frame.merge(ret, on="client_id", how="left")
    frame["returned"] = frame["departure_date"].notna()

    c = tables["clients"].set_index("client_id")
    cl = c.reindex(frame["client_id"])
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
    frame["region"] = frame["support_point"].map(lambda sp: regions.get(sp, UNKNOWN))
    for col in ("support_point", "intake_route"):
        frame[col] = frame[col].astype(object).where(frame[col].notna(), UNKNOWN)
    return frame.reset_index(drop=True)


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
    src = _project_enrolments(enr, source)
    refs = tables["referrals"].merge(src[["enrolment_id", "client_id"]], on="enrolment_id")
    refs = refs.loc[refs["receiving_org"] == MOH].copy()
    refs["referral_date"] = as_dates(refs["referral_date"])
    first_ref = refs.groupby("client_id")["referral_date"].min()
    referred = set(first_ref.index)
    n_src = src["client_id"].nunique()

    enrolled: set[str] = set()
    returned: set[str] = set()
    for proj in targets:
        t = _project_enrolments(enr, proj)
        t = t.loc[t["client_id"].isin(referred)]
        if t.empty:  # no referred client enrolled here (or nobody was referred at all)
            continue
        t = t.loc[t["enrolment_date"] >= t["client_id"].map(first_ref)]
        enrolled |= set(t["client_id"])
        ret = linked_returns(t, tables["departures"], proj, "return")
        returned |= set(ret["client_id"])
    target_txt = " or ".join(targets)
    rows = [
        _step(f"{source} clients referred to MOH", len(referred), n_src, f"enrolled in {source}"),
        _step(f"  enrolled in {target_txt}", len(enrolled), len(referred), "referred to MOH"),
        _step("  returned (verified)", len(returned), len(enrolled), f"enrolled in {target_txt}"),
    ]
    if referred:
        rows.append(
            _step(
                "Returned, of all referred to MOH", len(returned), len(referred), "referred to MOH"
            )
        )
    return pd.DataFrame(rows, columns=_STEP_COLS)


def return_times(
    frame: pd.DataFrame,
    estimand: ReturnEstimand,
    end: date | None = None,
    cutoff: date | None = None,
    kind: str = "return",
    withdrawal: str | None = None,
    censor_at: date | None = None,
) -> pd.DataFrame:
    """Time from enrolment to verified return in months, per client, as the plan declares.

    status 1 = verified return by the administrative end (at the departure date); 2 = an exit
    the plan treats as competing (estimand.exits_competing: the declared competing exits, and
    withdrawal and lost contact alike when the plan makes them competing), at the exit date;
    0 = censored at any other exit, else administratively at the earliest of project end, data
    cut-off and censor_at. For a counselling project a return through another organisation is
    the event, so it is never a competing exit. withdrawal overrides the plan's handling.
    Columns: time, status, cause, potential (months of follow-up possible by the
    administrative end), cohort; the index is the frame's.
    """
    competing = set(estimand.exits_competing(withdrawal))
    if kind == "counselling":
        competing.discard(RETURNED_OTHER_ORG)
    admin = [pd.Timestamp(d) for d in (end, cutoff, censor_at) if d is not None]
    admin_end = min(admin) if admin else pd.NaT
    start = frame["enrolment_date"]
    limit = pd.Timestamp.max if pd.isna(admin_end) else admin_end
    is_event = frame["returned"] & (frame["departure_date"] <= limit)
    exited = frame["exit_date"].notna() & (frame["exit_date"] <= limit)
    is_comp = ~is_event & exited & frame["exit_reason"].isin(competing)
    status = np.where(is_event, 1, np.where(is_comp, 2, 0))
    stop = frame["departure_date"].where(is_event, frame["exit_date"].where(exited, admin_end))
    stop = pd.to_datetime(stop)
    if stop.isna().any():
        raise ValueError("clients still enrolled but no project end or cut-off date given")
    days = (stop - start).dt.days.clip(lower=0)
    cause = np.where(
        status == 1, "returned", np.where(status == 2, frame["exit_reason"], "censored")
    )
    potential = (admin_end - start).dt.days.clip(lower=0) / DAYS_PER_MONTH
    return pd.DataFrame(
        {
            "time": days / DAYS_PER_MONTH,
            "status": status.astype(int),
            "cause": cause,
            "potential": potential,
            "cohort": frame["cohort"] if "cohort" in frame else half_year(start),
        },
        index=frame.index,
    )


def data_cutoff(tables: Mapping[str, pd.DataFrame]) -> date | None:
    """Latest date recorded in enrolments or departures: the data cut-off when none is given."""
    found = []
    for table, cols in {
        "enrolments": ("enrolment_date", "exit_date", "reintegration_plan_date"),
        "departures": ("departure_date",),
    }.items():
        df = tables.get(table)
        if df is None:
            continue
        found += [as_dates(df[c]).max() for c in cols if c in df]
    found = [d for d in found if pd.notna(d)]
    return max(found).date() if found else None


def exit_table(times: pd.DataFrame) -> pd.DataFrame:
    """How follow-up ended: count per cause (returned, each competing exit, censored)."""
    out = times.groupby("cause").size().rename("n").reset_index()
    out["share"] = out["n"] / len(times)
    return out.sort_values(["n", "cause"], ascending=[False, True]).reset_index(drop=True)


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
