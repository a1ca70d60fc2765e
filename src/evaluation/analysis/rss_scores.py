"""Reintegration Sustainability Survey (RSS) scores: the configuration, the composite, and the
share of returnees at or above each cut-off."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from evaluation.analysis.monitoring_windows import WINDOWS
from evaluation.analysis.rates import wilson
from evaluation.config import read_yaml

DIMENSIONS: tuple[str, ...] = ("economic", "social", "psychosocial")
SCORES: tuple[str, ...] = ("rss_economic", "rss_social", "rss_psychosocial", "rss_composite")
DEFAULT_RSS_FILE = Path(__file__).resolve().parents[3] / "config" / "rss.yaml"


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

    if path is None:
        here = Path.cwd() / "config" / "rss.yaml"
        path = DEFAULT_RSS_FILE if DEFAULT_RSS_FILE.exists() else here
    path = Path(path)
    raw = read_yaml(path.read_text(encoding="utf-8")) or {}
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
        sub = scored.loc[scored["window"] == window, list(SCORES)]
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
