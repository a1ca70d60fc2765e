"""Support spending per enrolled client, per verified return and per returnee still staying.

Estimand (per project): the support records' known amounts (`amount_eur`) given after a
client's verified return in that project, divided by (a) the clients enrolled, (b) the
verified returns and (c) the returnees known to be in the country of return at the 12-month
contact. Each is a ratio of two sums over enrolled clients; its 95 % interval comes from the
delta method (a seeded client bootstrap agrees; see the tests). Items without an amount are
counted apart: the spending is then a lower bound, and the result says how many are missing.
Project budgets are not in the case data, so overhead is not part of these figures.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from evaluation.analysis import conversion, monitoring_windows
from evaluation.analysis.keyed_codes import shared_codes
from evaluation.analysis.rates import Z95
from evaluation.data.membership import member


@dataclass(frozen=True)
class Ratio:
    """Euros per unit (client, return, stayer) with a delta-method 95 % interval."""

    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    total_eur: float
    units: int
    N: int

    def as_dict(self) -> dict[str, float | int | None]:
        """JSON-ready form with stable keys."""
        return asdict(self)


@dataclass(frozen=True)
class Efficiency:
    """Spending ratios of one project, with what the amounts cover."""

    project: str
    enrolled: int
    per_enrolled: Ratio
    per_return: Ratio
    per_staying_12m: Ratio
    items: int
    items_without_amount: int
    clients_with_support: int
    largest_two_share: float | None  # share of spending by the two largest recipients
    client_amounts: np.ndarray = field(
        repr=False, compare=False, default_factory=lambda: np.zeros(0)
    )


def _ratio(x: np.ndarray, y: np.ndarray) -> Ratio:
    """sum(x)/sum(y) over n units, delta-method interval on the ratio of means."""
    n = len(x)
    total, units = float(x.sum()), int(y.sum())
    if n == 0 or units == 0:
        return Ratio(None, None, None, total, units, n)
    r = total / units
    if n < 2:
        return Ratio(r, None, None, total, units, n)
    resid = x - r * y
    se = math.sqrt(resid.var(ddof=1) / n) / (units / n)
    return Ratio(r, max(0.0, r - Z95 * se), r + Z95 * se, total, units, n)


def client_spending(frame: pd.DataFrame, support: pd.DataFrame) -> tuple[pd.Series, int, int]:
    """Known support euros per enrolled client, given on or after the client's verified return.

    Returns the per-client sums (0 for clients without support), the items counted and the
    counted items without an amount.
    """
    returned = frame.loc[frame["returned"], ["client_id", "departure_date"]]
    own, theirs, n = shared_codes(frame["client_id"], support["client_id"])
    if n < len(frame):  # a client twice in the frame: the join on ids itself
        s = support.merge(returned, on="client_id", how="inner")
        s = s[pd.to_datetime(s["support_date"]) >= pd.to_datetime(s["departure_date"])]
        amount = pd.to_numeric(s["amount_eur"], errors="coerce")
        per_client = amount.fillna(0.0).groupby(s["client_id"]).sum()
        spend = frame["client_id"].map(per_client).fillna(0.0).astype(float)
        return spend, len(s), int(amount.isna().sum())
    # one row per client: code k is the frame's row k; a support row of a returned client
    # gets that client's departure date (the inner join on client_id, row for row)
    back = frame["returned"].to_numpy(bool)
    mine = theirs >= 0
    mine[mine] = back[theirs[mine]]
    code = theirs[mine]
    departed = frame["departure_date"].to_numpy()[code]
    when = pd.to_datetime(support.loc[mine, "support_date"]).to_numpy()
    after = when >= pd.to_datetime(pd.Series(departed)).to_numpy()
    amount = pd.to_numeric(support.loc[mine, "amount_eur"], errors="coerce")[after]
    per_client = amount.fillna(0.0).groupby(code[after]).sum()  # summed as by client id
    spend = np.zeros(len(frame))
    spend[per_client.index.to_numpy()] = per_client.to_numpy()
    return (
        pd.Series(spend, index=frame.index, name="client_id"),
        len(amount),
        int(amount.isna().sum()),
    )


def efficiency(
    project: str,
    frame: pd.DataFrame,
    support: pd.DataFrame,
    staying_12m: Iterable[str],
) -> Efficiency:
    """Spending ratios for one project from its client frame (conversion.client_frame)."""
    spend, items, missing = client_spending(frame, support)
    x = spend.to_numpy()
    ones = np.ones(len(x))
    returned = frame["returned"].to_numpy(dtype=float)
    keys = staying_12m if isinstance(staying_12m, pd.Series) else set(staying_12m)
    stayed = member(frame["client_id"], keys).to_numpy(dtype=float) * returned
    total = x.sum()
    top2 = float(np.sort(x)[-2:].sum() / total) if total > 0 else None
    return Efficiency(
        project=project,
        enrolled=len(x),
        per_enrolled=_ratio(x, ones),
        per_return=_ratio(x, returned),
        per_staying_12m=_ratio(x, stayed),
        items=items,
        items_without_amount=missing,
        clients_with_support=int((x > 0).sum()),
        largest_two_share=top2,
        client_amounts=x,
    )


# the prepared tables' columns project_efficiency reads, given the project's client frame
COLUMNS: dict[str, list[str]] = {
    "departures": ["client_id", "enrolment_id", "departure_date", "departure_type", "verification"],
    "enrolments": ["enrolment_id", "project"],
    "monitoring": ["client_id", "window", "reached", "residence_status"],
    "support": ["client_id", "amount_eur", "support_date"],
}


def project_efficiency(
    tables: dict[str, pd.DataFrame], project: str, cutoff=None, frame: pd.DataFrame | None = None
) -> Efficiency:
    """Efficiency of one return project from the prepared tables (stayers: the 12-month contact,
    which the data cut-off does not change; frame: the project's client frame as the conversion
    notebook built it, else built here from every table)."""
    if conversion.nothing_to_evaluate(tables, project):  # no enrolments: ratios of nobody
        frame = pd.DataFrame(
            {
                "client_id": pd.Series(dtype=str),
                "returned": pd.Series(dtype=bool),
                "departure_date": pd.Series(dtype="datetime64[ns]"),
            }
        )
    elif frame is None:
        frame = conversion.client_frame(tables, project, kind="return")
    ids = monitoring_windows.returnee_ids(tables, project)
    stayed = monitoring_windows.staying_at(tables["monitoring"], ids, "m12")
    return efficiency(project, frame, tables["support"], stayed)


def stayers_12m(follow: pd.DataFrame) -> pd.Series:
    """The returnees known to be in the country of return at the 12-month contact, from a
    follow-up grid of the returnees (monitoring_windows.follow_up) made
    with any cut-off, grace period or handling of deaths: those options only move windows out
    of the denominators or carry a re-migration into later unknown windows, never make or
    unmake a stayed outcome."""
    stayed = (follow["window"] == "m12") & (follow["outcome"] == monitoring_windows.STAYED)
    return follow.loc[stayed, "client_id"]


def efficiency_table(results: Iterable[Efficiency]) -> pd.DataFrame:
    """Tidy table: one row per project and denominator."""
    rows = []
    for e in results:
        for per, r in (
            ("enrolled client", e.per_enrolled),
            ("verified return", e.per_return),
            ("returnee staying at 12 months", e.per_staying_12m),
        ):
            rows.append(
                {
                    "project": e.project,
                    "per": per,
                    "eur": r.estimate,
                    "ci_low": r.ci_low,
                    "ci_high": r.ci_high,
                    "total_eur": r.total_eur,
                    "units": r.units,
                    "N": r.N,
                    "clients_with_support": e.clients_with_support,
                    "items": e.items,
                    "items_without_amount": e.items_without_amount,
                }
            )
    return pd.DataFrame(rows)
