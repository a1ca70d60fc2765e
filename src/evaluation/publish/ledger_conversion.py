"""Ledger cells of the conversion side that are printed outside the funnel: cohort follow-up
and the model tables (how follow-up ended: publish.ledger_durability; the cross-project files:
publish.ledger_comparison).

Each table counts people the ledger already knows, split another way, so its cells are linked to
the funnel, cohort and subgroup cells by relations (a model's level plus the people left out of
the model is the subgroup; a project's people counted once plus those counted in an earlier
project is the project), never left as free cells: differencing two tables is then part of the
one joint check (publish.joint). Keys follow publish.ledger.make_key; the results files look
their numbers up by the same keys (publish.gate_conversion).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from evaluation.publish.ledger import Ledger, make_key

PERSON = "person"  # prefix of the cross-project population: each person once, first project


def count_cell(ledger: Ledger, key: str, value: Any, pop: str, what: str, arts, dims=None) -> str:
    return ledger.count(key, int(value), population=pop, numerator=what, dims=dims, artefact=arts)


def same_or_part(
    ledger: Ledger, whole: str, part: str, value: int, pop: str, what: str, arts, dims=None
) -> str:
    """`part` when its people may differ from `whole`'s, linked by whole = part + rest (the
    rest is never printed); `whole` itself when they are the same number of the same people."""
    if whole in ledger.cells and ledger.cells[whole].value == value:
        ledger.cells[whole].artefacts |= {arts} if isinstance(arts, str) else set(arts)
        return whole
    k = count_cell(ledger, part, value, pop, what, arts, dims)
    if whole in ledger.cells and ledger.cells[whole].value >= value:
        rest = count_cell(
            ledger, f"{part}~rest", ledger.cells[whole].value - value, pop, f"{what} (rest)", ()
        )
        ledger.relate(whole, [k, rest], f"{whole} = {part} + the rest")
    return k


def follow_up_cells(
    ledger: Ledger, times: pd.DataFrame, project: str, horizons: Sequence[float], arts,
    prefix: str = "",
) -> None:  # fmt: skip
    """analysis.estimands.cohort_follow_up: per cohort N and those followable to each horizon
    (with N − followable as a cell of its own); potential follow-up rests on N."""
    pop = f"clients enrolled in {project}"
    # per cohort (sorted, missing left out, as groupby gives them) only potential is read
    codes, cohorts = pd.factorize(times["cohort"], sort=True)
    potential = times["potential"].to_numpy()
    for j, c in enumerate(cohorts):
        g = potential[codes == j]
        d = {"project": project, "cohort": c}
        big = same_or_part(
            ledger,
            make_key(project, "enrolled", cohort=c),
            make_key(project, f"{prefix}enrolled", cohort=c),
            len(g),
            pop,
            "enrolled",
            arts,
            d,
        )
        ledger.derive(
            make_key(project, f"{prefix}potential", cohort=c),
            [big],
            artefact=arts,
            what="potential follow-up",
        )
        prev = big
        for h in sorted(horizons):
            n = int((g >= h).sum())
            hd = f"{h:g}"
            if n == ledger.cells[prev].value:  # the same people as at the shorter horizon
                ledger.cells[prev].artefacts |= set(arts)
                continue
            k = free_key(
                ledger,
                make_key(project, "followable", cohort=c, months=hd),
                make_key(project, f"{prefix}followable", cohort=c, months=hd),
                n,
                same=not prefix or big == make_key(project, "enrolled", cohort=c),
            )
            count_cell(ledger, k, n, pop, f"followable {hd} months", arts, {**d, "months": hd})
            # followable to a longer horizon are among those followable to a shorter one
            rest = count_cell(ledger, f"{k}~not", ledger.cells[prev].value - n, pop,
                              f"not followable {hd} months", (), {**d, "months": hd})  # fmt: skip
            ledger.relate(prev, [k, rest], f"{k}: followable or not")
            prev = k


def free_key(ledger: Ledger, base: str, alt: str, value: int, same: bool = True) -> str:
    """`base` when it counts the same people (and holds `value` if known), else `alt`."""
    if same and (base not in ledger.cells or ledger.cells[base].value == value):
        return base
    return alt


def model_cells(
    ledger: Ledger, frame: pd.DataFrame, times: pd.DataFrame, project: str, outcome: str
) -> None:
    """The model sample (analysis.conversion.model_frame) per level of each categorical
    covariate: people, outcome (logistic) and observed returns (Cox). The sample plus the
    people left out is the project; a level plus its left-out people is the subgroup.
    A fitted model's coefficient of a level rests on that level's counts, a continuous term's
    on the model's totals (derived '<project>/<logistic|cox>_coef')."""
    from evaluation.analysis import conversion as cv
    from evaluation.analysis import models

    g = project.lower()
    arts = [
        f"results/{g}/conversion_logistic.csv",
        f"results/{g}/conversion_cox.csv",
        f"report:{g}",
    ]
    data, left_out = cv.model_frame(frame)
    pop = f"clients of {project} in the models"
    d = {"project": project}
    n_all = same_or_part(
        ledger,
        make_key(project, "enrolled"),
        make_key(project, "model_n"),
        len(data),
        pop,
        "in the models",
        arts,
        d,
    )
    if n_all != make_key(project, "enrolled"):
        ledger.cells[f"{n_all}~rest"].artefacts.add(f"report:{g}")  # "N clients left out"
    event = times.loc[data.index, "status"].astype(int) == 1
    y_all = same_or_part(
        ledger,
        make_key(project, outcome),
        make_key(project, f"model_{outcome}"),
        int(data[outcome].sum()),
        pop,
        outcome,
        arts,
        d,
    )
    e_all = make_key(project, "model_events")
    if int(event.sum()) == ledger.cells[y_all].value and outcome == "returned":
        e_all = y_all
    else:
        count_cell(ledger, e_all, event.sum(), pop, "returns observed", arts, d)
    ledger.rate(y_all, n_all, artefact=arts)
    ledger.rate(e_all, n_all, artefact=arts)
    for var in models._categorical(data, list(cv.MODEL_COVARIATES)):
        x = data[var].astype(str)
        ns, ys, es = [], [], []
        for level in sorted(x.unique()):
            sub = f"{var}={level}"
            dd = {**d, "subgroup": sub}
            inl = x == level
            n = same_or_part(
                ledger,
                make_key(project, "enrolled", subgroup=sub),
                make_key(project, "model_n", subgroup=sub),
                int(inl.sum()),
                pop,
                "in the models",
                arts,
                dd,
            )
            y = same_or_part(
                ledger,
                make_key(project, outcome, subgroup=sub),
                make_key(project, f"model_{outcome}", subgroup=sub),
                int(data.loc[inl, outcome].sum()),
                pop,
                outcome,
                arts,
                dd,
            )
            ev = int(event[inl].sum())
            e = make_key(project, "model_events", subgroup=sub)
            if e_all == y_all:
                e = y
            else:
                count_cell(ledger, e, ev, pop, "returns observed", arts, dd)
            ledger.rate(y, n, artefact=arts)
            ledger.rate(e, n, artefact=arts)
            ns.append(n)
            ys.append(y)
            es.append(e)
            for m, k in (("logistic", y), ("cox", e)):
                ledger.derive(
                    f"{project}/{m}_coef|subgroup={sub}",
                    [n, k, f"{n}~not~{ledger.cells[k].numerator}"],
                    artefact=arts,
                    what="model coefficient of a level",
                )
        ledger.relate(n_all, ns, f"{project}: model sample by {var}")
        ledger.relate(y_all, ys, f"{project}: model {outcome} by {var}")
        if e_all != y_all:
            ledger.relate(e_all, es, f"{project}: model returns by {var}")
    for m, k in (("logistic", y_all), ("cox", e_all)):
        ledger.derive(
            f"{project}/{m}_coef",
            [n_all, k, f"{n_all}~not~{ledger.cells[k].numerator}"],
            artefact=arts,
            what="model coefficient",
        )
    del left_out
