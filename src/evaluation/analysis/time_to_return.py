"""Time from enrolment to verified return, with competing exits and censoring, per client."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa

from evaluation.analysis.client_bands import half_year
from evaluation.analysis.conversion import RETURNED_OTHER_ORG
from evaluation.analysis.plan import ReturnEstimand
from evaluation.analysis.time_axis import DAYS_PER_MONTH, as_dates


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
    # Arrow picks each row's word, and the exit reason where it competes: no Python string
    # per row (the same values and dtype as numpy's where on the words)
    words = pa.array(["censored", "returned"]).take(pa.array(status == 1, pa.int8()))
    cause = pd.Series(pd.array(words, dtype="str"), index=frame.index)
    cause = cause.mask(status == 2, frame["exit_reason"].astype("str").array)
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
