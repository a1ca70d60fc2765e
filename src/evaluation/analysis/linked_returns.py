"""Which verified departure counts as a project's return, per client (DOMAIN §3).

A verified return is a departure of type independent_verified that is not 'unverified'. It
counts for a project when linked to one of the client's enrolments in it, or, without a link,
when it falls in an enrolment's window; for a counselling project any verified departure on or
after enrolment counts. Worked on row positions of the project's enrolments sorted by client
(analysis.client_groups), not by joining identifiers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from evaluation.analysis.client_groups import Groups, project_enrolments, take
from evaluation.analysis.time_axis import as_dates
from evaluation.data.membership import lookup

VERIFIED_TYPE = "independent_verified"
UNVERIFIED = "unverified"


def verified_departures(departures: pd.DataFrame) -> pd.DataFrame:
    """Departures that count as return: independent_verified and not unverified."""
    keep = (departures["departure_type"] == VERIFIED_TYPE) & (
        departures["verification"] != UNVERIFIED
    )
    out = departures.loc[keep].copy()
    out["departure_date"] = as_dates(out["departure_date"])
    return out


def _no_returns() -> pd.DataFrame:
    return pd.DataFrame(
        {"client_id": pd.Series(dtype=str), "departure_date": pd.Series(dtype="datetime64[ns]")}
    )


def first_returns(
    e: pd.DataFrame, groups: Groups, departures: pd.DataFrame, kind: str
) -> tuple[np.ndarray, pd.Series] | None:
    """Per client group of e (sorted project enrolments), the first verified departure that
    counts (see linked_returns): (groups with one, their departure dates); None when there
    are no enrolments or no verified departures."""
    dep = verified_departures(departures)
    if e.empty or dep.empty or not len(groups):
        return None
    keys = e["client_id"].iloc[groups.starts]
    g = lookup(dep["client_id"], keys)  # each departure's client group
    d = np.flatnonzero(g >= 0)
    g = g[d]
    size = groups.ends[g] - groups.starts[g]
    pair_dep = np.repeat(d, size)  # every (departure, enrolment of the same client) pair
    offset = np.arange(len(pair_dep)) - np.repeat(np.cumsum(size) - size, size)
    pair_enr = np.repeat(groups.starts[g], size) + offset
    dates = dep["departure_date"].to_numpy()[pair_dep]
    start = e["enrolment_date"].to_numpy()[pair_enr]
    after = dates >= start  # NaT compares False, as missing dates never count
    if "enrolment_id" in dep:
        linked = lookup(dep["enrolment_id"], e["enrolment_id"])[pair_dep]
        direct = linked == pair_enr
        unlinked = dep["enrolment_id"].isna().to_numpy()[pair_dep]
    else:
        direct = np.zeros(len(pair_dep), dtype=bool)
        unlinked = np.ones(len(pair_dep), dtype=bool)
    if kind == "counselling":
        ok = direct | after
    else:
        exit_date = e["exit_date"].to_numpy()[pair_enr]
        in_window = after & (np.isnat(exit_date) | (dates <= exit_date))
        ok = direct | (unlinked & in_window)
    hits = pd.Series(dates[ok], dtype=dep["departure_date"].dtype)
    hits = hits.groupby(groups.row_group[pair_enr[ok]]).min()
    return hits.index.to_numpy(dtype=np.intp), hits


def linked_returns(
    enrolments: pd.DataFrame, departures: pd.DataFrame, project: str, kind: str = "return"
) -> pd.DataFrame:
    """First verified departure per client that counts for the project: client_id, departure_date.

    A departure counts when its enrolment_id is one of the client's enrolments in the project.
    Without an enrolment_id it counts when it falls in an enrolment's window (enrolment date to
    exit date, open-ended if still enrolled). For a counselling project (kind 'counselling') any
    verified departure on or after enrolment counts, whichever organisation facilitated it.
    """
    e = project_enrolments(enrolments, project).reset_index(drop=True)
    groups = Groups.of(e["client_id"])
    found = first_returns(e, groups, departures, kind)
    if found is None:
        return _no_returns()
    which, dates = found
    return pd.DataFrame(
        {
            "client_id": take(e["client_id"], groups.starts[which]),
            "departure_date": dates.reset_index(drop=True),
        }
    )
