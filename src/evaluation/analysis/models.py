"""What predicts return: logistic odds ratios and cause-specific Cox hazard ratios, or an honest no.

With a few hundred clients, some covariate cells are empty or tiny. A model fitted anyway
gives absurd ratios (10^9, intervals 0..∞). So every fit is guarded: too few events per
parameter, an empty or tiny cell, non-convergence or separation return descriptives with a
plain reason instead of estimates.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from evaluation.analysis.rates import Z95, wilson

MAX_ABS_COEF = 10.0  # |log ratio| above this (ratio > 22 000) means the fit ran away
_TABLE_COLS = ["term", "variable", "level", "reference", "estimate", "ci_low", "ci_high", "p_value"]


@dataclass(frozen=True)
class ModelResult:
    """Ratios with 95 % intervals when the model is trustworthy; otherwise descriptives + reason."""

    kind: str  # "logistic" (odds ratios) or "cox" (cause-specific hazard ratios)
    outcome: str
    ok: bool
    table: pd.DataFrame  # term, variable, level, reference, estimate, ci_low, ci_high, p_value
    reason: str | None
    descriptives: pd.DataFrame
    n: int
    events: int

    @property
    def ratio_name(self) -> str:
        """'odds ratio' or 'hazard ratio'."""
        return "odds ratio" if self.kind == "logistic" else "hazard ratio"

    def describe(self) -> str:
        """One sentence: what was fitted on how many, or why not."""
        what = "logistic regression" if self.kind == "logistic" else "cause-specific Cox model"
        if self.ok:
            return (
                f"A {what} of {self.outcome} on {self.n} clients ({self.events} events) gives "
                f"{self.ratio_name}s with 95 % Wald intervals."
            )
        return (
            f"No {what} is reported for {self.outcome} ({self.n} clients, {self.events} events): "
            f"{self.reason}. The table shows descriptive rates instead."
        )


def design(
    df: pd.DataFrame, covariates: Sequence[str], reference: Mapping[str, str] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Treatment-coded design matrix and a term key (term, variable, level, reference).

    Text columns become dummies against a reference level (given, else the most frequent);
    numeric columns enter as they are.
    """
    reference = dict(reference or {})
    cols, key = {}, []
    for var in covariates:
        x = df[var]
        if pd.api.types.is_numeric_dtype(x) and not pd.api.types.is_bool_dtype(x):
            cols[var] = x.astype(float).to_numpy()
            key.append({"term": var, "variable": var, "level": "", "reference": ""})
            continue
        x = x.astype(str)
        counts = x.value_counts()
        if not reference.get(var) and counts.empty:  # nobody to model: no levels, no terms
            continue
        ref = reference.get(var) or sorted(counts[counts == counts.max()].index)[0]
        reference[var] = ref
        for level in sorted(set(x.unique()) - {ref}):
            term = f"{var}: {level}"
            cols[term] = (x == level).astype(float).to_numpy()
            key.append({"term": term, "variable": var, "level": level, "reference": ref})
    X = pd.DataFrame(cols, index=df.index)
    return X, pd.DataFrame(key, columns=["term", "variable", "level", "reference"])


def _categorical(df: pd.DataFrame, covariates: Sequence[str]) -> list[str]:
    return [
        v
        for v in covariates
        if not pd.api.types.is_numeric_dtype(df[v]) or pd.api.types.is_bool_dtype(df[v])
    ]


def _cell_problem(
    df: pd.DataFrame, covariates: Sequence[str], event: pd.Series, min_cell: int
) -> str | None:
    """Reason string when some level has no events / no non-events (separation) or tiny cells."""
    y = event.astype(bool)
    for var in _categorical(df, covariates):
        x = df[var].astype(str)
        for level in sorted(x.unique()):
            inlevel = x == level
            ev, non = int((y & inlevel).sum()), int((~y & inlevel).sum())
            if ev == 0 or non == 0:
                which = "no event" if ev == 0 else "only events"
                # no count in the reason: it is printed, and a cell may be 1–4 people
                return (
                    f"separation: {which} among the clients with {var} = {level}, "
                    "so its ratio would be 0 or infinite"
                )
            if min(ev, non) < min_cell:
                return (
                    f"too few clients in one cell: {var} = {level} has too few events or "
                    f"non-events for a stable ratio (at least {min_cell} of each needed)"
                )
    return None


def _epv_problem(events: int, non_events: int, params: int, min_epv: float) -> str | None:
    smaller = min(events, non_events)
    if params == 0:
        return "no covariates to model"
    if smaller < min_epv * params:
        return (
            f"too few events for the model: the smaller outcome group has fewer than "
            f"{min_epv:g} per parameter for {params} parameters"
        )
    return None


def _runaway(params: np.ndarray, bse: np.ndarray) -> str | None:
    if not np.all(np.isfinite(params)) or not np.all(np.isfinite(bse)):
        return "the fit did not give finite estimates (quasi-separation)"
    if np.any(np.abs(params) > MAX_ABS_COEF) or np.any(bse > MAX_ABS_COEF):
        return "the fit ran away to extreme ratios (quasi-separation)"
    return None


def _fit_failure(err: Exception) -> str:
    """Plain words for why a fit failed."""
    name = type(err).__name__
    if "Separation" in name or isinstance(err, RuntimeWarning | OverflowError):
        return (
            "separation: the covariates predict the outcome (almost) perfectly, so the "
            "ratios would be infinite"
        )
    if "LinAlg" in name or "Singular" in str(err):
        return "the covariates are collinear (a level is empty or duplicates another)"
    return f"the model could not be fitted ({name}: {err})"


def _fitted(
    fit: Callable[[], Any], converged: Callable[[Any], bool] = lambda f: True
) -> tuple[Any, str | None]:
    """Run a fit with warnings as errors: the fitted model, and why it cannot be reported (the
    fit failed, did not converge or ran away), None when it can."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            result = fit()
        except Exception as err:  # noqa: BLE001 - separation, singular matrix, overflow
            return None, _fit_failure(err)
    if not converged(result):
        return result, "the fit did not converge"
    return result, _runaway(np.asarray(result.params), np.asarray(result.bse))


def _ratio_table(key: pd.DataFrame, params, bse, pvalues, skip_const: bool) -> pd.DataFrame:
    p = np.asarray(params, dtype=float)
    s = np.asarray(bse, dtype=float)
    pv = np.asarray(pvalues, dtype=float)
    if skip_const:
        p, s, pv = p[1:], s[1:], pv[1:]
    out = key.copy()
    out["estimate"] = np.exp(p)
    out["ci_low"] = np.exp(p - Z95 * s)
    out["ci_high"] = np.exp(p + Z95 * s)
    out["p_value"] = pv
    return out[_TABLE_COLS]


def rate_descriptives(df: pd.DataFrame, outcome: str, covariates: Sequence[str]) -> pd.DataFrame:
    """Outcome share per level of each categorical covariate, with Wilson intervals."""
    rows = []
    for var in _categorical(df, covariates):
        x = df[var].astype(str)
        for level in sorted(x.unique()):
            y = df.loc[x == level, outcome].astype(bool)
            r = wilson(int(y.sum()), len(y))
            rows.append(
                {
                    "variable": var,
                    "level": level,
                    "n": r.n,
                    "N": r.N,
                    "estimate": r.estimate,
                    "ci_low": r.ci_low,
                    "ci_high": r.ci_high,
                }
            )
    return pd.DataFrame(
        rows, columns=["variable", "level", "n", "N", "estimate", "ci_low", "ci_high"]
    )


def logistic(
    df: pd.DataFrame,
    outcome: str,
    covariates: Sequence[str],
    reference: Mapping[str, str] | None = None,
    min_cell: int = 3,
    min_epv: float = 5.0,
) -> ModelResult:
    """Odds ratios (95 % Wald CI) of a binary outcome, guarded against separation and tiny cells."""
    from statsmodels.discrete.discrete_model import Logit
    from statsmodels.tools.tools import add_constant

    data = df[[outcome, *covariates]].dropna()
    y = data[outcome].astype(bool)
    events, n = int(y.sum()), len(y)
    desc = rate_descriptives(data, outcome, covariates)
    X, key = design(data, covariates, reference)

    def fallback(reason: str) -> ModelResult:
        empty = pd.DataFrame(columns=_TABLE_COLS)
        return ModelResult("logistic", outcome, False, empty, reason, desc, n, events)

    reason = _epv_problem(events, n - events, X.shape[1], min_epv) or _cell_problem(
        data, covariates, y, min_cell
    )
    if reason:
        return fallback(reason)
    exog = add_constant(X.to_numpy(), has_constant="add")
    fit, reason = _fitted(
        lambda: Logit(y.astype(float).to_numpy(), exog).fit(disp=0, maxiter=100),
        converged=lambda f: f.mle_retvals.get("converged", False),
    )
    if reason:
        return fallback(reason)
    table = _ratio_table(key, fit.params, fit.bse, fit.pvalues, skip_const=True)
    return ModelResult("logistic", outcome, True, table, None, desc, n, events)


def cox(
    df: pd.DataFrame,
    time: str,
    status: str,
    covariates: Sequence[str],
    cause: int = 1,
    reference: Mapping[str, str] | None = None,
    min_cell: int = 3,
    min_epv: float = 5.0,
    ties: str = "efron",
) -> ModelResult:
    """Cause-specific hazard ratios (PHReg): events of `cause`, all other exits censored."""
    from evaluation.analysis.cox_index import phreg

    data = df[[time, status, *covariates]].dropna()
    ev = data[status].astype(int) == cause
    events, n = int(ev.sum()), len(data)
    label = f"{status} = {cause}"
    desc = _event_descriptives(data, time, ev, covariates)
    X, key = design(data, covariates, reference)

    def fallback(reason: str) -> ModelResult:
        empty = pd.DataFrame(columns=_TABLE_COLS)
        return ModelResult("cox", label, False, empty, reason, desc, n, events)

    # For a hazard model the binding count is events per parameter (no 'non-events' limit).
    reason = _epv_problem(events, events, X.shape[1], min_epv)
    if reason is None:
        reason = _cell_problem(data, covariates, ev, min_cell)
        if reason and "only events" in reason:
            reason = None  # everyone in a level having the event is fine for a hazard model
    if reason:
        return fallback(reason)
    fit, reason = _fitted(
        lambda: phreg(
            data[time].astype(float).to_numpy(), X.to_numpy(), status=ev.to_numpy(), ties=ties
        ).fit()
    )
    if reason:
        return fallback(reason)
    table = _ratio_table(key, fit.params, fit.bse, fit.pvalues, skip_const=False)
    return ModelResult("cox", label, True, table, None, desc, n, events)


def _event_descriptives(
    df: pd.DataFrame, time: str, event: pd.Series, covariates: Sequence[str]
) -> pd.DataFrame:
    rows = []
    for var in _categorical(df, covariates):
        x = df[var].astype(str)
        for level in sorted(x.unique()):
            inlevel = x == level
            pt = float(df.loc[inlevel, time].sum())
            ev = int(event[inlevel].sum())
            rows.append(
                {
                    "variable": var,
                    "level": level,
                    "N": int(inlevel.sum()),
                    "events": ev,
                    "person_months": pt,
                    "rate_per_100_pm": 100 * ev / pt if pt > 0 else math.nan,
                }
            )
    cols = ["variable", "level", "N", "events", "person_months", "rate_per_100_pm"]
    return pd.DataFrame(rows, columns=cols)


def show_table(result: ModelResult) -> pd.DataFrame:
    """What a report shows: the ratios when fitted, otherwise the descriptives."""
    if result.ok:
        out = result.table[["variable", "level", "reference", "estimate", "ci_low", "ci_high"]]
        return out.rename(columns={"estimate": result.ratio_name})
    return result.descriptives
