"""Loss to follow-up and staying: who was reached per window, and durability for complete cases
with worst and best case bounds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from evaluation.analysis.monitoring_windows import (
    NO_RECORD,
    NOT_DUE,
    NOT_REACHED_REASONS,
    OUT_OF_DENOMINATOR,
    REMIGRATED,
    STAYED,
    UNKNOWN,
    WINDOW_LABELS,
    WINDOWS,
    category_codes,
)
from evaluation.analysis.rates import Rate, rate_or_reason, wilson


def completeness_matrix(follow: pd.DataFrame) -> pd.DataFrame:
    """Window × response counts: returnees due, reached, each not-reached reason, no record."""
    response, found = pd.factorize(follow["response"])
    found = [str(x) for x in found]
    due = ~np.isin(response, [found.index(x) for x in OUT_OF_DENOMINATOR if x in found])
    other = sorted(
        {x for x in found if (response[due] == found.index(x)).any()}
        - {"reached", NO_RECORD, *NOT_REACHED_REASONS}
    )
    cols = ["reached", *NOT_REACHED_REASONS, *other, NO_RECORD]
    window = category_codes(follow["window"], WINDOWS)
    at = np.array([cols.index(x) if x in cols else -1 for x in found] + [-1])[response]
    cell = due & (window >= 0) & (at >= 0)
    n_cols = len(cols)
    grid = np.bincount(window[cell] * n_cols + at[cell], minlength=len(WINDOWS) * n_cols)
    out = pd.DataFrame(grid.reshape(len(WINDOWS), n_cols), columns=cols)
    out.insert(0, "window", list(WINDOWS))
    out.insert(1, "due", out[cols].sum(axis=1).to_numpy())
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
        return {k: rate_or_reason(getattr(self, k), reasons[k]) for k in reasons}

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
