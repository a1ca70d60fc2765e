"""The results files as published: numbers looked up by ledger key in the joint decision.

The pipeline passes every results CSV and metrics fragment of a run through ``publish_file``
before anything is published. Files with a mapping below have each number looked up by its
ledger key (``publish.view``): a cell withheld by the joint check becomes ``x`` (CSV) or is left
out (metrics), whatever table it is in. Time-to-event curves are cut to the monthly grid of the
ledger and end before the first withheld step. The unchecked full-precision tables go to
``build/internal/results/`` (never published, never exported). ``UNMAPPED`` lists the files whose
numbers are not ledger cells yet: they keep their own per-table protection (publish.disclosure).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evaluation.analysis.conversion import SUBGROUPS
from evaluation.publish import durability_view, step_keys
from evaluation.publish.export import write_csv
from evaluation.publish.gate_conversion import NOT_MINE
from evaluation.publish.gate_conversion import TABLES as CONVERSION_TABLES
from evaluation.publish.gate_conversion import metric as conversion_metric
from evaluation.publish.view import MARK, View, key, marks
from evaluation.publish.view import mask as _mask

GRID = tuple(range(0, 13))  # months: the grid of published time-to-event output
APPROACH = {  # durability approach -> (numerator, denominator) in ledger terms
    "complete": ("stayed", "known"),
    "worst": ("stayed", "due"),
    "best": ("stayed_or_unknown", "due"),
}
CHAIN_METRICS = {"chain_enrolled_moh": 1, "chain_returned": 2, "chain_returned_of_referred": 3}
UNMAPPED = ""


def _bounds(df: pd.DataFrame, view: View, project: str) -> pd.DataFrame:
    out = df.copy()
    for i, r in df.iterrows():
        num, den = APPROACH.get(str(r["approach"]), (None, None))
        if num is None:
            _mask(out, i, ["n", "N", "estimate", "ci_low", "ci_high"])
            continue
        w = str(r["window"])
        nk, dk = key(project, num, window=w), key(project, den, window=w)
        if not view.shown(nk):
            _mask(out, i, ["n"])
        if not view.shown(dk):
            _mask(out, i, ["N"])
        if not view.shown(f"{project}/durability_{r['approach']}|window={w}"):
            _mask(out, i, ["estimate", "ci_low", "ci_high"])
    return out


def completeness_shown(df: pd.DataFrame, view: View, project: str) -> pd.DataFrame:
    """The completeness table (analysis.durability) as the joint decision shows it."""
    return _completeness(df, view, project)


def _completeness(df: pd.DataFrame, view: View, project: str) -> pd.DataFrame:
    """Reached and due per window; the reasons for not reaching are not ledger cells."""
    rows = []
    for _, r in df.iterrows():
        w = str(r["window"])
        rk, dk = key(project, "reached", window=w), key(project, "due", window=w)
        rows.append(
            {
                "window": w,
                "due": r["due"] if view.shown(dk) else MARK,
                "reached": r["reached"] if view.shown(rk) else MARK,
                "share_reached": r["share_reached"] if view.rate_shown(rk, dk) else MARK,
            }
        )
    return pd.DataFrame(rows)


def step_on_grid(
    times: pd.Series, values: pd.DataFrame, grid=GRID, side: str = "right"
) -> pd.DataFrame:
    """Right-continuous step function read at whole months (side="left": just before each
    month, so that a value at month m rests only on what happened before m)."""
    order = np.argsort(times.to_numpy(), kind="stable")
    t = times.to_numpy()[order]
    out = []
    for m in grid:
        i = max(np.searchsorted(t, m, side=side) - 1, 0 if side == "left" else -1)
        out.append({"months": m, **(values.iloc[order[i]].to_dict() if i >= 0 else {})})
    return pd.DataFrame(out)


def km_shown(df: pd.DataFrame, view: View, project: str) -> pd.DataFrame:
    """A Kaplan–Meier table (time, survival, ci_low, ci_high) as the decision shows it: on the
    monthly grid, up to the first withheld step, with the numbers at risk the decision shows."""
    return _km(df, view, project)


def _km(df: pd.DataFrame, view: View, project: str) -> pd.DataFrame:
    """Survival on the monthly grid up to the first withheld step; at risk where shown."""
    cols = [c for c in ("survival", "ci_low", "ci_high") if c in df]
    # just before each month: re-migrations at exactly month m belong to the step from m on
    # (the ledger's km_events|month=m counts [m, m + 1)), so S(m) itself would give them away
    grid = step_on_grid(df["time"], df[cols], side="left")
    rows, open_ = [], True
    for _, r in grid.iterrows():
        m = int(r["months"])
        # survival at month m rests on the steps of every earlier month
        open_ = open_ and (m == 0 or view.shown(key(project, "km_step", month=m - 1)))
        at = key(project, "km_at_risk", month=m)
        rows.append(
            {
                "months": m,
                "at_risk": view.count(at) if view.shown(at) else MARK,
                **{c: (r[c] if open_ else MARK) for c in cols},
            }
        )
    return pd.DataFrame(rows)


def _at_risk(df: pd.DataFrame, view: View, project: str) -> pd.DataFrame:
    out = df.copy().astype({"at_risk": object})
    for i, r in df.iterrows():
        k = key(project, "km_at_risk", month=int(r["months"]))
        if not view.shown(k) or view.count(k) != int(r["at_risk"]):
            out.loc[i, "at_risk"] = MARK
    return out


def _cif_curve(df: pd.DataFrame, view: View, project: str) -> pd.DataFrame:
    """Cumulative incidence on the monthly grid (no event times to the day), shown only at the
    plan's horizons the decision shows (a monthly step times N would give back a month's
    returns, which are no ledger cells)."""
    cols = [c for c in ("estimate", "ci_low", "ci_high") if c in df]
    out = step_on_grid(df["time"], df[cols]).astype({c: object for c in cols})
    for i, r in out.iterrows():
        m = int(r["months"])
        if m > 0 and not view.shown(key(project, "cif", months=m)):
            _mask(out, i, cols)
    return out


def steps_shown(df: pd.DataFrame, view: View, project: str) -> pd.DataFrame:
    """Funnel rows (columns step, n, N, rate, 95 % CI; optional cohort) as the decision shows
    them. A row that is no ledger cell shows no number: nothing unchecked is published."""
    out = df.copy()
    for i, r in df.iterrows():
        dims = {"cohort": r["cohort"]} if "cohort" in df else {}
        keys = step_keys.step_keys(str(r["step"]), project, **dims)
        _mask_row(out, i, keys, view)
    return out


def chain_shown(df: pd.DataFrame, view: View, project: str = "") -> pd.DataFrame:
    """The chain ENH → MOH → return (rows in analysis.conversion.chain's order) as shown."""
    out = df.copy().reset_index(drop=True)
    for i in out.index:
        keys = step_keys.chain_keys(i) if i < len(step_keys.CHAIN_WHAT) else None
        _mask_row(out, i, keys, view)
    return out


def _mask_row(out: pd.DataFrame, i: Any, keys: tuple[str, str] | None, view: View) -> None:
    """Mask n, N and the rate columns of one row by the decision on (n key, N key)."""
    rate_cols = [c for c in out if c in ("rate", "95 % CI", "estimate", "ci_low", "ci_high")]
    if keys is None or keys[0] not in view.values:
        _mask(out, i, ["n", "N", *rate_cols])
        return
    nk, dk = keys
    if not view.shown(nk):
        _mask(out, i, ["n"])
    if not view.shown(dk):
        _mask(out, i, ["N"])
    if nk != dk and not view.rate_shown(nk, dk):
        _mask(out, i, rate_cols)


def subgroups_shown(df: pd.DataFrame, view: View, project: str) -> pd.DataFrame:
    """Subgroup rates (columns label/variable, group, n, N, rate...) as the decision shows
    them; the 'All' row of a variable is the project total."""
    out = df.copy()
    outcome = "referred" if key(project, "referred") in view.values else "returned"
    names = {label: var for var, label in SUBGROUPS.items()}
    for i, r in df.iterrows():
        level = str(r["group"])
        var = r["variable"] if "variable" in df else names.get(str(r["label"]), str(r["label"]))
        if level == "All":
            keys = (key(project, outcome), key(project, "enrolled"))
        else:
            sub = f"{var}={level}"
            keys = (key(project, outcome, subgroup=sub), key(project, "enrolled", subgroup=sub))
        _mask_row(out, i, keys, view)
    return out


def _steps(df: pd.DataFrame, view: View, project: str) -> pd.DataFrame:
    return steps_shown(df, view, project)


def _chain(df: pd.DataFrame, view: View, project: str) -> pd.DataFrame:
    return chain_shown(df, view, project)


def _num(x: Any) -> float | None:
    try:
        return float(x)
    except (TypeError, ValueError):
        return None


def horizons_shown(df: pd.DataFrame, view: View, project: str) -> pd.DataFrame:
    """Cumulative incidence at the plan's horizons (analysis.survival.CumulativeIncidence
    .horizons, optionally with a project column) as the decision shows it: returns by each
    horizon, numbers still followed, and the estimate only where all of them are shown."""
    out = df.copy()
    for i, r in df.iterrows():
        p = str(r["project"]) if "project" in df else project
        h = f"{float(r['horizon_months']):g}"
        by = key(p, "returned_by", months=h)
        big = key(p, "enrolled")
        big = big if view.values.get(big) == _num(r["N"]) else key(p, "cif_followed")
        at = key(p, "cif_at_risk", months=h)
        same = all(
            k in view.values and _num(r[c]) == view.values[k]
            for k, c in ((by, "n"), (at, "at_risk"), (big, "N"))
        )
        if not same:  # not the population the ledger counted: nothing shown
            _mask(out, i, ["n", "N", "at_risk", "estimate", "ci_low", "ci_high"])
            continue
        if not view.shown(by):
            _mask(out, i, ["n"])
        if not view.shown(at):
            _mask(out, i, ["at_risk"])
        if not view.shown(big):
            _mask(out, i, ["N"])
        if not view.shown(key(p, "cif", months=h)):
            _mask(out, i, ["estimate", "ci_low", "ci_high"])
    return out


def durability_comparison_shown(df: pd.DataFrame, view: View) -> pd.DataFrame:
    """publish.gate's durability comparison (analysis.durability.comparison_frame) as shown."""
    return _durability_comparison(df, view, "")


def _durability_comparison(df: pd.DataFrame, view: View, project: str) -> pd.DataFrame:
    """Per project at 12 months (and staying at 6): cells by key; score columns dropped."""
    out = df.drop(columns=[c for c in ("composite_mean_12m", "scored_12m") if c in df]).copy()
    for i, r in df.iterrows():
        p = str(r["project"])
        if not view.shown(key(p, "returnees")):
            _mask(out, i, ["returnees"])
        if not view.shown(key(p, "reached", window="m12")):
            _mask(out, i, ["reached_12m"])
        if not view.shown(key(p, "due", window="m12")):
            _mask(out, i, ["due_12m"])
        for prefix, approach, w in (
            ("staying_6m", "complete", "m6"),
            ("complete_12m", "complete", "m12"),
            ("worst_12m", "worst", "m12"),
            ("best_12m", "best", "m12"),
        ):
            num, den = APPROACH[approach]
            if not view.shown(key(p, num, window=w)):
                _mask(out, i, [f"{prefix}_n"])
            if not view.shown(key(p, den, window=w)):
                _mask(out, i, [f"{prefix}_N"])
            if not view.shown(f"{p}/durability_{approach}|window={w}"):
                _mask(out, i, [f"{prefix}_estimate", f"{prefix}_ci_low", f"{prefix}_ci_high"])
    return out


def support_points_shown(df: pd.DataFrame, view: View, project: str) -> pd.DataFrame:
    """Returns per support point (first column the point; Returned, Not returned, Enrolled
    and rate columns) for the union of the comma-separated return projects, as shown."""
    return _support_points(df, view, project)


def _support_points(df: pd.DataFrame, view: View, project: str) -> pd.DataFrame:
    union = "+".join(sorted(project.split(",")))
    out = df.copy()
    for i, r in df.iterrows():
        point = str(r.iloc[0])
        dims = {} if point == "Total" else {"first_point": point}
        n, big = key(union, "returned", **dims), key(union, "enrolled", **dims)
        comp = f"{big}~not~returned"
        for col, k in (("Returned", n), ("Enrolled", big), ("Not returned", comp)):
            shown = view.shown(k) if k != comp or comp in view.values else view.rate_shown(n, big)
            if col in df and not shown:
                _mask(out, i, [col])
        if not view.rate_shown(n, big):
            _mask(out, i, [c for c in df.columns if "rate" in c.lower()])
    return out


AMIF_COLUMNS = {"Persons enrolled": "enrolled", "Persons who returned voluntarily": "returnees",
                "Persons who received reintegration assistance": "assisted"}  # fmt: skip


def _amif(df: pd.DataFrame, view: View, project: str) -> pd.DataFrame:
    """AMIF indicators per project (publish.ledger_amif's cells) as the decision shows them."""
    out = df.copy()
    for i, r in df.iterrows():
        for col, what in AMIF_COLUMNS.items():
            cell = key(str(r["Project"]), what)
            own = key(str(r["Project"]), f"amif_{what}")  # counted apart from the other tables
            if col in df and not view.shown(own if own in view.values else cell):
                _mask(out, i, [col])
    return out


TABLES: dict[str, Callable[[pd.DataFrame, View, str], pd.DataFrame]] = {
    "amif": _amif,
    "durability_bounds": _bounds,
    "durability_completeness": _completeness,
    "durability_km": _km,
    "durability_at_risk": _at_risk,
    "conversion_cif_curve": _cif_curve,
    "conversion_funnel": _steps,
    "conversion_funnel_cohorts": _steps,
    "conversion_chain": _chain,
    "conversion_subgroups": subgroups_shown,
    "durability_comparison": _durability_comparison,
    "support_points": _support_points,
    "conversion_cif_horizons": horizons_shown,
    "comparison_cif_horizons": horizons_shown,
    **durability_view.TABLES,  # scores, shares, trajectory, curves by group, exits
}
TABLES.update(CONVERSION_TABLES)  # publish.gate_conversion (comparison_cif_horizons: per person)


# --------------------------------------------------------------------------- metrics


def _rate_entry(v: Any, view: View, nk: str, dk: str, derived: str | None = None) -> Any:
    ok = view.shown(derived) if derived else view.rate_shown(nk, dk)
    return v if ok else None


def _metric(name: str, v: Any, view: View) -> Any:
    """The entry as published, or None when it rests on a withheld (or unknown) cell."""
    if not isinstance(v, dict):
        return v
    if name.endswith(".return_project_cox"):  # its counts are no ledger cells: the ratio only
        return {k: v[k] for k in ("fitted", "ratio") if k in v}
    mine = durability_view.metric(name, v, view)
    if mine is not durability_view.NOT_MINE:
        return mine
    head, _, what = name.rpartition(".")
    p = head.split(".")[-1].upper()
    known_project = key(p, "enrolled") in view.values  # benchmarks are published figures
    if what in ("return_rate", "referral_rate", "referral_rate_moh") and known_project:
        out = {"return_rate": "returned", "referral_rate": "referred"}.get(what, "referred_moh")
        return _rate_entry(v, view, key(p, out), key(p, "enrolled"))
    for w, label in (("m6", "6m"), ("m12", "12m")):
        if what in (f"staying_{label}", f"durable_complete_{label}"):
            return _rate_entry(v, view, "", "", f"{p}/durability_complete|window={w}")
        if what == f"durable_worst_{label}":
            return _rate_entry(v, view, "", "", f"{p}/durability_worst|window={w}")
        if what == f"durable_best_{label}":
            return _rate_entry(v, view, "", "", f"{p}/durability_best|window={w}")
        if what == f"reached_{label}":
            return _rate_entry(v, view, key(p, "reached", window=w), key(p, "due", window=w))
        if what == f"durability_{label}":
            return {
                a: (r if view.shown(f"{p}/durability_{a}|window={w}") else _bound(r, view, p, a, w))
                for a, r in v.items()
            }
    if what.startswith("return_cif_") and what.endswith("m") and known_project:
        h = what[len("return_cif_") : -1]
        return v if view.shown(key(p, "cif", months=h)) else None
    if what in CHAIN_METRICS and key(step_keys.CHAIN_SOURCE, "chain_referred_moh") in view.values:
        return _rate_entry(v, view, *step_keys.chain_keys(CHAIN_METRICS[what]))
    if what == "durability_12m_complete_difference":
        a, b = head.split(".")[-1].split("_vs_")
        ok = all(view.shown(f"{q.upper()}/durability_complete|window=m12") for q in (a, b))
        return v if ok else None
    conversion = conversion_metric(name, v, view)
    return _fallback(v, view.threshold) if conversion is NOT_MINE else conversion


def _bound(r: Any, view: View, project: str, approach: str, window: str) -> dict | None:
    """A withheld durability share as the safe statement the decision allows: "at least n of
    N" (publish.joint.safe_lower_bound) when N is shown; else None (left out)."""
    if approach not in APPROACH or not isinstance(r, dict) or not r.get("N"):
        return None
    num, den = APPROACH[approach]
    bound = view.decision.bounds.get(key(project, num, window=window))
    if bound is None or not view.shown(key(project, den, window=window)):
        return None
    big = int(r["N"])
    return {
        "estimate": None,
        "n_at_least": int(bound),
        "N": big,
        "share_at_least": math.floor(100 * bound / big) / 100,
        "withheld": "exact figure withheld by the joint disclosure check; the bound is safe",
    }


def _fallback(v: dict, threshold: int) -> Any:
    """Entries that are no ledger cell: left out when any count in them is small, or when an
    estimate times N would give a small count back."""
    ns, bigs = v.get("n"), v.get("N")
    ns = ns if isinstance(ns, list) else [ns]
    bigs = bigs if isinstance(bigs, list) else [bigs]
    for n, big in zip(ns, bigs, strict=False):
        if isinstance(n, int | float) and 0 < n < threshold:
            return None
        if isinstance(n, int | float) and isinstance(big, int | float) and 0 < big - n < threshold:
            return None
    est, big = v.get("estimate"), v.get("N")
    if isinstance(est, float) and isinstance(big, int | float) and math.isfinite(est):
        k = est * big
        if 0.5 <= k < threshold - 0.5 or 0.5 <= big - k < threshold - 0.5:
            return None
    return v


def publish_metrics(metrics: dict[str, Any], view: View) -> tuple[dict[str, Any], list[str]]:
    """(published metrics, names of entries left out)."""
    out, dropped = {}, []
    for name, v in metrics.items():
        shown = _metric(name, v, view)
        if shown is None and v is not None:
            dropped.append(name)
            continue
        out[name] = shown
    return out, dropped


# --------------------------------------------------------------------------- the run


LEDGER = "checked cell by cell against the joint decision"
NO_PEOPLE = "no counts of people (published figures, settings, provenance, record counts)"
TABLE_BY_TABLE = "protected table by table (its numbers are not ledger cells yet)"
NO_PEOPLE_FILES = {"projects", "provenance", "organisation", "validation_summary",
                   "reconciliation", "run_record", "dtv_departures", "headline_rates"}  # fmt: skip


def file_status(rel: Path) -> str:
    """How a results file (path under results/) is protected, for the output-checking report."""
    if rel.suffix == ".json" and rel.name.startswith("metrics."):
        return LEDGER + " (entries on withheld cells left out; others by their n and N)"
    if rel.stem in TABLES:
        return LEDGER
    if rel.stem in NO_PEOPLE_FILES or rel.parts[0] == "published":
        return NO_PEOPLE
    return TABLE_BY_TABLE


def publish_file(path: Path, rel: Path, dest: Path, view: View, project: str) -> dict[str, Any]:
    """Write results file `path` (rel: its path under results/) to `dest` as the decision shows
    it; project: its project's id ('' if none, the union's ids for the summary). Returns its
    entries of the output-checking record: "file" (how it is protected), "table" (its marks, for
    a ledger table) and "dropped" (metrics left out)."""
    import shutil

    entry: dict[str, Any] = {"file": file_status(rel)}
    dest.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".json" and path.name.startswith("metrics."):
        m = json.loads(path.read_text(encoding="utf-8"))
        shown, entry["dropped"] = publish_metrics(m, view)
        dest.write_text(
            json.dumps(shown, indent=2, sort_keys=True, ensure_ascii=False) + "\n", "utf-8"
        )
    elif path.suffix == ".csv" and path.stem in TABLES:
        try:
            df = pd.read_csv(path)
        except pd.errors.EmptyDataError:  # a table with no columns publishes nothing
            entry["table"] = 0
            shutil.copy2(path, dest)
            return entry
        shown = TABLES[path.stem](df, view, project)
        write_csv(shown, dest)
        entry["table"] = marks(shown)
    else:
        shutil.copy2(path, dest)
    return entry


def checking_record(entries: dict[Path, dict[str, Any]]) -> dict:
    """The output-checking record of the files published (publish_file's entries by path under
    results/), in the order of their paths."""
    record: dict[str, Any] = {"tables": {}, "metrics_dropped": [], "unmapped": UNMAPPED}
    record["files"] = {}
    for rel in sorted(entries):
        entry = entries[rel]
        record["files"][str(rel)] = entry["file"]
        record["metrics_dropped"] += entry.get("dropped", [])
        if "table" in entry:
            record["tables"][str(rel)] = entry["table"]
    return record
