"""Time from return to re-migration: Kaplan–Meier curves, numbers at risk, curves by group."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from evaluation.analysis.keyed_codes import shared_codes
from evaluation.analysis.monitoring_windows import REMIGRATED, STAYED
from evaluation.analysis.rates import Z95, z_for
from evaluation.analysis.time_axis import DAYS_PER_MONTH


def remigration_times(
    follow: pd.DataFrame, returnees: pd.DataFrame, time_scale: str = "window"
) -> pd.DataFrame:
    """Per returnee: months from departure to the first contact recording re-migration (event),
    else to the last contact confirming residence in the country of return (censored).

    time_scale "window" uses the nominal months of the window (0, 1, 3, 6, 12): re-migration is
    only known to have happened between two contacts, and exact contact dates would let a few
    late 12-month contacts decide the tail of the curve. "contact" uses the contact dates.
    Returnees never reached with a known residence carry no information and are left out
    (column included=False), so that the curve never counts 'not reached' as 'stayed'.
    """
    if time_scale not in ("window", "contact"):
        raise ValueError(f"time_scale must be 'window' or 'contact', not {time_scale!r}")
    obs = follow[follow["reached"] & follow["outcome"].isin([STAYED, REMIGRATED])]
    obs = obs[~obs["carried_forward"]].copy()
    if time_scale == "window":
        obs["t"] = obs["months"].astype(float)
    else:
        obs["t"] = (obs["contact_date"] - obs["departure_date"]).dt.days / DAYS_PER_MONTH
    obs["t"] = obs["t"].clip(lower=0.0)
    out = returnees[["client_id", "country", "main_support"]].copy()
    # grouped by integer codes of the client ids (a missing id: -1, in no group)
    own, theirs, _ = shared_codes(out["client_id"], obs["client_id"])
    t = obs["t"].to_numpy(float)
    remig = (obs["outcome"] == REMIGRATED).to_numpy() & (theirs >= 0)
    stayed = (obs["outcome"] == STAYED).to_numpy() & (theirs >= 0)
    ev = pd.Series(t[remig]).groupby(theirs[remig]).min()
    stay = pd.Series(t[stayed]).groupby(theirs[stayed]).max()
    out["event"] = pd.Series(np.isin(own, ev.index.to_numpy()), index=out.index).astype(int)
    out["time"] = ev.reindex(own).to_numpy()
    out["time"] = out["time"].fillna(pd.Series(stay.reindex(own).to_numpy(), index=out.index))
    out["included"] = out["time"].notna()
    return out


def kaplan_meier(time: Sequence[float], event: Sequence[int], level: float = 0.95) -> pd.DataFrame:
    """Kaplan–Meier table (statsmodels SurvfuncRight): time, n_risk, n_events, survival, se and a
    pointwise log(−log) interval; starts with a row at time 0 with survival 1."""
    from statsmodels.duration.survfunc import SurvfuncRight

    time = np.asarray(time, float)
    event = np.asarray(event, int)
    first = {
        "time": 0.0,
        "n_risk": len(time),
        "n_events": 0,
        "survival": 1.0,
        "se": 0.0,
        "ci_low": 1.0,
        "ci_high": 1.0,
    }
    if len(time) == 0 or event.sum() == 0:
        return pd.DataFrame([first])
    sf = SurvfuncRight(time, event)
    s = np.asarray(sf.surv_prob, float)
    se = np.nan_to_num(np.asarray(sf.surv_prob_se, float), nan=0.0)
    z = Z95 if level == 0.95 else z_for(level)
    with np.errstate(divide="ignore", invalid="ignore"):
        half = z * se / (s * np.abs(np.log(s)))
        low = np.where((s > 0) & (s < 1), s ** np.exp(half), np.where(s >= 1, 1.0, 0.0))
        high = np.where((s > 0) & (s < 1), s ** np.exp(-half), np.where(s >= 1, 1.0, 0.0))
    table = pd.DataFrame(
        {
            "time": np.asarray(sf.surv_times, float),
            "n_risk": np.asarray(sf.n_risk, int),
            "n_events": np.asarray(sf.n_events, int),
            "survival": s,
            "se": se,
            "ci_low": low,
            "ci_high": high,
        }
    )
    if table["time"].iloc[0] > 0:
        table = pd.concat([pd.DataFrame([first]), table], ignore_index=True)
    return table


def numbers_at_risk(time: Sequence[float], at: Sequence[float] = (0, 3, 6, 9, 12)) -> list[int]:
    """Subjects still under observation (time ≥ t) at each time t, for under the survival axis."""
    t = np.asarray(time, float)
    return [int((t >= a).sum()) for a in at]


def km_by_group(times: pd.DataFrame, by: str, min_cell: int = 5) -> tuple[pd.DataFrame, list[str]]:
    """Kaplan–Meier per group of `by` for groups with ≥ min_cell returnees; names of the others."""
    t = times[times["included"]]
    tables, notes = [], []
    for g, sub in t.groupby(by, sort=True):
        if len(sub) < min_cell:
            notes.append(str(g))
            continue
        km = kaplan_meier(sub["time"], sub["event"])
        tables.append(km.assign(group=str(g), n_group=len(sub)))
    cols = ["group", "n_group", "time", "n_risk", "n_events", "survival", "se"]
    cols += ["ci_low", "ci_high"]
    out = pd.concat(tables, ignore_index=True)[cols] if tables else pd.DataFrame(columns=cols)
    return out, notes
