"""Landmark analysis of re-migration by support type, free of immortal time.

Grouping returnees by support delivered months after their return would bias the comparison:
someone who re-migrated early cannot have received late support, so late support types look
durable by construction (immortal time). With a landmark L (analysis_plan.yaml,
outcomes.durability.support_type_landmark_months) each returnee is grouped by the support
received by L months after departure, and followed from L: returnees whose re-migration was
recorded by L, or whose follow-up ended before L, are left out and counted.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from evaluation.analysis.time_axis import DAYS_PER_MONTH
from evaluation.data.membership import positions


@dataclass(frozen=True)
class Landmark:
    """Times from the landmark (column time, months after the landmark) of those still in the
    country at it, and how many of those with a curve were left out before it."""

    months: float
    times: pd.DataFrame
    remigrated_before: int
    censored_before: int

    @property
    def excluded(self) -> int:
        """Returnees with a contact confirming residence who were left out before the landmark."""
        return self.remigrated_before + self.censored_before


def support_by_landmark(
    support: pd.DataFrame, returnees: pd.DataFrame, months: float
) -> pd.DataFrame:
    """Support records of the returnees delivered on or before `months` after their departure
    (support before departure counts); records without a date are left out."""
    dep = returnees.set_index("client_id")["departure_date"]
    at = positions(support["client_id"], dep.index)  # each record's returnee, -1 for none
    mine = (at >= 0) & support["client_id"].notna().to_numpy()
    s = support[mine].copy()
    if s.empty:  # no support (or no returnees): nothing delivered by the landmark
        return s
    when = pd.to_datetime(s["support_date"], errors="coerce")
    departed = pd.Series(dep.to_numpy()[at[mine]], index=s.index)
    limit = pd.to_datetime(departed) + pd.to_timedelta(months * DAYS_PER_MONTH, "D")
    return s.loc[when.notna() & (when <= limit)]


def landmark_times(times: pd.DataFrame, months: float) -> Landmark:
    """From re-migration times (time since return, event, included): those still known to be
    in the country at the landmark — re-migration recorded after it, or residence confirmed at
    or after it — with time measured from the landmark."""
    t = times.loc[times["included"]]
    if t.empty:  # nobody followed: nothing to exclude or keep
        return Landmark(float(months), t.copy(), 0, 0)
    event = t["event"].astype(bool)
    remigrated_before = event & (t["time"] <= months)
    censored_before = ~event & (t["time"] < months)
    kept = t.loc[~remigrated_before & ~censored_before].copy()
    kept["time"] = kept["time"] - months
    return Landmark(float(months), kept, int(remigrated_before.sum()), int(censored_before.sum()))
