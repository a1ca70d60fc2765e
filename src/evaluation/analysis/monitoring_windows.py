"""Who is followed up after return, and what happened in each monitoring window.

Definitions follow DOMAIN.md §3. The unit is the returnee: a client with a verified departure
(independent_verified and not unverified) linked to an enrolment of the project. Monitoring
windows are arrival, m1, m3, m6 and m12 months after departure. "Not reached" never counts as
"stayed".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from evaluation.analysis.keyed_codes import left_join_unique, shared_codes
from evaluation.analysis.time_axis import DAYS_PER_MONTH, as_dates
from evaluation.data.membership import member

WINDOWS: tuple[str, ...] = ("arrival", "m1", "m3", "m6", "m12")
WINDOW_MONTHS: dict[str, int] = {"arrival": 0, "m1": 1, "m3": 3, "m6": 6, "m12": 12}
WINDOW_LABELS: dict[str, str] = {
    "arrival": "Arrival",
    "m1": "1 month",
    "m3": "3 months",
    "m6": "6 months",
    "m12": "12 months",
}
NOT_REACHED_REASONS: tuple[str, ...] = (
    "no_answer",
    "phone_disconnected",
    "moved_unknown",
    "refused",
    "partner_lost_contact",
    "deceased",
)
NO_RECORD = "no_record"  # no monitoring row for a window that was due: lost, like not reached
NOT_DUE = "not_due"  # the window lies after the data cut-off: excluded from every denominator
DIED = "died"  # the returnee's death was recorded at this or an earlier window (plan: deaths leave)
OUT_OF_DENOMINATOR = (NOT_DUE, DIED)

# Outcome at a window, per returnee.
STAYED, REMIGRATED, UNKNOWN, LOST = "stayed", "re_migrated", "status_unknown", "lost"
IN_COUNTRY = "in_country_of_return"  # the residence status of a returnee who stayed


def _age_band(age: pd.Series) -> pd.Series:
    band = pd.cut(age, [-1, 29, 44, 200], labels=["under 30", "30-44", "45 and over"])
    return band.astype("str").where(age.notna(), "unknown")


def main_support_type(support: pd.DataFrame, client_ids: Sequence[str]) -> pd.Series:
    """Each returnee's main support type (largest amount, then earliest); 'none' without support.

    One type per person keeps groups disjoint for survival curves by support type.
    """
    ids = client_ids if isinstance(client_ids, pd.Series) else pd.Series(list(client_ids))
    # one integer code per client for ids and support rows alike (ids first, so a support
    # row's code below their number of distinct values is one of theirs)
    own, theirs, known = shared_codes(ids, support["client_id"])
    mine = theirs >= 0
    s = support[mine].copy()
    out = pd.Series("none", index=pd.Index(ids, name="client_id"), dtype="str")
    if s.empty:
        return out
    s["_client"] = theirs[mine]
    s["_amount"] = pd.to_numeric(s.get("amount_eur"), errors="coerce").fillna(0.0)
    s["_date"] = as_dates(s["support_date"])
    s = s.sort_values(
        ["_client", "_amount", "_date", "support_type"], ascending=[True, False, True, True]
    )
    first = s.drop_duplicates("_client")  # each client's first row in that order
    main = np.full(known + 1, None, dtype=object)  # the last slot: ids without support
    main[first["_client"].to_numpy()] = first["support_type"].astype("str").to_numpy(object)
    has = np.zeros(known + 1, dtype=bool)
    has[first["_client"].to_numpy()] = True
    at = np.where(own >= 0, own, known)
    return pd.Series(
        np.where(has[at], main[at], "none"), index=out.index, name=out.name, dtype="str"
    )


def _linked_departures(tables: dict[str, pd.DataFrame], project: str) -> pd.DataFrame:
    """Each client's first verified departure linked to an enrolment of the project."""
    linked = verified_linked(tables, project)
    linked = linked.assign(departure_date=as_dates(linked["departure_date"]))
    return linked.sort_values(["client_id", "departure_date"]).drop_duplicates("client_id")


def verified_linked(tables: Mapping[str, pd.DataFrame], project: str) -> pd.DataFrame:
    """Every verified departure linked to an enrolment of the project, with the project: the
    returnees are their distinct clients."""
    dep = tables["departures"]
    verified = dep[
        (dep["departure_type"] == "independent_verified") & (dep["verification"] != "unverified")
    ]
    enrolments = tables["enrolments"]
    # the project's enrolments before the join (the same rows, a smaller join), the project
    # names compared once each rather than once per row
    code, names = pd.factorize(enrolments["project"])
    ours = np.array([str(x).upper() == project.upper() for x in names] + [False])[code]
    enr = enrolments.loc[ours, ["enrolment_id", "project"]]
    own, theirs, n = shared_codes(enr["enrolment_id"], verified["enrolment_id"])
    if n == len(enr):  # one row per enrolment: the inner join keeps the linked departures
        mine = theirs >= 0
        linked = verified[mine].assign(project=enr["project"].to_numpy()[theirs[mine]])
    else:
        linked = verified.merge(enr, on="enrolment_id", how="inner")
    return linked


def returnee_ids(tables: dict[str, pd.DataFrame], project: str) -> pd.Series:
    """The client_id column of returnees(tables, project), without the rest of the frame."""
    return _linked_departures(tables, project)["client_id"].reset_index(drop=True)


def returnees(tables: dict[str, pd.DataFrame], project: str) -> pd.DataFrame:
    """One row per returnee of the project: verified departure linked to a project enrolment.

    Columns: client_id, enrolment_id, departure_date, country (destination, else planned
    country of return), sex, age_band, household_size, main_support.
    """
    linked = _linked_departures(tables, project)
    cols = ["client_id", "sex", "birth_year", "country_of_return", "household_size"]
    clients = tables["clients"][[c for c in cols if c in tables["clients"].columns]]
    r = left_join_unique(
        linked[["client_id", "enrolment_id", "departure_date", "destination"]], clients, "client_id"
    )
    r["country"] = (
        r["destination"].astype("str").where(r["destination"].notna(), r.get("country_of_return"))
    )
    r["country"] = r["country"].fillna("unknown").astype("str")
    birth = pd.to_numeric(r.get("birth_year"), errors="coerce")
    r["age_band"] = _age_band(r["departure_date"].dt.year - birth)
    r["sex"] = r["sex"].fillna("unknown").astype("str")
    support = tables.get("support", pd.DataFrame(columns=["client_id", "support_type"]))
    main = main_support_type(support, r["client_id"])
    r["main_support"] = r["client_id"].map(main).fillna("none").astype("str")
    keep = ["client_id", "enrolment_id", "departure_date", "country", "sex", "age_band"]
    keep += ["household_size", "main_support"]
    return r[[c for c in keep if c in r.columns]].reset_index(drop=True)


def staying_at(monitoring: pd.DataFrame, client_ids: pd.Series, window: str) -> pd.Series:
    """The clients among client_ids whose contact at the window reached them in the country of
    return: the returnees follow_up marks 'stayed' there (no grid of every window needed)."""
    m = monitoring.loc[monitoring["window"] == window, ["client_id", "reached", "residence_status"]]
    m = m[member(m["client_id"], client_ids)]
    return m.loc[reached_in_country(m["reached"], m["residence_status"]), "client_id"]


def reached_in_country(reached: pd.Series, residence_status: pd.Series) -> np.ndarray:
    """Per contact, whether it reached the returnee in the country of return: the 'stayed'
    outcome of a window (a contact not reached, or with no residence status, is not)."""
    hit = reached.astype("boolean").fillna(False).to_numpy(dtype=bool)
    return hit & residence_status.eq(IN_COUNTRY).to_numpy(dtype=bool, na_value=False)


def category_codes(values: pd.Series, categories: Sequence[str]) -> np.ndarray:
    """Position of each value among the categories, -1 for any other value or a missing one
    (what pd.Categorical(values, categories).codes gives, without a string per row)."""
    codes, uniques = pd.factorize(values)
    where = {c: i for i, c in enumerate(categories)}
    lookup = np.array([where.get(u, -1) for u in uniques] + [-1], dtype=np.intp)
    return lookup[codes]  # a missing value's code -1 picks the last entry


def _strictly_increasing(values: pd.Series) -> bool:
    """Each value greater than the one before (so unique and sorted); False if not comparable."""
    x = values.to_numpy(dtype=object)
    try:
        return bool((x[1:] > x[:-1]).all())
    except TypeError:
        return False


def follow_up(
    monitoring: pd.DataFrame,
    returnees: pd.DataFrame,
    cutoff: dt.date | None = None,
    carry_forward_remigration: bool = True,
    grace_days: int = 0,
    deaths_leave: bool = False,
) -> pd.DataFrame:
    """The full grid returnee × window with the contact, its response and the outcome.

    response: 'reached', a not_reached_reason, 'no_record' (window due but no contact
    recorded) or 'not_due' (window after the data cut-off). outcome: stayed, re_migrated,
    status_unknown (reached, residence unknown) or lost. With carry_forward_remigration a
    re-migration seen at an earlier window makes later unknown windows 're_migrated' (flag
    carried_forward): someone known to have left is not 'durable' in a best case.
    grace_days: a window that fell due less than this many days before the cut-off, with no
    contact yet, is 'not_due' (partners had no fair chance to reach the returnee). deaths_leave:
    the window where a death was recorded and every later one become 'died', outside every
    denominator (analysis_plan.yaml, outcomes.durability.deaths).
    """
    ids = returnees[["client_id", "departure_date"]]
    grid = ids.merge(pd.DataFrame({"window": list(WINDOWS)}), how="cross")
    # joined on one integer key (client code × window) instead of two string columns: the
    # same left join, row for row
    own, theirs, _ = shared_codes(ids["client_id"], monitoring["client_id"])
    mine = theirs >= 0
    mon = monitoring[mine].copy()
    window = category_codes(mon["window"], WINDOWS)
    mon = mon[window >= 0]
    mon["contact_date"] = as_dates(mon["contact_date"])
    cols = ["contact_date", "reached", "not_reached_reason"]
    cols += ["residence_status", "rss_economic", "rss_social", "rss_psychosocial"]
    mon = mon[[c for c in cols if c in mon.columns]]
    n_w = len(WINDOWS)
    key = theirs[mine][window >= 0] * n_w + window[window >= 0]
    mon.insert(0, "_key", key)
    grid_key = np.repeat(own, n_w) * n_w + np.tile(np.arange(n_w), len(ids))
    f = grid.assign(_key=grid_key).merge(mon, on="_key", how="left")
    f["months"] = np.asarray([WINDOW_MONTHS[w] for w in WINDOWS])[f.pop("_key").to_numpy() % n_w]
    has_row = f["reached"].notna()
    reached = has_row & f["reached"].astype("boolean").fillna(False).astype(bool)
    f["reached"] = reached
    reason = f["not_reached_reason"].astype("str").where(f["not_reached_reason"].notna(), None)
    f["response"] = np.where(reached, "reached", reason.fillna("unknown_reason"))
    f.loc[~has_row, "response"] = NO_RECORD
    if cutoff is not None:
        due_date = f["departure_date"] + pd.to_timedelta(f["months"] * DAYS_PER_MONTH, "D")
        grace = pd.Timedelta(days=int(grace_days))
        not_due = ~has_row & (due_date + grace > pd.Timestamp(cutoff))
        f.loc[not_due, "response"] = NOT_DUE
    status = f["residence_status"].astype("str").where(f["residence_status"].notna(), "")
    f["outcome"] = LOST
    f.loc[reached_in_country(reached, status), "outcome"] = STAYED
    f.loc[reached & (status == "re_migrated"), "outcome"] = REMIGRATED
    f.loc[reached & ~status.isin([IN_COUNTRY, "re_migrated"]), "outcome"] = UNKNOWN
    f["carried_forward"] = False
    if not _strictly_increasing(ids["client_id"]):  # else the grid is in this order already
        f["window"] = pd.Categorical(f["window"], categories=list(WINDOWS), ordered=True)
        f = f.sort_values(["client_id", "window"]).reset_index(drop=True)
        f["window"] = f["window"].astype("str")
    if deaths_leave:
        dead = (f["response"] == "deceased").astype(int).groupby(f["client_id"]).cummax() == 1
        f.loc[dead, "response"] = DIED
    if carry_forward_remigration:
        seen = (f["outcome"] == REMIGRATED).astype(int).groupby(f["client_id"]).cummax()
        carry = (
            (seen == 1)
            & f["outcome"].isin([LOST, UNKNOWN])
            & ~f["response"].isin(OUT_OF_DENOMINATOR)
        )
        f.loc[carry, "outcome"] = REMIGRATED
        f.loc[carry, "carried_forward"] = True
    for c in ("rss_economic", "rss_social", "rss_psychosocial"):
        f[c] = pd.to_numeric(f.get(c), errors="coerce").where(reached)
    return f
