"""Durability of reintegration after return: RSS scores, staying, loss to follow-up, trajectories.

Definitions follow DOMAIN.md §3. The unit is the returnee: a client with a verified departure
(independent_verified and not unverified) linked to an enrolment of the project. Monitoring
windows are arrival, m1, m3, m6 and m12 months after departure. "Not reached" never counts as
"stayed": durability is given for complete cases and as worst and best case bounds.
"""

from __future__ import annotations

import datetime as dt
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evaluation.analysis.landmark import Landmark, landmark_times, support_by_landmark
from evaluation.analysis.rates import Z95, Rate, wilson, z_for

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
DIMENSIONS: tuple[str, ...] = ("economic", "social", "psychosocial")
SCORES: tuple[str, ...] = ("rss_economic", "rss_social", "rss_psychosocial", "rss_composite")
DAYS_PER_MONTH = 365.25 / 12
DEFAULT_RSS_FILE = Path(__file__).resolve().parents[3] / "config" / "rss.yaml"
IPW_COVARIATES: tuple[str, ...] = ("sex", "age_band", "country")

# Outcome at a window, per returnee.
STAYED, REMIGRATED, UNKNOWN, LOST = "stayed", "re_migrated", "status_unknown", "lost"


# ---------------------------------------------------------------------------------------------
# Configuration


@dataclass(frozen=True)
class RSSConfig:
    """Weights and cut-offs of the RSS composite, versioned and flagged when unverified."""

    version: str
    verified: bool
    weights: dict[str, float]
    cutoffs: tuple[float, ...]
    require_all_dimensions: bool = True
    sources: tuple[str, ...] = ()

    @property
    def normalised_weights(self) -> dict[str, float]:
        """Dimension weights rescaled to sum to 1."""
        total = sum(self.weights.values())
        return {d: self.weights[d] / total for d in DIMENSIONS}


def load_rss_config(path: str | Path | None = None) -> RSSConfig:
    """Read config/rss.yaml (or another file) into an RSSConfig; fail with the key at fault.

    Without a path: the repository's config/rss.yaml, else config/rss.yaml under the cwd.
    """
    import yaml

    if path is None:
        here = Path.cwd() / "config" / "rss.yaml"
        path = DEFAULT_RSS_FILE if DEFAULT_RSS_FILE.exists() else here
    path = Path(path)
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    weights = raw.get("weights") or {}
    missing = [d for d in DIMENSIONS if d not in weights]
    if missing:
        raise ValueError(f"{path.name}: weights lack {', '.join(missing)}")
    if any(float(weights[d]) < 0 for d in DIMENSIONS) or sum(weights.values()) <= 0:
        raise ValueError(f"{path.name}: weights must be non-negative with a positive sum")
    cutoffs = tuple(float(c) for c in raw.get("cutoffs", (0.33, 0.5, 0.66)))
    if not cutoffs or not all(0 < c < 1 for c in cutoffs):
        raise ValueError(f"{path.name}: cutoffs must be numbers strictly between 0 and 1")
    return RSSConfig(
        version=str(raw.get("version", "unversioned")),
        verified=bool(raw.get("verified", False)),
        weights={d: float(weights[d]) for d in DIMENSIONS},
        cutoffs=tuple(sorted(cutoffs)),
        require_all_dimensions=bool(raw.get("require_all_dimensions", True)),
        sources=tuple(raw.get("source_to_check", ()) or ()),
    )


# ---------------------------------------------------------------------------------------------
# Who is followed up, and what happened in each window


def _dates(s: pd.Series) -> pd.Series:
    return pd.to_datetime(s, errors="coerce")


def _age_band(age: pd.Series) -> pd.Series:
    band = pd.cut(age, [-1, 29, 44, 200], labels=["under 30", "30-44", "45 and over"])
    return band.astype("str").where(age.notna(), "unknown")


def main_support_type(support: pd.DataFrame, client_ids: Sequence[str]) -> pd.Series:
    """Each returnee's main support type (largest amount, then earliest); 'none' without support.

    One type per person keeps groups disjoint for survival curves by support type.
    """
    s = support[support["client_id"].isin(list(client_ids))].copy()
    out = pd.Series("none", index=pd.Index(list(client_ids), name="client_id"), dtype="str")
    if s.empty:
        return out
    s["_amount"] = pd.to_numeric(s.get("amount_eur"), errors="coerce").fillna(0.0)
    s["_date"] = _dates(s["support_date"])
    s = s.sort_values(
        ["client_id", "_amount", "_date", "support_type"], ascending=[True, False, True, True]
    )
    first = s.drop_duplicates("client_id").set_index("client_id")["support_type"].astype("str")
    out.loc[first.index] = first
    return out


def returnees(tables: dict[str, pd.DataFrame], project: str) -> pd.DataFrame:
    """One row per returnee of the project: verified departure linked to a project enrolment.

    Columns: client_id, enrolment_id, departure_date, country (destination, else planned
    country of return), sex, age_band, household_size, main_support.
    """
    dep = tables["departures"]
    verified = dep[
        (dep["departure_type"] == "independent_verified") & (dep["verification"] != "unverified")
    ]
    enr = tables["enrolments"][["enrolment_id", "project"]]
    linked = verified.merge(enr, on="enrolment_id", how="inner")
    linked = linked[linked["project"].astype("str").str.upper() == project.upper()]
    linked = linked.assign(departure_date=_dates(linked["departure_date"]))
    linked = linked.sort_values(["client_id", "departure_date"]).drop_duplicates("client_id")
    cols = ["client_id", "sex", "birth_year", "country_of_return", "household_size"]
    clients = tables["clients"][[c for c in cols if c in tables["clients"].columns]]
    r = linked[["client_id", "enrolment_id", "departure_date", "destination"]].merge(
        clients, on="client_id", how="left"
    )
    r["country"] = (
        r["destination"].astype("str").where(r["destination"].notna(), r.get("country_of_return"))
    )
    r["country"] = r["country"].fillna("unknown").astype("str")
    birth = pd.to_numeric(r.get("birth_year"), errors="coerce")
    r["age_band"] = _age_band(r["departure_date"].dt.year - birth)
    r["sex"] = r["sex"].fillna("unknown").astype("str")
    support = tables.get("support", pd.DataFrame(columns=["client_id", "support_type"]))
    main = main_support_type(support, r["client_id"].tolist())
    r["main_support"] = r["client_id"].map(main).fillna("none").astype("str")
    keep = ["client_id", "enrolment_id", "departure_date", "country", "sex", "age_band"]
    keep += ["household_size", "main_support"]
    return r[[c for c in keep if c in r.columns]].reset_index(drop=True)


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
    mon = monitoring[monitoring["client_id"].isin(ids["client_id"])].copy()
    mon["contact_date"] = _dates(mon["contact_date"])
    cols = ["client_id", "window", "contact_date", "reached", "not_reached_reason"]
    cols += ["residence_status", "rss_economic", "rss_social", "rss_psychosocial"]
    mon = mon[[c for c in cols if c in mon.columns]]
    f = grid.merge(mon, on=["client_id", "window"], how="left")
    f["months"] = f["window"].map(WINDOW_MONTHS).astype(int)
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
    f.loc[reached & (status == "in_country_of_return"), "outcome"] = STAYED
    f.loc[reached & (status == "re_migrated"), "outcome"] = REMIGRATED
    f.loc[reached & ~status.isin(["in_country_of_return", "re_migrated"]), "outcome"] = UNKNOWN
    f["carried_forward"] = False
    f["window"] = pd.Categorical(f["window"], categories=list(WINDOWS), ordered=True)
    f = f.sort_values(["client_id", "window"]).reset_index(drop=True)
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
    f["window"] = f["window"].astype("str")
    for c in ("rss_economic", "rss_social", "rss_psychosocial"):
        f[c] = pd.to_numeric(f.get(c), errors="coerce").where(reached)
    return f


# ---------------------------------------------------------------------------------------------
# Sustainability scores


def composite_scores(follow: pd.DataFrame, rss: RSSConfig) -> pd.DataFrame:
    """Add rss_composite: weighted mean of the dimension scores (weights from rss.yaml).

    With require_all_dimensions the composite is missing when any dimension is; otherwise the
    weights of the present dimensions are rescaled.
    """
    w = rss.normalised_weights
    dims = np.column_stack([follow[f"rss_{d}"].to_numpy(float) for d in DIMENSIONS])
    wv = np.array([w[d] for d in DIMENSIONS])
    present = ~np.isnan(dims)
    num = np.nansum(dims * wv, axis=1)
    den = (present * wv).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        comp = np.where(den > 0, num / den, np.nan)
    if rss.require_all_dimensions:
        comp = np.where(present.all(axis=1), comp, np.nan)
    return follow.assign(rss_composite=comp)


def score_distribution(scored: pd.DataFrame) -> pd.DataFrame:
    """Per window and score: n, mean, sd, quartiles, min and max of the scores of the reached."""
    rows = []
    for window in WINDOWS:
        sub = scored[scored["window"] == window]
        for score in SCORES:
            x = sub[score].dropna().to_numpy(float)
            q = np.quantile(x, [0, 0.25, 0.5, 0.75, 1]) if len(x) else [np.nan] * 5
            rows.append(
                {
                    "window": window,
                    "score": score.removeprefix("rss_"),
                    "n": len(x),
                    "mean": x.mean() if len(x) else np.nan,
                    "sd": x.std(ddof=1) if len(x) > 1 else np.nan,
                    "min": q[0],
                    "q25": q[1],
                    "median": q[2],
                    "q75": q[3],
                    "max": q[4],
                }
            )
    return pd.DataFrame(rows)


CUTOFF_TOLERANCE = 1e-9  # scores carry 3 decimals; a weighted mean of them is not exact


def at_or_above(scores: pd.Series | np.ndarray, cutoff: float) -> int:
    """How many scores are at or above the cut-off, a score equal to it up to floating-point
    error included (0.1·0.3 + … gives 0.32999999999999996 for a composite of exactly 0.33)."""
    x = np.asarray(scores, dtype=float)
    return int(np.sum(x >= cutoff - CUTOFF_TOLERANCE))


def share_above(scored: pd.DataFrame, cutoffs: Sequence[float]) -> pd.DataFrame:
    """Per window and cut-off: returnees with composite at or above it, n of N scored, Wilson CI."""
    rows = []
    for window in WINDOWS:
        x = scored.loc[scored["window"] == window, "rss_composite"].dropna()
        for c in cutoffs:
            row = {"window": window, "cutoff": float(c), "n": at_or_above(x, c), "N": len(x)}
            r = wilson(row["n"], row["N"]) if len(x) else None
            row |= {
                "estimate": r.estimate if r else np.nan,
                "ci_low": r.ci_low if r else np.nan,
                "ci_high": r.ci_high if r else np.nan,
            }
            rows.append(row)
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------
# Loss to follow-up and staying


def completeness_matrix(follow: pd.DataFrame) -> pd.DataFrame:
    """Window × response counts: returnees due, reached, each not-reached reason, no record."""
    due = follow[~follow["response"].isin(OUT_OF_DENOMINATOR)]
    other = sorted(set(due["response"]) - {"reached", NO_RECORD, *NOT_REACHED_REASONS})
    cols = ["reached", *NOT_REACHED_REASONS, *other, NO_RECORD]
    counts = pd.crosstab(
        pd.Categorical(due["window"], categories=list(WINDOWS)),
        pd.Categorical(due["response"], categories=cols),
        dropna=False,
    )
    counts = counts.reindex(index=list(WINDOWS), columns=cols, fill_value=0)
    out = counts.reset_index(drop=True)
    out.columns.name = None
    out.insert(0, "window", list(WINDOWS))
    out.insert(1, "due", counts.sum(axis=1).to_numpy())
    nd = follow[follow["response"] == NOT_DUE].groupby("window").size()
    out["not_due"] = [int(nd.get(w, 0)) for w in WINDOWS]
    out["share_reached"] = np.where(
        out["due"] > 0, out["reached"] / out["due"].clip(lower=1), np.nan
    )
    out["status_unknown"] = [
        int(((follow["window"] == w) & (follow["outcome"] == UNKNOWN)).sum()) for w in WINDOWS
    ]
    return out


@dataclass(frozen=True)
class Bounds:
    """Durability at one window three ways, with the counts they come from."""

    window: str
    complete: Rate | None
    worst: Rate | None
    best: Rate | None
    stayed: int
    re_migrated: int
    unknown: int
    carried_forward: int
    due: int

    def as_dict(self) -> dict[str, Any]:
        """Metric form: complete / worst / best, each {estimate, ci_low, ci_high, n, N}, or
        {estimate: None, reason} when nobody is in its denominator."""
        label = WINDOW_LABELS.get(self.window, self.window).lower()
        reasons = {
            "complete": f"no returnee with a known residence at {label}",
            "worst": f"no returnee was due for the {label} contact",
            "best": f"no returnee was due for the {label} contact",
        }
        return {k: _rate_or_reason(getattr(self, k), reasons[k]) for k in reasons}

    def table(self) -> pd.DataFrame:
        """Tidy rows: approach, what counts, n, N, estimate and interval."""
        meaning = {
            "complete": "stayed ÷ returnees with known residence",
            "worst": "stayed ÷ all returnees due (unknown = not durable)",
            "best": "(stayed + unknown) ÷ all returnees due (unknown = durable)",
        }
        rows = []
        for k, text in meaning.items():
            r = getattr(self, k)
            rows.append(
                {
                    "window": self.window,
                    "approach": k,
                    "definition": text,
                    "n": r.n if r else 0,
                    "N": r.N if r else 0,
                    "estimate": r.estimate if r else np.nan,
                    "ci_low": r.ci_low if r else np.nan,
                    "ci_high": r.ci_high if r else np.nan,
                }
            )
        return pd.DataFrame(rows)


def durability_bounds(follow: pd.DataFrame, window: str = "m12") -> Bounds:
    """Durability at a window: complete cases, worst case and best case.

    Known residence = stayed or re-migrated (reached, or re-migration carried forward).
    Unknown = not reached, no record, or reached without a residence status. Complete case:
    stayed / known; worst: stayed / due; best: (stayed + unknown) / due.
    """
    w = follow[(follow["window"] == window) & ~follow["response"].isin(OUT_OF_DENOMINATOR)]
    stayed = int((w["outcome"] == STAYED).sum())
    remig = int((w["outcome"] == REMIGRATED).sum())
    due = len(w)
    unknown = due - stayed - remig
    known = stayed + remig
    return Bounds(
        window=window,
        complete=wilson(stayed, known) if known else None,
        worst=wilson(stayed, due) if due else None,
        best=wilson(stayed + unknown, due) if due else None,
        stayed=stayed,
        re_migrated=remig,
        unknown=unknown,
        carried_forward=int(w["carried_forward"].sum()),
        due=due,
    )


def staying(follow: pd.DataFrame, window: str) -> Rate | None:
    """Share still in the country of return at a window among those whose residence is known."""
    return durability_bounds(follow, window).complete


# ---------------------------------------------------------------------------------------------
# Time to re-migration (Kaplan–Meier)


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
    ev = obs[obs["outcome"] == REMIGRATED].groupby("client_id")["t"].min()
    stay = obs[obs["outcome"] == STAYED].groupby("client_id")["t"].max()
    out = returnees[["client_id", "country", "main_support"]].copy()
    out["event"] = out["client_id"].isin(ev.index).astype(int)
    out["time"] = out["client_id"].map(ev)
    out["time"] = out["time"].fillna(out["client_id"].map(stay))
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


# ---------------------------------------------------------------------------------------------
# Inverse probability of response weighting


@dataclass(frozen=True)
class IPWResult:
    """Durability at a window re-weighted for response; `done` is False with a reason if not."""

    window: str
    done: bool
    reason: str
    estimate: float = math.nan
    ci_low: float = math.nan
    ci_high: float = math.nan
    n_responders: int = 0
    n_nonresponders: int = 0
    covariates: tuple[str, ...] = ()
    max_weight: float = math.nan

    def as_dict(self) -> dict[str, Any]:
        """Metric form."""
        return {
            "estimate": self.estimate if self.done else None,
            "ci_low": self.ci_low if self.done else None,
            "ci_high": self.ci_high if self.done else None,
            "n": self.n_responders,
            "N": self.n_responders + self.n_nonresponders,
            "done": self.done,
            "reason": self.reason,
        }


def _design(frame: pd.DataFrame, covariates: Sequence[str], min_level: int) -> pd.DataFrame:
    """Intercept plus treatment dummies; levels with fewer than min_level people become 'other'."""
    parts = [pd.Series(1.0, index=frame.index, name="const")]
    for c in covariates:
        x = frame[c].astype("str").fillna("unknown")
        counts = x.value_counts()
        x = x.where(x.map(counts) >= min_level, "other")
        d = pd.get_dummies(x, prefix=c, drop_first=True, dtype=float)
        parts.append(d)
    X = pd.concat(parts, axis=1)
    return X.loc[:, X.std(ddof=0).gt(0) | (X.columns == "const")]


def ipw_durability(
    follow: pd.DataFrame,
    returnees: pd.DataFrame,
    window: str = "m12",
    covariates: Sequence[str] = IPW_COVARIATES,
    min_responders: int = 50,
    min_nonresponders: int = 10,
    min_level: int = 5,
    level: float = 0.95,
) -> IPWResult:
    """Durability among responders weighted by 1/P(response | pre-specified covariates).

    Response = residence known at the window. P is a logistic regression (statsmodels GLM);
    the estimate is the weighted share stayed (Hajek) with a sandwich interval that treats
    the weights as known. Done only when n allows (≥ min_responders and ≥ min_nonresponders).
    """
    w = follow[(follow["window"] == window) & ~follow["response"].isin(OUT_OF_DENOMINATOR)]
    w = w[["client_id", "outcome"]].merge(returnees, on="client_id", how="left")
    resp = w["outcome"].isin([STAYED, REMIGRATED]).astype(int)
    n1, n0 = int(resp.sum()), int((1 - resp).sum())
    covariates = tuple(covariates)
    if n1 < min_responders or n0 < min_nonresponders:
        return IPWResult(
            window,
            False,
            f"not done: {n1} returnees with known residence and {n0} without at {window}; "
            f"weighting needs at least {min_responders} and {min_nonresponders}",
            n_responders=n1,
            n_nonresponders=n0,
            covariates=covariates,
        )
    import statsmodels.api as sm

    X = _design(w, covariates, min_level)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fit = sm.GLM(
                resp.to_numpy(float), X.to_numpy(float), family=sm.families.Binomial()
            ).fit()
        except Exception as exc:  # noqa: BLE001 - report, never crash the notebook
            return IPWResult(
                window,
                False,
                f"not done: response model failed ({exc})",
                n_responders=n1,
                n_nonresponders=n0,
                covariates=covariates,
            )
    p = np.clip(np.asarray(fit.predict(X.to_numpy(float))), 0.02, 1.0)
    m = resp.to_numpy(bool)
    wt = 1.0 / p[m]
    y = (w.loc[m, "outcome"] == STAYED).to_numpy(float)
    est = float((wt * y).sum() / wt.sum())
    se = float(np.sqrt((wt**2 * (y - est) ** 2).sum()) / wt.sum())
    z = Z95 if level == 0.95 else z_for(level)
    return IPWResult(
        window,
        True,
        f"weighted by the inverse probability of known residence given {', '.join(covariates)}",
        estimate=est,
        ci_low=max(0.0, est - z * se),
        ci_high=min(1.0, est + z * se),
        n_responders=n1,
        n_nonresponders=n0,
        covariates=covariates,
        max_weight=float(wt.max()),
    )


# ---------------------------------------------------------------------------------------------
# Trajectories


@dataclass(frozen=True)
class Trajectory:
    """Change of the composite across windows: MixedLM estimates, or descriptives and why."""

    method: str  # "mixedlm" or "descriptive"
    table: pd.DataFrame
    message: str
    n_returnees: int
    n_observations: int
    reference: str = "arrival"


def trajectory_means(scored: pd.DataFrame, score: str = "rss_composite") -> pd.DataFrame:
    """Per window: returnees scored, mean and sd of the score (descriptive trajectory)."""
    rows = []
    for w in WINDOWS:
        x = scored.loc[scored["window"] == w, score].dropna()
        rows.append(
            {
                "window": w,
                "n": len(x),
                "mean": x.mean() if len(x) else np.nan,
                "sd": x.std(ddof=1) if len(x) > 1 else np.nan,
            }
        )
    return pd.DataFrame(rows)


MIXEDLM_MAX_RETURNEES = 20_000


def trajectory_model(
    scored: pd.DataFrame,
    score: str = "rss_composite",
    min_returnees: int = 10,
    max_returnees: int = MIXEDLM_MAX_RETURNEES,
) -> Trajectory:
    """Mixed model of the score on window (random intercept per returnee, statsmodels MixedLM).

    Coefficients are the mean change from the first window with data. Falls back to
    descriptive means with a reason when data are too few or the fit does not converge.
    Above max_returnees (national-scale data) the model is fitted on a seeded random sample
    of returnees, which the message says: MixedLM's cost grows with the number of groups and
    the sample already pins the window effects down to a small fraction of their scale.
    """
    d = scored[["client_id", "window", score]].dropna()
    n_ret, n_obs = d["client_id"].nunique(), len(d)
    sampled = ""
    if n_ret > max_returnees:
        ids = np.sort(d["client_id"].unique())
        keep = np.random.default_rng(20151001).choice(ids, size=max_returnees, replace=False)
        d = d[d["client_id"].isin(keep)]
        sampled = f" (fitted on a seeded random sample of {max_returnees} returnees)"
    windows = [w for w in WINDOWS if (d["window"] == w).any()]
    desc = trajectory_means(scored, score)

    def fallback(why: str) -> Trajectory:
        return Trajectory("descriptive", desc, why, n_ret, n_obs, windows[0] if windows else "")

    repeated = int((d.groupby("client_id").size() >= 2).sum())
    if len(windows) < 2 or repeated < min_returnees:
        return fallback(
            f"no mixed model: {repeated} returnees scored in two or more windows "
            f"(at least {min_returnees} needed); means per window shown instead"
        )
    import statsmodels.formula.api as smf
    from statsmodels.tools.sm_exceptions import ConvergenceWarning

    d = d.assign(window=pd.Categorical(d["window"], categories=windows), y=d[score])
    ref = windows[0]
    formula = f"y ~ C(window, Treatment('{ref}'))"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            res = smf.mixedlm(formula, d, groups=d["client_id"]).fit(reml=True)
        except Exception as exc:  # noqa: BLE001
            return fallback(f"the mixed model failed ({type(exc).__name__}); means shown instead")
    msgs = [str(c.message) for c in caught if issubclass(c.category, ConvergenceWarning)]
    boundary = float(np.asarray(res.cov_re)[0, 0]) <= 1e-6 * float(res.scale)
    failed = [m for m in msgs if "boundary" not in m]
    ci = res.conf_int()
    fe_ci = ci.loc[res.fe_params.index].to_numpy()
    if not res.converged or failed or not np.all(np.isfinite(fe_ci)):
        return fallback("the mixed model did not converge; means per window shown instead")
    rows = [{"window": ref, "change": 0.0, "ci_low": np.nan, "ci_high": np.nan}]
    for w in windows[1:]:
        key = f"C(window, Treatment('{ref}'))[T.{w}]"
        rows.append(
            {
                "window": w,
                "change": float(res.fe_params[key]),
                "ci_low": float(ci.loc[key, 0]),
                "ci_high": float(ci.loc[key, 1]),
            }
        )
    table = pd.DataFrame(rows).merge(desc, on="window", how="left")
    msg = (
        f"mixed model with a random intercept per returnee: {n_obs} scores of {n_ret} "
        f"returnees{sampled}; change from {WINDOW_LABELS[ref].lower()}"
    )
    if boundary:
        msg += (
            " (the between-returnee variance was estimated at its boundary, so the model "
            "adds little beyond the means)"
        )
    return Trajectory("mixedlm", table, msg, n_ret, n_obs, ref)


# ---------------------------------------------------------------------------------------------
# The whole analysis of one project


@dataclass
class DurabilityAnalysis:
    """Everything the durability notebook shows for one project."""

    project: str
    rss: RSSConfig
    returnees: pd.DataFrame
    follow: pd.DataFrame
    completeness: pd.DataFrame
    distribution: pd.DataFrame
    shares: pd.DataFrame
    bounds: dict[str, Bounds]
    times: pd.DataFrame
    km: pd.DataFrame
    km_support: pd.DataFrame  # by support received by the landmark, from the landmark
    km_country: pd.DataFrame
    group_notes: dict[str, list[str]]
    ipw: IPWResult
    trajectory: Trajectory
    landmark: Landmark
    min_cell: int = 5
    threshold: int = 5
    at_risk_times: tuple[float, ...] = (0, 3, 6, 9, 12)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """Lower-case project id for metric keys."""
        return self.project.lower()

    @property
    def at_risk(self) -> list[int]:
        """Numbers at risk under the survival axis."""
        t = self.times[self.times["included"]]["time"]
        return numbers_at_risk(t, self.at_risk_times)


def analyse(
    tables: dict[str, pd.DataFrame],
    project: str,
    rss: RSSConfig | None = None,
    cutoff: dt.date | None = None,
    min_cell: int = 5,
    threshold: int = 5,
    grace_days: int = 0,
    deaths_leave: bool = False,
    landmark_months: float | None = None,
) -> DurabilityAnalysis:
    """Run every durability computation for one return project.

    cutoff: the data cut-off (windows after it are not yet due); min_cell: smallest group with
    its own survival curve; threshold: small-count limit for the tables and sentences.
    landmark_months: the landmark of the support-type curves (support received by then,
    followed from then); None reads it from the repository's analysis plan.
    """
    rss = rss or load_rss_config()
    ret = returnees(tables, project)
    fol = follow_up(
        tables["monitoring"], ret, cutoff=cutoff, grace_days=grace_days, deaths_leave=deaths_leave
    )
    fol = composite_scores(fol, rss)
    times = remigration_times(fol, ret)
    inc = times[times["included"]]
    if landmark_months is None:
        from evaluation.analysis.plan import load_plan

        landmark_months = load_plan().durability.landmark_months
    support = tables.get("support", pd.DataFrame(columns=["client_id", "support_type"]))
    by_landmark = main_support_type(
        support_by_landmark(support, ret, landmark_months), ret["client_id"].tolist()
    )
    lm = landmark_times(
        times.assign(main_support=times["client_id"].map(by_landmark).fillna("none")),
        landmark_months,
    )
    km_s, notes_s = km_by_group(lm.times, "main_support", min_cell)
    km_c, notes_c = km_by_group(times, "country", min_cell)
    return DurabilityAnalysis(
        project=project,
        rss=rss,
        returnees=ret,
        follow=fol,
        completeness=completeness_matrix(fol),
        distribution=score_distribution(fol),
        shares=share_above(fol, rss.cutoffs),
        bounds={w: durability_bounds(fol, w) for w in ("m6", "m12")},
        times=times,
        km=kaplan_meier(inc["time"], inc["event"]),
        km_support=km_s,
        km_country=km_c,
        group_notes={"main_support": notes_s, "country": notes_c},
        ipw=ipw_durability(fol, ret, "m12"),
        trajectory=trajectory_model(fol),
        landmark=lm,
        min_cell=min_cell,
        threshold=threshold,
    )


def _rate_or_reason(r: Rate | None, reason: str) -> dict:
    """A rate's metric form, or estimate None with the reason there is none (N = 0)."""
    if r is not None:
        return r.as_dict()
    return {"estimate": None, "ci_low": None, "ci_high": None, "n": 0, "N": 0, "reason": reason}


def composite_metric(a: DurabilityAnalysis, window: str = "m12") -> dict[str, Any]:
    """Mean composite at a window and the share at or above each cut-off."""
    x = a.follow.loc[a.follow["window"] == window, "rss_composite"].dropna()
    out: dict[str, Any] = {
        "mean": float(x.mean()) if len(x) else None,
        "n": len(x),
        "rss_config_version": a.rss.version,
        "rss_verified": a.rss.verified,
    }
    label = WINDOW_LABELS.get(window, window).lower()
    if not len(x):
        out["reason"] = f"no returnee was scored at {label}"
    for c in a.rss.cutoffs:
        r = wilson(at_or_above(x, c), len(x)) if len(x) else None
        out[f"share_above_{c:g}"] = _rate_or_reason(r, f"no returnee was scored at {label}")
    return out


def _shown(n: int, threshold: int) -> int | None:
    return None if 0 < n < threshold else int(n)


def metrics(a: DurabilityAnalysis) -> dict[str, Any]:
    """Headline metrics under stable keys (<project>.durability_12m, .rss_composite_12m, ...)."""
    k = a.key
    return {
        f"{k}.returnees": len(a.returnees),
        f"{k}.durability_12m": a.bounds["m12"].as_dict(),
        f"{k}.durability_6m": a.bounds["m6"].as_dict(),
        f"{k}.staying_6m": _rate_or_reason(
            a.bounds["m6"].complete, "no returnee with a known residence at 6 months"
        ),
        f"{k}.staying_12m": _rate_or_reason(
            a.bounds["m12"].complete, "no returnee with a known residence at 12 months"
        ),
        f"{k}.reached_6m": _rate_or_reason(
            reached_rate(a, "m6"), "no returnee was due for the 6-month contact"
        ),
        f"{k}.reached_12m": _rate_or_reason(
            reached_rate(a, "m12"), "no returnee was due for the 12-month contact"
        ),
        f"{k}.rss_composite_12m": composite_metric(a, "m12"),
        f"{k}.durability_12m_ipw": a.ipw.as_dict(),
        f"{k}.trajectory": {
            "method": a.trajectory.method,
            "n_returnees": a.trajectory.n_returnees,
            "n_scores": a.trajectory.n_observations,
        },
        f"{k}.support_landmark": {  # counts from 1 to threshold − 1 are withheld (None)
            "landmark_months": a.landmark.months,
            "followed": _shown(len(a.landmark.times), a.threshold),
            "excluded": _shown(a.landmark.excluded, a.threshold),
        },
    }


def reached_rate(a: DurabilityAnalysis, window: str) -> Rate | None:
    row = a.completeness.set_index("window").loc[window]
    return wilson(int(row["reached"]), int(row["due"])) if row["due"] else None


def at_risk_table(a: DurabilityAnalysis) -> pd.DataFrame:
    """Months since return and the numbers still under observation."""
    return pd.DataFrame({"months": list(a.at_risk_times), "at_risk": a.at_risk})


def comparison_frame(analyses: Sequence[DurabilityAnalysis]) -> pd.DataFrame:
    """One tidy row per project: returnees, reached at 12 months, durability three ways, score."""
    rows = []
    for a in analyses:
        b = a.bounds["m12"]
        m = composite_metric(a, "m12")
        reached = reached_rate(a, "m12")
        row: dict[str, Any] = {
            "project": a.project,
            "returnees": len(a.returnees),
            "reached_12m": reached.n if reached else 0,
            "due_12m": reached.N if reached else 0,
        }
        for name, r in (
            ("staying_6m", a.bounds["m6"].complete),
            ("complete_12m", b.complete),
            ("worst_12m", b.worst),
            ("best_12m", b.best),
        ):
            row |= {
                f"{name}_n": r.n if r else 0,
                f"{name}_N": r.N if r else 0,
                f"{name}_estimate": r.estimate if r else np.nan,
                f"{name}_ci_low": r.ci_low if r else np.nan,
                f"{name}_ci_high": r.ci_high if r else np.nan,
            }
        row |= {
            "composite_mean_12m": m["mean"] if m["mean"] is not None else np.nan,
            "scored_12m": m["n"],
        }
        rows.append(row)
    return pd.DataFrame(rows)


def comparison_metrics(analyses: Sequence[DurabilityAnalysis]) -> dict[str, Any]:
    """Newcombe difference of complete-case durability at 12 months, each project vs the first."""
    from evaluation.analysis.rates import newcombe

    out: dict[str, Any] = {}
    if not analyses:
        return out
    base = analyses[0]
    rb = base.bounds["m12"].complete
    for a in analyses[1:]:
        ra = a.bounds["m12"].complete
        key = f"comparison.{a.key}_vs_{base.key}.durability_12m_complete_difference"
        if ra and rb:
            out[key] = newcombe(ra.n, ra.N, rb.n, rb.N).as_dict()
        else:
            lacking = " and ".join(x.project for x, r in ((a, ra), (base, rb)) if r is None)
            out[key] = {
                "estimate": None,
                "reason": f"{lacking}: no returnee with a known residence at 12 months",
            }
    return out
