"""The attacker's reading of the durability files publish.ledger_durability turned into ledger
cells, and of how follow-up for return ended: numbers mapped to cells from file and column
names only (percentages times N included), written apart from the publish code on purpose.
tests/test_joint_publication.py calls read_durability from reader_view."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd

Learn = Callable[[str, float | None, str], None]


def _num(x) -> float | None:
    try:
        v = float(str(x).replace("%", "").strip())
    except (TypeError, ValueError):
        return None
    return None if v != v else v


def _times(share, big) -> float | None:
    """A published share (0–1) times its N: the count it was computed from."""
    s, n = _num(share), _num(big)
    return None if s is None or n is None else s * n


def scored(p: str, window: str, score: str = "composite") -> str:
    return f"{p}/scored|score={score}|window={window}"


def above(p: str, window: str, cutoff) -> str:
    return f"{p}/score_at_or_above|cutoff={float(cutoff):g}|window={window}"


def read_durability(res: Path, learn: Learn) -> None:
    """Every count the converted durability and exit files, and their metrics, print."""
    for path in sorted(res.glob("*/durability_score_distribution.csv")):
        p = path.parent.name.upper()
        for _, r in pd.read_csv(path, dtype=str).iterrows():
            learn(scored(p, r["window"], r["score"]), _num(r["n"]), path.name)
    for path in sorted(res.glob("*/durability_share_above.csv")):
        p = path.parent.name.upper()
        for _, r in pd.read_csv(path, dtype=str).iterrows():
            n, big = above(p, r["window"], r["cutoff"]), scored(p, r["window"])
            learn(n, _num(r["n"]), path.name)
            learn(big, _num(r["N"]), path.name)
            learn(n, _times(r["estimate"], r["N"]), path.name + " (share × N)")
    for path in sorted(res.glob("*/durability_trajectory.csv")):
        p = path.parent.name.upper()
        for _, r in pd.read_csv(path, dtype=str).iterrows():
            learn(scored(p, r["window"]), _num(r["n"]), path.name)
    for name, by in (("country", "country"), ("support", "main_support")):
        for path in sorted(res.glob(f"*/durability_km_by_{name}.csv")):
            p = path.parent.name.upper()
            df = pd.read_csv(path, dtype=str)
            for _, r in df.iterrows():
                if "months" not in df:  # not on the grid: the check did not read this file
                    learn(f"{p}/km_at_risk|{by}={r['group']}|time={r['time']}",
                          _num(r["n_risk"]), path.name)  # fmt: skip
                    continue
                learn(f"{p}/km_at_risk|{by}={r['group']}|month={r['months']}",
                      _num(r["at_risk"]), path.name)  # fmt: skip
    for path in sorted(res.glob("*/conversion_exits.csv")):
        p = path.parent.name.upper()
        for _, r in pd.read_csv(path, dtype=str).iterrows():
            n = f"{p}/exit|cause={r['step']}"
            learn(n, _num(r["n"]), path.name)
            learn(f"{p}/enrolled", _num(r["N"]), path.name)
            rate = _num(r.get("rate"))
            learn(n, _times(rate / 100 if rate is not None else None, r["N"]),
                  path.name + " (rate × N)")  # fmt: skip
    _metrics(json.loads((res / "metrics.json").read_text()), learn)


def _metrics(metrics: dict, learn: Learn) -> None:
    for name, v in metrics.items():
        if not isinstance(v, dict):
            continue
        head, _, what = name.rpartition(".")
        p = head.split(".")[-1].upper()
        if what == "return_exits":
            learn(f"{p}/exit|cause=returned", _num(v.get("returned")), name)
            learn(f"{p}/exit|cause=censored", _num(v.get("censored")), name)
            learn(f"{p}/exits_competing", _num(v.get("competing")), name)
            learn(f"{p}/enrolled", _num(v.get("N")), name)
        elif what == "support_landmark":
            learn(f"{p}/landmark_followed", _num(v.get("followed")), name)
            learn(f"{p}/landmark_excluded", _num(v.get("excluded")), name)
        elif what == "trajectory":
            learn(f"{p}/scores_total", _num(v.get("n_scores")), name)
        elif what == "rss_composite_12m":
            big = scored(p, "m12")
            learn(big, _num(v.get("n")), name)
            for k, r in v.items():
                if k.startswith("share_above_") and isinstance(r, dict):
                    n = above(p, "m12", k[len("share_above_") :])
                    learn(n, _num(r.get("n")), name)
                    learn(big, _num(r.get("N")), name)
                    learn(n, _times(r.get("estimate"), r.get("N")), name + " (share × N)")
