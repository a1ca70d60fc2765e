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
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from evaluation.analysis import conversion as cv
from evaluation.analysis import time_to_return
from evaluation.analysis.client_groups import Groups, order, take
from evaluation.analysis.plan import ReturnEstimand
from evaluation.data.membership import isin, lookup

# the enrolment columns person_times reads when given the client frames (prepared.load)
ENROLMENT_COLUMNS = ("enrolment_id", "client_id", "project", "enrolment_date")


@dataclass(frozen=True)
class Persons:
    """Who is who across the projects analysed together: each client's project of first
    enrolment among them, and the clients enrolled in more than one (carry-over)."""

    projects: tuple[str, ...]
    first: pd.Series  # client_id → project of the first enrolment
    carried: pd.Index
    _seen: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def rows(self, project: str, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Per row of the project's client frame: whether the client's first project is this
        one, and whether the client is a carry-over client (looked up once per frame)."""
        seen = self._seen.get((project, id(frame)))
        if seen is None or seen[0] is not frame:
            at = lookup(frame["client_id"], self.first.index)
            here = np.zeros(len(frame), dtype=bool)
            here[at >= 0] = self.first.to_numpy()[at[at >= 0]] == project
            seen = (frame, here, isin(frame["client_id"], self.carried))
            self._seen[(project, id(frame))] = seen
        return seen[1], seen[2]


def persons(enrolments: pd.DataFrame, projects: Sequence[str]) -> Persons:
    """Persons of the projects, from one sort of their enrolments by client, date and id
    (compute it once and hand it to person_times, person_comparisons, return_sensitivity)."""
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
    several = np.zeros(len(groups), dtype=bool)
    if len(groups):
        lowest = np.minimum.reduceat(codes, groups.starts)
        several = lowest != np.maximum.reduceat(codes, groups.starts)
    return Persons(tuple(projects), first, pd.Index(clients.array[several]))


def carry_over_clients(enrolments: pd.DataFrame, projects: Sequence[str]) -> set[str]:
    """Clients enrolled in more than one of the projects."""
    return set(persons(enrolments, projects).carried)


def first_project(enrolments: pd.DataFrame, projects: Sequence[str]) -> pd.Series:
    """client_id → the project of the client's first enrolment among `projects`."""
    return persons(enrolments, projects).first


def _of(people: Persons | None, enrolments: pd.DataFrame, projects: Sequence[str]) -> Persons:
    """people when given (for these projects), else computed."""
    if people is None:
        return persons(enrolments, projects)
    if tuple(people.projects) != tuple(projects):
        raise ValueError(f"persons of {people.projects} given for the projects {tuple(projects)}")
    return people


def person_times(
    tables: Mapping[str, pd.DataFrame],
    ends: Mapping[str, dt.date],
    cutoff: dt.date | Mapping[str, dt.date] | None,
    estimand: ReturnEstimand,
    withdrawal: str | None = None,
    carry_over: str | None = None,
    censor_at: dt.date | None = None,
    frames: Mapping[str, pd.DataFrame] | None = None,
    people: Persons | None = None,
) -> pd.DataFrame:
    """One row per person: project, client_id, enrolment_date, cohort, time (months), status,
    cause, potential (months of follow-up possible by the administrative end), carry_over.

    ends: project id → project end, for the return projects analysed together; cutoff: the data
    cut-off, one date or one per project. withdrawal and
    carry_over override the plan (sensitivity analyses); censor_at adds an administrative
    censoring date (e.g. the start of COVID-19 travel restrictions). frames: client frames per
    project (cv.client_frame), when already built; people: persons(enrolments, projects), when
    already computed.
    """
    overrides = {"withdrawal": withdrawal, "carry_over": carry_over, "censor_at": censor_at}
    return person_times_each(tables, ends, cutoff, estimand, [overrides], frames, people)[0]


def person_times_each(
    tables: Mapping[str, pd.DataFrame],
    ends: Mapping[str, dt.date],
    cutoff: dt.date | Mapping[str, dt.date] | None,
    estimand: ReturnEstimand,
    overrides: Sequence[Mapping],
    frames: Mapping[str, pd.DataFrame] | None = None,
    people: Persons | None = None,
) -> list[pd.DataFrame]:
    """person_times under each of several overrides (keyword arguments withdrawal, carry_over,
    censor_at: the sensitivity analyses), finding each person's first project and the
    carry-over clients once for all of them."""
    projects = list(ends)
    people = _of(people, tables["enrolments"], projects)
    own = {}  # per project: its clients counted in it, and which of them are carried over
    for p in projects:
        f = frames[p] if frames is not None else cv.client_frame(tables, p, kind="return")
        here, carry = people.rows(p, f)
        f = f.loc[here]
        own[p] = (f, pd.Series(carry[here], index=f.index))
    out = []
    for o in overrides:
        carry_over = o.get("carry_over") or estimand.carry_over
        parts = []
        for p in projects:
            f, is_carried = own[p]
            if carry_over == "exclude":
                f, is_carried = f.loc[~is_carried], is_carried.loc[~is_carried]
            cut = cutoff.get(p) if isinstance(cutoff, Mapping) else cutoff
            t = time_to_return.return_times(
                f,
                estimand,
                ends[p],
                cut,
                kind="return",
                withdrawal=o.get("withdrawal"),
                censor_at=o.get("censor_at"),
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
        out.append(pd.concat(parts, ignore_index=True))
    return out


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
