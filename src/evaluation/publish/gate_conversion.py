"""Conversion-side results files as the joint decision shows them (cells of
publish.ledger_conversion): cohort follow-up, model tables, the comparison
files and efficiency. Each number is looked up by ledger key; a number whose key is withheld,
or that is no ledger cell (or not the value the ledger counted), is printed as ``x``.

A row's keys are found from its labels: where one table counts either the project's clients or
each person once (carry-over clients in their first project), the key holding the printed
value is taken; a count the ledger does not hold (or one masked already) is printed as ``x``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

from evaluation.analysis.conversion import SUBGROUPS
from evaluation.publish.view import View, key
from evaluation.publish.view import mask as _mask

PERSON = "person"


def _num(x: Any) -> float | None:
    if isinstance(x, str):
        x = x.replace("%", "").strip()
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) else v


def pick(view: View, candidates: Sequence[str], printed: Any) -> str | None:
    """The first candidate key holding the printed count; None when it is masked already (a
    table the joint decision masked once is never unmasked by a guess at its key)."""
    v = _num(printed)
    if v is None:
        return None
    for k in candidates:
        if k in view.values and abs(view.values[k] - v) < 1e-6:
            return k
    return None


def _count_col(out: pd.DataFrame, i: Any, col: str, k: str | None, view: View) -> bool:
    """Mask one count cell unless its key is shown; True when shown."""
    if col not in out:
        return True
    if k is None or not view.shown(k):
        _mask(out, i, [col])
        return False
    out.at[i, col] = int(view.values[k]) if float(view.values[k]).is_integer() else out.at[i, col]
    return True


# --------------------------------------------------------------------------- follow-up


def _follow(out: pd.DataFrame, i: Any, r: pd.Series, view: View, p: str) -> None:
    c = str(r["cohort"])
    big = pick(view, [key(p, "enrolled", cohort=c), key(p, f"{PERSON}_enrolled", cohort=c)], r["N"])
    _count_col(out, i, "N", big, view)
    pot = key(p, f"{PERSON}_potential" if big and PERSON in big else "potential", cohort=c)
    if big is None or not view.shown(pot):
        _mask(out, i, ["potential_min", "potential_median"])
    # followable to a horizon: a cell of its own, or (the same people) the cell of the
    # next shorter horizon or the cohort (publish.ledger_conversion.follow_up_cells)
    person = key(p, f"{PERSON}_enrolled", cohort=c) in view.values and (
        big is None or PERSON in big
    )
    pre = f"{PERSON}_" if person else ""
    chain = [key(p, f"{pre}enrolled", cohort=c)]
    cols = [(float(m.group(1)), col) for col in out.columns
            if (m := re.fullmatch(r"followable_(.+)m", str(col)))]  # fmt: skip
    for h, col in sorted(cols):
        chain = [key(p, f"{pre}followable", cohort=c, months=f"{h:g}"), *chain]
        _count_col(out, i, col, pick(view, chain, r[col]), view)


def follow_up_shown(df: pd.DataFrame, view: View, project: str = "") -> pd.DataFrame:
    """analysis.estimands.cohort_follow_up (project, cohort, N, potential_*, followable_*)."""
    out = df.copy().astype(object)
    for i, r in df.iterrows():
        _follow(out, i, r, view, str(r["project"]) if "project" in df else project)
    return out


# --------------------------------------------------------------------------- models


def _level_keys(view: View, p: str, var: str, level: str, r: pd.Series, outcome: str):
    dims = {} if level == "All" else {"subgroup": f"{var}={level}"}
    big = pick(view, [key(p, "enrolled", **dims), key(p, "model_n", **dims)], r.get("N"))
    if "events" in r:
        cands = [
            key(p, "model_events", **dims),
            key(p, outcome, **dims),
            key(p, f"model_{outcome}", **dims),
        ]
        n = pick(view, cands, r["events"])
    else:
        n = pick(view, [key(p, outcome, **dims), key(p, f"model_{outcome}", **dims)], r.get("n"))
    return n, big


def model_shown(df: pd.DataFrame, view: View, project: str) -> pd.DataFrame:
    """conversion_logistic / conversion_cox (report.conversion_tables.publishable_model): the
    descriptive rows by their counts, fitted ratios by the counts of their level (and of the
    reference level), continuous terms by the model's totals."""
    out = df.copy().astype(object)
    outcome = "referred" if key(project, "referred") in view.values else "returned"
    names = {label: var for var, label in SUBGROUPS.items()}
    if "level" in df:  # fitted ratios: odds ratios (logistic) or hazard ratios (Cox)
        m = "cox" if any("hazard" in str(c).lower() for c in df.columns) else "logistic"
        value_cols = [c for c in df.columns if c not in ("variable", "level", "reference")]
        for i, r in df.iterrows():
            var, level = str(r["variable"]), r["level"]
            if pd.isna(level) or str(level) == "":
                deps = [f"{project}/{m}_coef"]
            else:
                deps = [
                    f"{project}/{m}_coef|subgroup={var}={lv}"
                    for lv in (level, r["reference"])
                    if not pd.isna(lv)
                ]
            if not all(d in view.derived and view.shown(d) for d in deps):
                _mask(out, i, value_cols)
        return out
    n_col = "events" if "events" in df else "n"
    rate_cols = [c for c in df.columns if c not in ("covariate", "group", n_col, "N")]
    for i, r in df.iterrows():
        label = str(r["covariate"])
        var = names.get(label, label)
        nk, big = _level_keys(view, project, var, str(r["group"]), r, outcome)
        a = _count_col(out, i, n_col, nk, view)
        b = _count_col(out, i, "N", big, view)
        if not (a and b and nk and big and view.rate_shown(nk, big)):
            _mask(out, i, rate_cols)
    return out


# --------------------------------------------------------------------------- comparison


def _person(view: View, p: str, what: str, printed: Any) -> str | None:
    return pick(view, [key(p, what), key(p, f"{PERSON}_{what}")], printed)


def return_rates_shown(df: pd.DataFrame, view: View, project: str = "") -> pd.DataFrame:
    """comparison_return_rates: each person once; the difference needs both rates."""
    out = df.copy().astype(object)
    for i, r in df.iterrows():
        ok = True
        for side in ("baseline", "other"):
            p = str(r[side])
            nk = _person(view, p, "returned", r[f"n_{side}"])
            big = _person(view, p, "enrolled", r[f"N_{side}"])
            a = _count_col(out, i, f"n_{side}", nk, view)
            b = _count_col(out, i, f"N_{side}", big, view)
            shown = a and b and view.shown(f"person_rate:{p}")
            if not shown:
                _mask(out, i, [f"rate_{side}"])
            ok &= shown
        if not ok:
            _mask(out, i, ["difference", "ci_low", "ci_high", "mdd_80"])
    return out


def _cif_key(view: View, p: str, h: str) -> str:
    k = key(p, "cif", months=h)
    return k if k in view.derived else key(p, f"{PERSON}_cif", months=h)


def contrasts_shown(df: pd.DataFrame, view: View, project: str = "") -> pd.DataFrame:
    """comparison_cif_contrasts: per horizon both arms' incidence, their N and the contrast."""
    out = df.copy().astype(object)
    for i, r in df.iterrows():
        h = f"{float(r['horizon_months']):g}"
        b, o = (s.strip() for s in str(r["contrast"]).split("−")[::-1])
        ok = True
        for p, col in ((b, "baseline"), (o, "other")):
            big = _person(view, p, "enrolled", r[f"N_{col}"])
            _count_col(out, i, f"N_{col}", big, view)
            shown = big is not None and view.shown(_cif_key(view, p, h))
            if not shown:
                _mask(out, i, [col])
            ok &= shown
        if not ok:
            _mask(
                out,
                i,
                [
                    c
                    for c in df.columns
                    if c
                    not in (
                        "contrast",
                        "horizon_months",
                        "baseline",
                        "other",
                        "N_baseline",
                        "N_other",
                    )
                ],
            )
    return out


def cif_horizons_shown(df: pd.DataFrame, view: View, project: str = "") -> pd.DataFrame:
    """comparison_cif_horizons (each person once): returns by each horizon, still followed, N."""
    out = df.copy().astype(object)
    for i, r in df.iterrows():
        p, h = str(r["project"]), f"{float(r['horizon_months']):g}"
        by = _person(view, p, f"returned_by|months={h}", r["n"])
        at = _person(view, p, f"cif_at_risk|months={h}", r["at_risk"])
        big = pick(
            view, [key(p, "enrolled"), key(p, f"{PERSON}_enrolled"), key(p, "cif_followed")], r["N"]
        )
        _count_col(out, i, "n", by, view)
        _count_col(out, i, "at_risk", at, view)
        _count_col(out, i, "N", big, view)
        if None in (by, at, big) or not view.shown(_cif_key(view, p, h)):
            _mask(out, i, ["estimate", "ci_low", "ci_high"])
    return out


def sensitivity_shown(df: pd.DataFrame, view: View, project: str = "") -> pd.DataFrame:
    """comparison_sensitivity: return rows by each population's N and returns; durability
    rows by the ledger's durability shares; the tipping point (and its note) by its counts."""
    out = df.copy().astype(object)
    ests = ["estimate", "ci_low", "ci_high"]
    for i, r in df.iterrows():
        sid, group = str(r["id"]), str(r["group"])
        m = re.search(r"([\d.]+) months", str(r["estimand"]))
        w = f"m{float(m.group(1)):g}" if m else "m12"
        if sid.startswith("durability_") or sid == "loss_as_remigration":
            p = group
            a = sid.removeprefix("durability_")
            d = (
                f"{p}/tipping|window={w}"
                if sid == "loss_as_remigration"
                else (f"{p}/durability_{a}|window={w}")
            )
            den = "known" if a == "complete" else "due"
            if not view.shown(key(p, den, window=w)):
                _mask(out, i, ["N"])
            if d not in view.derived or not view.shown(d):
                _mask(out, i, [*ests, "note"] if sid == "loss_as_remigration" else ests)
            continue
        period = (
            "before" if "enrolled before" in group else "from" if "enrolled from" in group else None
        )
        pair = group.split(",")[0].split("−")
        o, b = (s.strip() for s in pair)
        ns = str(r["N"]).split("/")
        ok = True
        for p, col, n in ((b, "baseline", ns[0]), (o, "other", ns[-1])):
            big = pick(
                view,
                [
                    key(p, "sens_enrolled", analysis=sid, period=period),
                    key(p, "enrolled"),
                    key(p, f"{PERSON}_enrolled"),
                ],
                n,
            )
            d = f"{p}/sens_cif|analysis={sid}" + (f"|period={period}" if period else "")
            shown = big is not None and view.shown(big) and view.shown(d) and d in view.derived
            if not shown:
                _mask(out, i, [col])
            ok &= shown and big is not None and view.shown(big)
        if not ok:
            _mask(out, i, ["N", *ests])
    return out


def efficiency_shown(df: pd.DataFrame, view: View, project: str = "") -> pd.DataFrame:
    """publish.efficiency_results: euros per unit rest on the spending, the unit count, N and
    the clients with spending; counts by their keys."""
    out = df.copy().astype(object)
    for i, r in df.iterrows():
        p, per = str(r["project"]), str(r["per"])
        unit = {
            "enrolled client": [key(p, "enrolled"), key(p, "efficiency_enrolled")],
            "verified return": [key(p, "returned"), key(p, "efficiency_returned")],
            "returnee staying at 12 months": [
                key(p, "stayed", window="m12"),
                key(p, "efficiency_stayed"),
            ],
        }.get(per, [])
        _count_col(out, i, "units", pick(view, unit, r["units"]), view)
        _count_col(
            out,
            i,
            "N",
            pick(view, [key(p, "enrolled"), key(p, "efficiency_enrolled")], r["N"]),
            view,
        )
        sup = pick(
            view, [key(p, "spending_clients"), key(p, "enrolled")], r["clients_with_support"]
        )
        _count_col(out, i, "clients_with_support", sup, view)
        _count_col(out, i, "items", pick(view, [key(p, "support_items")], r["items"]), view)
        if "items_without_amount" in df and _num(r["items_without_amount"]) is not None:
            k = pick(view, [key(p, "support_items_no_amount")], r["items_without_amount"])
            _count_col(out, i, "items_without_amount", k, view)
        if not view.shown(key(p, "spend_after_return")):
            _mask(out, i, ["total_eur"])
        d = f"{p}/efficiency|per={per}"
        if d not in view.derived or not view.shown(d):
            _mask(out, i, ["eur", "ci_low", "ci_high"])
    return out


TABLES: dict[str, Callable[[pd.DataFrame, View, str], pd.DataFrame]] = {
    "conversion_cohort_follow_up": follow_up_shown,
    "comparison_cohort_follow_up": follow_up_shown,
    "conversion_logistic": model_shown,
    "conversion_cox": model_shown,
    "comparison_return_rates": return_rates_shown,
    "comparison_cif_contrasts": contrasts_shown,
    "comparison_cif_horizons": cif_horizons_shown,
    "comparison_sensitivity": sensitivity_shown,
    "efficiency": efficiency_shown,
}


def joint_table(name: str, df: pd.DataFrame, project: str = "") -> pd.DataFrame:
    """`df` (the results table `name`) as the joint decision of this pipeline run shows it,
    for the report tables printed beside the file; unchanged outside a pipeline run."""
    from evaluation.publish.view import current

    view = current()
    return df if view is None else TABLES[name](df, view, project)


NOT_MINE = object()  # a metric entry this module does not decide


def metric(name: str, v: Any, view: View) -> Any:
    """A comparison or efficiency entry of metrics.json as published (None: left out), or
    NOT_MINE for entries decided elsewhere (publish.gate)."""
    head, _, what = name.rpartition(".")
    pair = head.split(".")[-1]
    if "_vs_" in pair and isinstance(v, dict):
        a, b = (q.upper() for q in pair.split("_vs_"))
        rates = all(view.shown(f"person_rate:{p}") for p in (a, b))
        if what == "return_rate_diff":
            return v if rates else None
        if what.startswith("mdd_"):
            return v if rates else None
        m = re.fullmatch(r"return_cif_diff_([\d.]+)m", what)
        if m:
            ok = all(view.shown(_cif_key(view, p, m.group(1))) for p in (a, b))
            return v if ok else None
    m = re.fullmatch(r"support_eur_per_(return|enrolled)", what)
    if m and isinstance(v, dict):
        per = "verified return" if m.group(1) == "return" else "enrolled client"
        d = f"{head.split('.')[-1].upper()}/efficiency|per={per}"
        return v if d in view.derived and view.shown(d) else None
    return NOT_MINE
