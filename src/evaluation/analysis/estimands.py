"""The primary conversion estimand, per person: time from first return-project enrolment to
verified return, as analysis_plan.yaml declares it.

Each person is counted once: a carry-over client (enrolled in MOH1, later in MOH2) belongs to
the project of their first enrolment, from that enrolment, and is followed in that project
(plan `carry_over: first_enrolment`), or left out (`exclude`). Follow-up ends at verified
return (status 1), at a competing exit (status 2; withdrawal and lost contact as the plan
declares), or is censored (status 0) at another exit or administratively at the earlier of the
project's end and the data cut-off. Nobody is counted as a non-returner for time they could not
be followed: the cumulative incidence (Aalen–Johansen) handles that through censoring.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from evaluation.analysis import conversion as cv
from evaluation.analysis import time_to_return
from evaluation.analysis.plan import ReturnEstimand
from evaluation.analysis.client_groups import Groups, isin, lookup, order, take


# the enrolment columns person_times reads when given the client frames (prepared.load)
ENROLMENT_COLUMNS = ("enrolment_id", "client_id", "project", "enrolment_date")


def _per_client(enrolments: pd.DataFrame, projects: Sequence[str]) -> tuple[pd.Series, pd.Index]:
    """(client_id → project of the first enrolment among projects, clients enrolled in more
    than one of them), from one sort of the projects' enrolments by client, date and id."""
    e = enrolments.loc[enrolments["project"].isin(projects)]
    e = e[["client_id", "enrolment_date", "enrolment_id", "project"]].assign(
        enrolment_date=pd.to_datetime(e["enrolment_date"], errors="coerce")
    )
    e = e.iloc[order(e, ["client_id", "enrolment_date", "enrolment_id"])]
    groups = Groups.of(e["client_id"])
    clients = take(e["client_id"], groups.starts)
    first = pd.Series(
        take(e["project"], groups.first_valid(e["project"])).array,
        index=pd.Index(clients.array, name="client_id"),
        name="project",
    )
    codes = pd.factorize(e["project"])[0][: len(e) - int(e["client_id"].isna().sum())]
    if len(groups):
        several = np.minimum.reduceat(codes, groups.starts) != np.maximum.reduceat(
            codes, groups.starts
        )
    else:
        several = np.zeros(0, dtype=bool)
    return first, pd.Index(clients.array[several])


def carry_over_clients(enrolments: pd.DataFrame, projects: Sequence[str]) -> set[str]:
    """Clients enrolled in more than one of the projects."""
    return set(_per_client(enrolments, projects)[1])


def first_project(enrolments: pd.DataFrame, projects: Sequence[str]) -> pd.Series:
    """client_id → the project of the client's first enrolment among `projects`."""
    return _per_client(enrolments, projects)[0]


def person_times(
    tables: Mapping[str, pd.DataFrame],
    ends: Mapping[str, dt.date],
    cutoff: dt.date | Mapping[str, dt.date] | None,
    estimand: ReturnEstimand,
    withdrawal: str | None = None,
    carry_over: str | None = None,
    censor_at: dt.date | None = None,
    frames: Mapping[str, pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """One row per person: project, client_id, enrolment_date, cohort, time (months), status,
    cause, potential (months of follow-up possible by the administrative end), carry_over.

    ends: project id → project end, for the return projects analysed together; cutoff: the data
    cut-off, one date or one per project. withdrawal and
    carry_over override the plan (sensitivity analyses); censor_at adds an administrative
    censoring date (e.g. the start of COVID-19 travel restrictions). frames: client frames per
    project (cv.client_frame), when already built.
    """
    projects = list(ends)
    carry_over = carry_over or estimand.carry_over
    first, carried = _per_client(tables["enrolments"], projects)
    parts = []
    for p in projects:
        f = frames[p] if frames is not None else cv.client_frame(tables, p, kind="return")
        at = lookup(f["client_id"], first.index)
        here = np.zeros(len(f), dtype=bool)
        here[at >= 0] = first.to_numpy()[at[at >= 0]] == p
        f = f.loc[here]
        is_carried = pd.Series(isin(f["client_id"], carried), index=f.index)
        if carry_over == "exclude":
            f, is_carried = f.loc[~is_carried], is_carried.loc[~is_carried]
        cut = cutoff.get(p) if isinstance(cutoff, Mapping) else cutoff
        t = time_to_return.return_times(
            f, estimand, ends[p], cut, kind="return", withdrawal=withdrawal, censor_at=censor_at
        )
        parts.append(
            pd.DataFrame(
                {
                    "project": p,
                    "client_id": f["client_id"],
                    "enrolment_date": f["enrolment_date"],
                    "cohort": f["cohort"],
                    "time": t["time"],
                    "status": t["status"],
                    "cause": t["cause"],
                    "potential": t["potential"],
                    "carry_over": is_carried.astype(bool),
                    "returned_ever": f["returned"].astype(bool),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def cohort_follow_up(times: pd.DataFrame, horizons: Sequence[float]) -> pd.DataFrame:
    """Per project and half-year cohort: persons, shortest and median potential follow-up
    (months), and how many could be followed to each horizon."""
    rows = []
    for (p, c), g in times.groupby(["project", "cohort"], sort=True):
        row = {
            "project": p,
            "cohort": c,
            "N": len(g),
            "potential_min": float(g["potential"].min()),
            "potential_median": float(g["potential"].median()),
        }
        for h in horizons:
            row[f"followable_{h:g}m"] = int((g["potential"] >= h).sum())
        rows.append(row)
    return pd.DataFrame(rows)
