"""The reader's side of the conversion and cross-project files: what a reader learns from
results/*/conversion_cohort_follow_up.csv, conversion_cox.csv,
conversion_logistic.csv, comparison/comparison_*.csv and efficiency/efficiency.csv, mapped to
the cells of checked_cells.csv from file and column names only (never from publish code).

Where a file may count a project's clients or each person once (carry-over clients in their
first project), the reader takes the cell the checked-cells file names for that population:
`P/person_…` when it lists one, else the project's cell. Shares are read back as counts
(share × N) wherever the file prints a share of a count it also prints.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import Path

import pandas as pd

Learn = Callable[[str, float | None, str], None]
LABEL = {"Sex": "sex", "Household": "household_type"}  # model tables print these labels


def num(x) -> float | None:
    """A printed number (a trailing % is read as a share), or None for a mask or a blank."""
    if isinstance(x, str):
        x = x.strip()
        if x.endswith("%"):
            v = num(x[:-1])
            return None if v is None else v / 100
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return None if v != v else v


def times(share: float | None, big: float | None) -> float | None:
    """share × N, the count a printed share gives back."""
    return None if share is None or big is None else share * big


def first(names: set[str], *keys: str) -> str:
    """The first key the checked cells name (the last one when none is named)."""
    return next((k for k in keys if k in names), keys[-1])


def _rows(path: Path) -> Iterable[pd.Series]:
    try:
        yield from (r for _, r in pd.read_csv(path, dtype=str).iterrows())
    except pd.errors.EmptyDataError:
        return


def follow_up(res: Path, learn: Learn, names: set[str]) -> None:
    """Cohort N and those followable to each horizon, per project and per person."""
    paths = [*res.glob("*/conversion_cohort_follow_up.csv")]
    paths += [*res.glob("comparison/comparison_cohort_follow_up.csv")]
    for path in paths:
        person = path.parent.name == "comparison"
        for r in _rows(path):
            p, c = r["project"], r["cohort"]
            pre = "person_" if person and f"{p}/person_enrolled|cohort={c}" in names else ""
            learn(f"{p}/{pre}enrolled|cohort={c}", num(r["N"]), path.name)
            # a horizon's followable people are listed as a cell of their own, or (when the
            # same people) under the next shorter horizon, or the cohort
            chain = [f"{p}/{pre}enrolled|cohort={c}"]
            cols = sorted((float(m.group(1)), col) for col in r.index
                          if (m := re.fullmatch(r"followable_(.+)m", col)))  # fmt: skip
            for h, col in cols:
                chain = [f"{p}/{pre}followable|cohort={c}|months={h:g}", *chain]
                learn(first(names, *chain), num(r[col]), path.name)


def models(res: Path, learn: Learn, names: set[str]) -> None:
    """The model tables' descriptive counts (people, outcome, returns per level)."""
    for path in [*res.glob("*/conversion_logistic.csv"), *res.glob("*/conversion_cox.csv")]:
        p = path.parent.name.upper()
        outcome = "referred" if f"{p}/referred" in names else "returned"
        for r in _rows(path):
            if "covariate" not in r:
                continue  # fitted ratios: no counts printed
            var = LABEL.get(r["covariate"], r["covariate"])
            dims = "" if r["group"] == "All" else f"|subgroup={var}={r['group']}"
            big = first(names, f"{p}/model_n{dims}", f"{p}/enrolled{dims}")
            if "events" in r:
                n = first(names, f"{p}/model_events{dims}", f"{p}/model_{outcome}{dims}",
                          f"{p}/{outcome}{dims}")  # fmt: skip
                value, share = num(r["events"]), num(r["share with event"])
            else:
                n = first(names, f"{p}/model_{outcome}{dims}", f"{p}/{outcome}{dims}")
                value, share = num(r["n"]), num(r["rate"])
            learn(big, num(r["N"]), path.name)
            learn(n, value, path.name)
            learn(n, times(share, num(r["N"])), path.name + " (share × N)")


def comparison(res: Path, learn: Learn, names: set[str]) -> None:
    """Return rates, contrasts, incidence by horizon and the sensitivity table."""
    comp = res / "comparison"

    def person(p: str, what: str) -> str:
        return first(names, f"{p}/person_{what}", f"{p}/{what}")

    for r in _rows(comp / "comparison_return_rates.csv"):
        for side in ("baseline", "other"):
            p = r[side]
            learn(person(p, "returned"), num(r[f"n_{side}"]), "comparison_return_rates")
            learn(person(p, "enrolled"), num(r[f"N_{side}"]), "comparison_return_rates")
            learn(person(p, "returned"), times(num(r[f"rate_{side}"]), num(r[f"N_{side}"])),
                  "comparison_return_rates (share × N)")  # fmt: skip
    for r in _rows(comp / "comparison_cif_contrasts.csv"):
        for side in ("baseline", "other"):
            p = r["contrast"].split("−")[0 if side == "other" else 1].strip()
            learn(person(p, "enrolled"), num(r[f"N_{side}"]), "comparison_cif_contrasts")
    for r in _rows(comp / "comparison_cif_horizons.csv"):
        p, h = r["project"], f"{float(r['horizon_months']):g}"
        learn(person(p, f"returned_by|months={h}"), num(r["n"]), "comparison_cif_horizons")
        learn(person(p, f"cif_at_risk|months={h}"), num(r["at_risk"]), "comparison_cif_horizons")
        learn(person(p, "enrolled"), num(r["N"]), "comparison_cif_horizons")
    for r in _rows(comp / "comparison_sensitivity.csv"):
        sid = r["id"]
        m = re.search(r"([\d.]+) months", r["estimand"])
        w = f"m{float(m.group(1)):g}" if m else "m12"
        if sid.startswith("durability_") or sid == "loss_as_remigration":
            p, a = r["group"], sid.removeprefix("durability_")
            num_, den = {"complete": ("stayed", "known"), "worst": ("stayed", "due"),
                         "best": ("stayed_or_unknown", "due")}.get(a, (None, "due"))  # fmt: skip
            learn(f"{p}/{den}|window={w}", num(r["N"]), "comparison_sensitivity")
            if num_:
                learn(f"{p}/{num_}|window={w}", times(num(r["estimate"]), num(r["N"])),
                      "comparison_sensitivity (share × N)")  # fmt: skip
            note = str(r.get("note", ""))
            for unknown in re.findall(r"of the (\d+) not reached|all (\d+) not reached", note):
                v = next(x for x in unknown if x)
                learn(f"{p}/unknown|window={w}", float(v), "comparison_sensitivity (note)")
            continue
        ns = [num(x) for x in str(r["N"]).split("/")]
        period = ("|period=before" if "enrolled before" in r["group"]
                  else "|period=from" if "enrolled from" in r["group"] else "")  # fmt: skip
        o, b = (s.strip() for s in r["group"].split(",")[0].split("−"))
        for p, n in ((b, ns[0]), (o, ns[-1])):
            k = f"{p}/sens_enrolled|analysis={sid}{period}"
            learn(k if k in names else person(p, "enrolled"), n, "comparison_sensitivity")


def efficiency(res: Path, learn: Learn, names: set[str]) -> None:
    """Units, N, clients with spending and support items per project."""
    unit = {"enrolled client": "enrolled", "verified return": "returned",
            "returnee staying at 12 months": "stayed|window=m12"}  # fmt: skip
    for r in _rows(res / "efficiency" / "efficiency.csv"):
        p = r["project"]
        u = unit.get(r["per"])
        if u:
            learn(first(names, f"{p}/efficiency_{u.split('|')[0]}", f"{p}/{u}"), num(r["units"]),
                  "efficiency")  # fmt: skip
        learn(f"{p}/enrolled", num(r["N"]), "efficiency")
        learn(first(names, f"{p}/spending_clients", f"{p}/enrolled"),
              num(r["clients_with_support"]), "efficiency")  # fmt: skip
        learn(f"{p}/support_items", num(r["items"]), "efficiency")
        learn(f"{p}/support_items_no_amount", num(r["items_without_amount"]), "efficiency")


def metrics(res: Path, learn: Learn, names: set[str]) -> None:
    """The crude comparison in metrics.json: n and N per project (in the contrast's order,
    other − baseline), and each contrast's N."""
    import json

    path = res / "metrics.json"
    if not path.exists():
        return
    for name, v in json.loads(path.read_text()).items():
        if not isinstance(v, dict) or "contrast" not in v:
            continue
        other, base = (s.strip() for s in v["contrast"].split("−"))
        ns, bigs = v.get("n"), v.get("N")
        for i, p in enumerate((other, base) if name.endswith("return_rate_diff") else ()):
            learn(first(names, f"{p}/person_returned", f"{p}/returned"), ns[i], name)
            learn(first(names, f"{p}/person_enrolled", f"{p}/enrolled"), bigs[i], name)


def read_conversion(res: Path, learn: Learn, names: set[str]) -> None:
    """Everything a reader learns from the conversion-side files (see the module docstring)."""
    for reader in (follow_up, models, comparison, efficiency, metrics):
        reader(res, learn, names)
