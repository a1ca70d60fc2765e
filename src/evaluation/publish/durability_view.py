"""Durability results files as the joint decision shows them (scores, shares, trajectory,
curves by country and support type, how follow-up for return ended) and their metrics.

publish.gate registers the table functions below; each number is looked up by the ledger key
publish.ledger_durability gave it, so a cell withheld anywhere is withheld here too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from evaluation.publish.view import MARK, View, key
from evaluation.publish.view import mask as _mask

STATS = ("mean", "sd", "min", "q25", "median", "q75", "max")


def _num(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return None if v != v else v


def scored_key(project: str, window: str, score: str = "composite") -> str:
    """Ledger key of the returnees scored at a window."""
    return key(project, "scored", window=window, score=score)


def above_key(project: str, window: str, cutoff: float) -> str:
    """Ledger key of the returnees with a composite at or above a cut-off."""
    return key(project, "score_at_or_above", window=window, cutoff=f"{float(cutoff):g}")


# a durability bound's numerator and denominator (analysis.durability.Bounds), by approach
BOUND_COUNTS = {"complete": ("stayed", "known"), "worst": ("stayed", "due"),
                "best": ("stayed_or_unknown", "due")}  # fmt: skip


def bound_shown(view: View, project: str, window: str, approach: str) -> tuple[bool, bool, bool]:
    """Whether the joint decision shows a durability bound's share (with its interval), its
    n and its N: the table, the figures and the sentences all ask here."""
    num, den = BOUND_COUNTS[approach]
    return (
        view.shown(key(project, f"durability_{approach}", window=window)),
        view.shown(key(project, num, window=window)),
        view.shown(key(project, den, window=window)),
    )


def distribution_shown(df: pd.DataFrame, view: View, project: str) -> pd.DataFrame:
    """analysis.rss_scores.score_distribution as shown: n by its cell, statistics with it."""
    out = df.copy()
    for i, r in df.iterrows():
        w, s = str(r["window"]), str(r["score"])
        if not view.shown(scored_key(project, w, s)):
            _mask(out, i, ["n"])
        if not view.shown(key(project, "score_stats", window=w, score=s)):
            _mask(out, i, list(STATS))
    return out


def shares_shown(df: pd.DataFrame, view: View, project: str) -> pd.DataFrame:
    """analysis.rss_scores.share_above as shown: n, N and the share only when n, N and N − n
    all are."""
    out = df.copy()
    for i, r in df.iterrows():
        w = str(r["window"])
        nk, dk = above_key(project, w, r["cutoff"]), scored_key(project, w)
        if not view.shown(nk):
            _mask(out, i, ["n"])
        if not view.shown(dk):
            _mask(out, i, ["N"])
        if not view.rate_shown(nk, dk):
            _mask(out, i, ["estimate", "ci_low", "ci_high"])
    return out


def trajectory_shown(df: pd.DataFrame, view: View, project: str) -> pd.DataFrame:
    """The trajectory table (window, change, CI, n, mean, sd, method) as shown; the model's
    changes only when its residual degrees of freedom pass ACRO's rule (publish.model_rules)."""
    from evaluation.publish.model_rules import trajectory_dof_fails

    out = df.copy()
    if (
        "method" in df
        and (df["method"] == "mixedlm").any()
        and trajectory_dof_fails([int(n) for n in df["n"]])
    ):
        _mask(out, df.index, ["change", "ci_low", "ci_high"])
    for i, r in df.iterrows():
        w = str(r["window"])
        if not view.shown(scored_key(project, w)):
            _mask(out, i, ["n"])
        if not view.shown(key(project, "trajectory", window=w)):
            _mask(out, i, ["change", "ci_low", "ci_high", "mean", "sd"])
    return out


def _printed(view: View, k: str) -> bool:
    return k in view.values and (view.printed is None or k in view.printed)


def group_grid(view: View, project: str, by: str, group: str) -> list[int]:
    """The months at which a group's curve is a ledger cell (its at-risk points)."""
    return [m for m in range(0, 13) if _printed(view, key(project, "km_at_risk", month=m,
                                                          **{by: group}))]  # fmt: skip


def km_group_shown(df: pd.DataFrame, view: View, project: str, by: str) -> pd.DataFrame:
    """Curves by group (analysis.remigration.km_by_group) at the group's at-risk points: at
    risk where shown, survival up to the first withheld step; groups that are no ledger cells
    are left out (nothing unchecked is published)."""
    rows = []
    for g, sub in df.groupby("group", sort=True):
        grid = group_grid(view, project, by, str(g))
        sub = sub.sort_values("time", kind="stable")
        t = sub["time"].to_numpy(float)
        open_ = True
        for j, m in enumerate(grid):
            at = key(project, "km_at_risk", month=m, **{by: str(g)})
            if j:
                step = key(project, "km_step", month=grid[j - 1], **{by: str(g)})
                open_ = open_ and view.shown(step)
            # just before month m: events at exactly m belong to the next step's cell
            i = np.searchsorted(t, m, side="left") - 1
            row = sub.iloc[max(i, 0)]
            rows.append(
                {
                    "group": g,
                    "months": m,
                    "at_risk": view.count(at) if view.shown(at) else MARK,
                    **{c: (row[c] if open_ else MARK) for c in ("survival", "ci_low", "ci_high")},
                }
            )
    cols = ["group", "months", "at_risk", "survival", "ci_low", "ci_high"]
    return pd.DataFrame(rows, columns=cols)


def exits_shown(df: pd.DataFrame, view: View, project: str) -> pd.DataFrame:
    """How follow-up for return ended (columns step = cause, n, N, rate or estimate, CI): each
    count by its cell, the share only when n, N and N − n are shown."""
    out = df.copy()
    rate_cols = [
        c for c in ("rate", "95 % CI", "estimate", "ci_low", "ci_high", "share") if c in df
    ]
    for i, r in df.iterrows():
        nk = key(project, "exit", cause=str(r["step"]))
        big = key(project, "enrolled")
        if view.values.get(big) != _num(r["N"]):
            big = key(project, "cif_followed")
        if nk not in view.values or view.values.get(big) != _num(r["N"]):
            _mask(out, i, ["n", "N", *rate_cols])  # not the people the ledger counted
            continue
        if view.values[nk] != _num(r["n"]):
            _mask(out, i, ["n", *rate_cols])
        elif not view.shown(nk):
            _mask(out, i, ["n"])
        if not view.shown(big):
            _mask(out, i, ["N"])
        if not view.rate_shown(nk, big):
            _mask(out, i, rate_cols)
    return out


TABLES: dict[str, Callable[[pd.DataFrame, View, str], pd.DataFrame]] = {
    "durability_score_distribution": distribution_shown,
    "durability_share_above": shares_shown,
    "durability_trajectory": trajectory_shown,
    "durability_km_by_country": lambda df, v, p: km_group_shown(df, v, p, "country"),
    "durability_km_by_support": lambda df, v, p: km_group_shown(df, v, p, "main_support"),
    "conversion_exits": exits_shown,
}

NOT_MINE = object()  # metric() result for entries this module does not know


def _value(view: View, k: str, v: Any) -> Any:
    return v if view.shown(k) and view.values.get(k) == _num(v) else None


def metric(name: str, v: Any, view: View) -> Any:
    """A metrics.json entry of this module as published (None: left out), or NOT_MINE."""
    head, _, what = name.rpartition(".")
    p = head.split(".")[-1].upper()
    if not isinstance(v, dict) or key(p, "enrolled") not in view.values:
        return NOT_MINE
    if what == "return_exits":
        big = key(p, "enrolled")
        big = big if view.values.get(big) == _num(v.get("N")) else key(p, "cif_followed")
        keys = {"returned": key(p, "exit", cause="returned"), "N": big,
                "competing": key(p, "exits_competing"),
                "censored": key(p, "exit", cause="censored")}  # fmt: skip
        out = {f: _value(view, keys[f], x) if f in keys else x for f, x in v.items()}
        return out if all(x is not None for x in out.values()) else None
    if what == "support_landmark":
        keys = {"followed": key(p, "landmark_followed"), "excluded": key(p, "landmark_excluded")}
        return {f: _value(view, keys[f], x) if f in keys else x for f, x in v.items()}
    if what == "trajectory":
        total = key(p, "scores_total")
        return {**v, "n_scores": _value(view, total, v.get("n_scores"))}
    if what == "rss_composite_12m":
        n = scored_key(p, "m12")
        if not view.shown(n) or view.values.get(n) != _num(v.get("n")):
            return None
        out = {}
        for f, x in v.items():
            if f.startswith("share_above_") and isinstance(x, dict):
                ok = view.rate_shown(above_key(p, "m12", float(f[len("share_above_") :])), n)
                out[f] = x if ok else None
            else:
                out[f] = x
        return out
    return NOT_MINE
