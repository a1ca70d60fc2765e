"""statsmodels' Cox model (PHReg) with its risk-set index built by array operations.

PHReg first builds an index of who fails, enters and leaves the risk set at each distinct
failure time, in Python loops over every subject (a second per 10^5 subjects, before any
fitting). IndexedSurvivalTime builds the same index, array for array and in the same order,
with numpy; the fit then runs on identical input and gives identical estimates. Input with
missing times (or none) falls back to statsmodels' own loops.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
from statsmodels.duration import hazard_regression as hr


def _groups(codes: np.ndarray, members: np.ndarray, size: int) -> list[np.ndarray]:
    """members split by code (0..size-1), each group in its original order, as int32."""
    if size == 0:
        return []
    order = np.argsort(codes, kind="stable")
    bounds = np.cumsum(np.bincount(codes, minlength=size))[:-1]
    return [g.astype(np.int32) for g in np.split(members[order], bounds)]


class IndexedSurvivalTime(hr.PHSurvivalTime):
    """PHSurvivalTime with the same attributes, computed without per-subject Python loops."""

    def __init__(self, time, status, exog, strata=None, entry=None, offset=None) -> None:
        finite = np.all(np.isfinite(time)) and (entry is None or np.all(np.isfinite(entry)))
        if not (len(time) and finite):
            super().__init__(time, status, exog, strata, entry, offset)
            return
        if strata is None:
            strata = np.zeros(len(time), dtype=np.int32)
        if entry is None:
            entry = np.zeros(len(time))
        self._checked(time, status, strata, entry)

        stu, inverse = np.unique(strata, return_inverse=True)
        rows = np.arange(len(strata))
        stratum_rows = _groups(inverse.ravel(), rows, len(stu))
        stratum_names = stu

        # strata with no events are left out
        ix = [i for i, ix in enumerate(stratum_rows) if status[ix].sum() > 0]
        self.nstrat_orig = len(stratum_rows)
        stratum_rows = [stratum_rows[i] for i in ix]
        stratum_names = [stratum_names[i] for i in ix]
        self.nstrat = len(stratum_rows)

        # subjects entering after the last event of their stratum are left out
        for stx, ix in enumerate(stratum_rows):
            last_failure = np.max(time[ix][status[ix] == 1])
            stratum_rows[stx] = stratum_rows[stx][np.flatnonzero(entry[ix] <= last_failure)]
        # and so are subjects censored before the first event of their stratum
        for stx, ix in enumerate(stratum_rows):
            first_failure = np.min(time[ix][status[ix] == 1])
            stratum_rows[stx] = stratum_rows[stx][np.flatnonzero(time[ix] >= first_failure)]
        for stx, ix in enumerate(stratum_rows):
            stratum_rows[stx] = stratum_rows[stx][np.argsort(time[ix])]

        self.offset_s = None
        if offset is not None:
            self.offset_s = [offset[stratum_rows[stx]] for stx in range(self.nstrat)]
        self.n_obs = sum(len(ix) for ix in stratum_rows)
        self.stratum_rows = stratum_rows
        self.stratum_names = stratum_names
        self.time_s = self._split(time)
        self.exog_s = self._split(exog)
        self.status_s = self._split(status)
        self.entry_s = self._split(entry)

        self.ufailt_ix, self.risk_enter, self.risk_exit, self.ufailt = [], [], [], []
        for stx in range(self.nstrat):
            times = self.time_s[stx]
            ift = np.flatnonzero(self.status_s[stx] == 1)
            ft = times[ift]
            uft = np.unique(ft)
            nuft = len(uft)
            # who fails at each distinct failure time
            self.ufailt_ix.append(_groups(np.searchsorted(uft, ft), ift, nuft))
            # who enters the risk set at each (the last failure time at or before theirs)
            at = np.searchsorted(uft, times, "right") - 1
            inside = np.flatnonzero(at >= 0)
            self.risk_enter.append(_groups(at[inside], inside, nuft))
            # who leaves it at each (the first failure time at or after their entry)
            leave = np.searchsorted(uft, self.entry_s[stx])
            self.risk_exit.append(_groups(leave, np.arange(len(leave)), nuft))
            self.ufailt.append(uft)

    @staticmethod
    def _checked(time, status, strata, entry) -> None:
        """PHSurvivalTime._check with numpy minima (its built-in min walks the array)."""
        if len({len(time), len(status), len(strata), len(entry)}) != 1:
            raise ValueError("endog, status, strata, and entry must all have the same length")
        if np.min(time) < 0:
            raise ValueError("endog must be non-negative")
        if np.min(entry) < 0:
            raise ValueError("entry time must be non-negative")
        if np.any(entry > time):
            raise ValueError("entry times may not occur after event or censoring times")


@contextmanager
def _indexed() -> Iterator[None]:
    saved = hr.PHSurvivalTime
    hr.PHSurvivalTime = IndexedSurvivalTime
    try:
        yield
    finally:
        hr.PHSurvivalTime = saved


def phreg(endog: Any, exog: Any, **kwargs: Any) -> hr.PHReg:
    """hr.PHReg(endog, exog, **kwargs) with the risk-set index built by IndexedSurvivalTime."""
    with _indexed():
        return hr.PHReg(endog, exog, **kwargs)
