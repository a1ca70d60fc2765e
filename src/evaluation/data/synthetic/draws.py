"""Random draws that keep exact counts, and the arrays being built."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from evaluation.data.synthetic.scenarios import OUT

# ------------------------------------------------------------------------------ helpers


def _day(d: dt.date | str) -> int:
    return int((np.datetime64(d, "D") - np.datetime64("1970-01-01", "D")).astype(np.int64))


def _scaled(count: float, scale: float) -> int:
    return int(math.floor(count * scale + 0.5))


def _allocate(total: int, weights: list[float]) -> np.ndarray:
    """Split `total` into integers proportional to weights (largest remainder, exact sum)."""
    w = np.asarray(weights, dtype=float)
    raw = total * w / w.sum()
    out = np.floor(raw).astype(np.int64)
    rest = total - int(out.sum())
    order = np.argsort(-(raw - out), kind="stable")
    out[order[:rest]] += 1
    return out


def _exact(rng: np.random.Generator, counts: np.ndarray) -> np.ndarray:
    """Labels 0..k-1 with exactly counts[i] of each, in random order ('randomise who')."""
    return rng.permutation(np.repeat(np.arange(len(counts)), counts))


def returned_mask(outcome: np.ndarray) -> np.ndarray:
    return outcome == OUT["returned"]


def _choice(rng: np.random.Generator, n: int, weights: list[float]) -> np.ndarray:
    cum = np.cumsum(np.asarray(weights, dtype=float))
    return np.minimum(np.searchsorted(cum / cum[-1], rng.random(n), side="right"), len(cum) - 1)


def _force_each(rng: np.random.Generator, codes: np.ndarray, k: int) -> np.ndarray:
    """Make every code 0..k-1 occur at least once (needs len(codes) >= k)."""
    if len(codes) < k:
        raise ValueError(f"cannot show all {k} codes among {len(codes)} records; raise --scale")
    codes = codes.copy()
    codes[rng.permutation(len(codes))[:k]] = np.arange(k)
    return codes


def _durations(rng: np.random.Generator, n: int, mean: float, shape: float) -> np.ndarray:
    return np.rint(rng.gamma(shape, mean / shape, n)).astype(np.int64)


@dataclass
class _Rows:
    """Column-wise accumulator of numpy pieces for one internal table."""

    cols: dict[str, list[np.ndarray]] = field(default_factory=dict)

    def add(self, **columns: Any) -> None:
        n = max(len(v) for v in columns.values() if isinstance(v, np.ndarray))
        for k, v in columns.items():
            arr = v if isinstance(v, np.ndarray) else np.full(n, v, dtype=np.int64)
            self.cols.setdefault(k, []).append(arr)

    def done(self) -> dict[str, np.ndarray]:
        return {k: np.concatenate(v) for k, v in self.cols.items()}


@dataclass
class _World:
    rng: np.random.Generator
    scale: float
    cutoff: int
    n_clients: int = 0
    enrol: _Rows = field(default_factory=_Rows)
    referrals: _Rows = field(default_factory=_Rows)
    departures: _Rows = field(default_factory=_Rows)
    returnees: _Rows = field(default_factory=_Rows)

    def new_clients(self, n: int) -> np.ndarray:
        ids = np.arange(self.n_clients, self.n_clients + n, dtype=np.int64)
        self.n_clients += n
        return ids

    def add_enrolments(self, **cols: Any) -> np.ndarray:
        start = sum(len(a) for a in self.enrol.cols.get("client", []))
        self.enrol.add(**cols)
        return np.arange(start, start + len(cols["client"]), dtype=np.int64)
