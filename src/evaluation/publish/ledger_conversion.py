"""Ledger cells of the conversion side that are printed outside the funnel: cohort follow-up,
how follow-up ended, the model tables, the cross-project comparison and efficiency.

Each table counts people the ledger already knows, split another way, so its cells are linked to
the funnel, cohort and subgroup cells by relations (a model's level plus the people left out of
the model is the subgroup; a project's people counted once plus those counted in an earlier
project is the project), never left as free cells: differencing two tables is then part of the
one joint check (publish.joint). Keys follow publish.ledger.make_key; the results files look
their numbers up by the same keys (publish.gate_conversion).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from evaluation.publish.ledger import AMOUNT, Ledger, make_key

PERSON = "person"  # prefix of the cross-project population: each person once, first project


def _cell(ledger: Ledger, key: str, value: Any, pop: str, what: str, arts, dims=None) -> str:
    return ledger.count(key, int(value), population=pop, numerator=what, dims=dims, artefact=arts)


def rate(ledger: Ledger, n: str, big: str, label: str, arts, key: str) -> str:
    """A share n/N whose complement N − n is a cell named by `label` (ledger.rate names it by
    n's numerator, which two shares of one N may share)."""
    comp = f"{big}~not~{label}"
    v = ledger.cells[big].value - ledger.cells[n].value
    c = ledger.cells[big]
    ledger.count(comp, v, population=c.population, numerator=f"not {label}", dims=c.dims)
    ledger.relate(big, [n, comp], f"{big} = {n} + {comp}")
    return ledger.derive(key, [n, big, comp], artefact=arts, what="share")


def same_or_part(
    ledger: Ledger, whole: str, part: str, value: int, pop: str, what: str, arts, dims=None
) -> str:
    """`part` when its people may differ from `whole`'s, linked by whole = part + rest (the
    rest is never printed); `whole` itself when they are the same number of the same people."""
    if whole in ledger.cells and ledger.cells[whole].value == value:
        ledger.cells[whole].artefacts |= {arts} if isinstance(arts, str) else set(arts)
        return whole
    k = _cell(ledger, part, value, pop, what, arts, dims)
    if whole in ledger.cells and ledger.cells[whole].value >= value:
        rest = _cell(ledger, f"{part}~rest", ledger.cells[whole].value - value, pop,
                     f"{what} (rest)", ())  # fmt: skip
        ledger.relate(whole, [k, rest], f"{whole} = {part} + the rest")
    return k


def follow_up_cells(
    ledger: Ledger, times: pd.DataFrame, project: str, horizons: Sequence[float], arts,
    prefix: str = "",
) -> None:  # fmt: skip
    """analysis.estimands.cohort_follow_up: per cohort N and those followable to each horizon
    (with N − followable as a cell of its own); potential follow-up rests on N."""
    pop = f"clients enrolled in {project}"
    for c, g in times.groupby("cohort", sort=True):
        d = {"project": project, "cohort": c}
        big = same_or_part(ledger, make_key(project, "enrolled", cohort=c),
                           make_key(project, f"{prefix}enrolled", cohort=c), len(g), pop,
                           "enrolled", arts, d)  # fmt: skip
        ledger.derive(make_key(project, f"{prefix}potential", cohort=c), [big], artefact=arts,
                      what="potential follow-up")  # fmt: skip
        for h in horizons:
            n = int((g["potential"] >= h).sum())
            hd = f"{h:g}"
            k = _free(ledger, make_key(project, "followable", cohort=c, months=hd),
                      make_key(project, f"{prefix}followable", cohort=c, months=hd), n,
                      same=not prefix or big == make_key(project, "enrolled", cohort=c))  # fmt: skip
            _cell(ledger, k, n, pop, f"followable {hd} months", arts, {**d, "months": hd})
            ledger.rate(k, big, artefact=())


def _free(ledger: Ledger, base: str, alt: str, value: int, same: bool = True) -> str:
    """`base` when it counts the same people (and holds `value` if known), else `alt`."""
    if same and (base not in ledger.cells or ledger.cells[base].value == value):
        return base
    return alt


def exit_cells(ledger: Ledger, times: pd.DataFrame, project: str, arts) -> None:
    """analysis.time_to_return.exit_table: clients by how follow-up ended; they add up to the
    clients followed, and the returns are the returns the funnel counts."""
    pop = f"clients enrolled in {project}"
    big = make_key(project, "enrolled")
    if big not in ledger.cells or ledger.cells[big].value != len(times):
        big = _cell(ledger, make_key(project, "cif_followed"), len(times), pop, "followed", arts)
    ledger.cells[big].artefacts |= set(arts)
    parts = []
    for cause, n in times.groupby("cause").size().items():
        k = make_key(project, "exit", cause=cause)
        if cause == "returned":
            for cand in (make_key(project, "returned"), make_key(project, "cif_returned")):
                if cand in ledger.cells and ledger.cells[cand].value == int(n):
                    k = cand
                    break
        _cell(ledger, k, n, pop, f"follow-up ended: {cause}", arts,
              {"project": project, "cause": cause})  # fmt: skip
        rate(ledger, k, big, f"exit {cause}", arts, f"exit_share:{project}|cause={cause}")
        parts.append(k)
    if parts:
        ledger.relate(big, parts, f"{project}: follow-up ended one way each")


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
    arts = [f"results/{g}/conversion_logistic.csv", f"results/{g}/conversion_cox.csv",
            f"report:{g}"]  # fmt: skip
    data, left_out = cv.model_frame(frame)
    pop = f"clients of {project} in the models"
    d = {"project": project}
    n_all = same_or_part(ledger, make_key(project, "enrolled"), make_key(project, "model_n"),
                         len(data), pop, "in the models", arts, d)  # fmt: skip
    if n_all != make_key(project, "enrolled"):
        ledger.cells[f"{n_all}~rest"].artefacts.add(f"report:{g}")  # "N clients left out"
    event = times.loc[data.index, "status"].astype(int) == 1
    y_all = same_or_part(ledger, make_key(project, outcome), make_key(project, f"model_{outcome}"),
                         int(data[outcome].sum()), pop, outcome, arts, d)  # fmt: skip
    e_all = make_key(project, "model_events")
    if int(event.sum()) == ledger.cells[y_all].value and outcome == "returned":
        e_all = y_all
    else:
        _cell(ledger, e_all, event.sum(), pop, "returns observed", arts, d)
    ledger.rate(y_all, n_all, artefact=arts)
    ledger.rate(e_all, n_all, artefact=arts)
    for var in models._categorical(data, list(cv.MODEL_COVARIATES)):
        x = data[var].astype(str)
        ns, ys, es = [], [], []
        for level in sorted(set(x)):
            sub = f"{var}={level}"
            dd = {**d, "subgroup": sub}
            inl = x == level
            n = same_or_part(ledger, make_key(project, "enrolled", subgroup=sub),
                             make_key(project, "model_n", subgroup=sub), int(inl.sum()), pop,
                             "in the models", arts, dd)  # fmt: skip
            y = same_or_part(ledger, make_key(project, outcome, subgroup=sub),
                             make_key(project, f"model_{outcome}", subgroup=sub),
                             int(data.loc[inl, outcome].sum()), pop, outcome, arts, dd)  # fmt: skip
            ev = int(event[inl].sum())
            e = make_key(project, "model_events", subgroup=sub)
            if e_all == y_all:
                e = y
            else:
                _cell(ledger, e, ev, pop, "returns observed", arts, dd)
            ledger.rate(y, n, artefact=arts)
            ledger.rate(e, n, artefact=arts)
            ns.append(n)
            ys.append(y)
            es.append(e)
            for m, k in (("logistic", y), ("cox", e)):
                ledger.derive(f"{project}/{m}_coef|subgroup={sub}",
                              [n, k, f"{n}~not~{ledger.cells[k].numerator}"],
                              artefact=arts, what="model coefficient of a level")  # fmt: skip
        ledger.relate(n_all, ns, f"{project}: model sample by {var}")
        ledger.relate(y_all, ys, f"{project}: model {outcome} by {var}")
        if e_all != y_all:
            ledger.relate(e_all, es, f"{project}: model returns by {var}")
    for m, k in (("logistic", y_all), ("cox", e_all)):
        ledger.derive(f"{project}/{m}_coef", [n_all, k, f"{n_all}~not~{ledger.cells[k].numerator}"],
                      artefact=arts, what="model coefficient")  # fmt: skip
    del left_out


def person_cells(
    ledger: Ledger, person: pd.DataFrame, frames: Mapping[str, pd.DataFrame], horizons, arts_map
) -> dict[str, str]:
    """Each person once (analysis.estimands.person_times): per project enrolled and returned
    (comparison_return_rates), per cohort (comparison_cohort_follow_up) and returns by each
    horizon with those still followed (comparison_cif_*). Returns {project: enrolled key}."""
    from evaluation.analysis import survival

    out = {}
    for p, t in person.groupby("project", sort=False):
        pop = f"persons first enrolled in {p}"
        d = {"project": p}
        same = p in frames and len(frames[p]) == len(t)
        pre = "" if same else f"{PERSON}_"
        big = same_or_part(ledger, make_key(p, "enrolled"), make_key(p, f"{pre}enrolled"),
                           len(t), pop, "enrolled", arts_map["rates"], d)  # fmt: skip
        ret = same_or_part(ledger, make_key(p, "returned"), make_key(p, f"{pre}returned"),
                           int(t["returned_ever"].sum()), pop, "returned", arts_map["rates"],
                           d)  # fmt: skip
        ledger.rate(ret, big, artefact=arts_map["rates"], derived_key=f"person_rate:{p}")
        out[p] = big
        follow_up_cells(ledger, t, p, horizons, arts_map["follow"], prefix=pre)
        inc = survival.cumulative_incidence(t["time"], t["status"])
        prev = None
        for _, r in inc.horizons(horizons).iterrows():
            h = f"{float(r['horizon_months']):g}"
            dh = {**d, "months": h}
            by = _cell(ledger, _free(ledger, make_key(p, "returned_by", months=h),
                                     make_key(p, f"{PERSON}_returned_by", months=h), r["n"],
                                     same=not pre), r["n"], pop,
                       "returned by the horizon", arts_map["cif"], dh)  # fmt: skip
            at = _cell(ledger, _free(ledger, make_key(p, "cif_at_risk", months=h),
                                     make_key(p, f"{PERSON}_cif_at_risk", months=h),
                                     r["at_risk"], same=not pre), r["at_risk"], pop,
                       "still followed", arts_map["cif"], dh)  # fmt: skip
            if by != make_key(p, "returned_by", months=h):
                nf = _cell(ledger, make_key(p, f"{pre}cif_not_followed", months=h),
                           len(t) - int(r["at_risk"]), pop, "not followed", (), dh)  # fmt: skip
                ledger.relate(big, [at, nf], f"{p} persons: followed or not at {h} months")
                never = _cell(ledger, make_key(p, f"{pre}not_returned_by", months=h),
                              len(t) - int(r["n"]), pop, "not returned by", (), dh)  # fmt: skip
                ledger.relate(big, [by, never], f"{p} persons: returned by {h} months or not")
                if prev is not None:
                    btw = _cell(ledger, make_key(p, f"{pre}returned_between", months=h),
                                int(r["n"]) - ledger.cells[prev].value, pop, "between", (),
                                dh)  # fmt: skip
                    ledger.relate(by, [prev, btw], f"{p} persons: returns up to {h} months")
            cif = "cif" if by == make_key(p, "returned_by", months=h) else f"{PERSON}_cif"
            ledger.derive(make_key(p, cif, months=h), [by, at, big],
                          artefact=arts_map["cif"], what="cumulative incidence")  # fmt: skip
            prev = by
    return out


def sensitivity_cells(
    ledger: Ledger, tables, ends, cutoffs, plan, frames, persons: Mapping[str, str], arts
) -> None:
    """comparison_sensitivity: the N of every alternative population (carry-over excluded,
    enrolled before / from a date), linked to the persons counted once, and each estimate
    resting on its N and the returns by the primary horizon in that population."""
    from evaluation.analysis import estimands, sensitivity

    h = plan.return_.primary_horizon
    for sid, _label, opts in sensitivity._scenarios(plan):
        split = opts.pop("split", None)
        t = estimands.person_times(tables, ends, cutoffs, plan.return_, frames=frames, **opts)
        periods = [("", t)]
        if split is not None:
            before = t["enrolment_date"] < pd.Timestamp(split)
            periods = [("before", t[before]), ("from", t[~before])]
        for period, tp in periods:
            for p in ends:
                g = tp[tp["project"] == p]
                dims = {"project": p, "analysis": sid, "period": period or None}
                big = make_key(p, "sens_enrolled", analysis=sid, period=period or None)
                big = same_or_part(ledger, persons.get(p, make_key(p, "enrolled")), big, len(g),
                                   f"persons of {p} ({sid})", "enrolled", arts, dims)  # fmt: skip
                n_by = int(((g["status"] == 1) & (g["time"] <= h)).sum())
                by = make_key(p, "sens_returned_by", analysis=sid, period=period or None)
                if sid == "primary":
                    by = next(k for k in (make_key(p, "returned_by", months=f"{h:g}"),
                                          make_key(p, f"{PERSON}_returned_by", months=f"{h:g}"),
                                          by) if k in ledger.cells or k == by)  # fmt: skip
                    if by in ledger.cells and ledger.cells[by].value != n_by:
                        by = make_key(p, "sens_returned_by", analysis=sid)
                label = f"returned by {h:g} months ({sid} {period})"
                _cell(ledger, by, n_by, f"persons of {p} ({sid})", label, (), dims)
                ledger.rate(by, big, artefact=())
                ledger.derive(f"{p}/sens_cif|analysis={sid}" + (f"|period={period}" if period
                              else ""), [by, big], artefact=arts, what="sensitivity estimate")  # fmt: skip
        if split is not None:
            for p in ends:
                parts = [make_key(p, "sens_enrolled", analysis=sid, period=q)
                         for q in ("before", "from")]  # fmt: skip
                parts = [k if k in ledger.cells else persons.get(p) for k in parts]
                whole = persons.get(p)
                if whole and all(parts) and len(set(parts)) == 2:
                    ledger.relate(whole, parts, f"{p}: enrolled before and from {split}")


def durability_sensitivity_cells(ledger: Ledger, project: str, window: str, arts) -> None:
    """The durability rows of comparison_sensitivity: shares on the ledger's durability cells;
    the tipping point rests on stayed, unknown and due; its note prints the unknown count."""
    for a in ("complete", "worst", "best"):
        k = f"{project}/durability_{a}|window={window}"
        if k in ledger.derived:
            ledger.derive(k, ledger.derived[k].depends, artefact=arts)
    keys = [make_key(project, w, window=window) for w in ("stayed", "unknown", "due", "known")]
    if all(k in ledger.cells for k in keys):
        for k in keys:
            ledger.cells[k].artefacts.add(arts[0])
        ledger.derive(f"{project}/tipping|window={window}", keys, artefact=arts,
                      what="tipping point")  # fmt: skip


def efficiency_cells(ledger: Ledger, e, frame: pd.DataFrame, stayed_key: str | None) -> None:
    """publish.efficiency_results: spending after return (an amount, with dominance), the
    units it is divided by (enrolled, returned, staying at 12 months: funnel and durability
    cells), clients with spending and support items."""
    p = e.project
    arts = ["results/efficiency/efficiency.csv", "metrics.json", "report:efficiency"]
    pop = f"clients of {p}"
    d = {"project": p}
    amount = ledger.count(make_key(p, "spend_after_return"), float(e.client_amounts.sum()),
                          population=pop, numerator="euros", dims=d, artefact=arts, kind=AMOUNT,
                          contributions=[x for x in e.client_amounts if x > 0])  # fmt: skip
    big = same_or_part(ledger, make_key(p, "enrolled"), make_key(p, "efficiency_enrolled"),
                       e.enrolled, pop, "enrolled", arts, d)  # fmt: skip
    units = {"enrolled client": big}
    units["verified return"] = same_or_part(
        ledger, make_key(p, "returned"), make_key(p, "efficiency_returned"),
        e.per_return.units, pop, "returned", arts, d)  # fmt: skip
    stay = stayed_key if stayed_key in ledger.cells else make_key(p, "efficiency_stayed")
    units["returnee staying at 12 months"] = same_or_part(
        ledger, stay, make_key(p, "efficiency_stayed"), e.per_staying_12m.units, pop,
        "staying at 12 months", arts, d)  # fmt: skip
    sup = same_or_part(ledger, big, make_key(p, "spending_clients"), e.clients_with_support,
                       pop, "with spending after return", arts, d)  # fmt: skip
    items = _cell(ledger, make_key(p, "support_items"), e.items, pop, "support items", arts, d)
    gap = _cell(ledger, make_key(p, "support_items_no_amount"), e.items_without_amount, pop,
                "items without amount", arts, d)  # fmt: skip
    for per, u in units.items():
        ledger.derive(f"{p}/efficiency|per={per}", [amount, u, big, sup], artefact=arts,
                      what="euros per unit")  # fmt: skip
    del items, gap, frame


def add(
    ledger: Ledger,
    tables: Mapping[str, pd.DataFrame],
    projects: Sequence[tuple[str, str]],
    frames: Mapping[str, pd.DataFrame],
    return_plan: Any,
    cutoff: Any,
    ends: Mapping | None,
    plan: Any = None,
) -> None:
    """Every conversion-side cell above, for the projects publish.ledger_build has framed."""
    from evaluation.analysis import estimands, time_to_return

    if return_plan is None:
        return
    ends = dict(ends or {})
    cuts = {p: (cutoff.get(p) if isinstance(cutoff, Mapping) else cutoff) for p, _ in projects}
    horizons = return_plan.horizons
    for pid, kind in projects:
        if pid not in frames:
            continue
        frame = frames[pid]
        times = time_to_return.return_times(frame, return_plan, end=ends.get(pid),
                                            cutoff=cuts[pid], kind=kind)  # fmt: skip
        g = pid.lower()
        follow_up_cells(ledger, times, pid, horizons,
                        [f"results/{g}/conversion_cohort_follow_up.csv", f"report:{g}"])  # fmt: skip
        exit_cells(ledger, times, pid, [f"results/{g}/conversion_exits.csv", f"report:{g}"])
        model_cells(ledger, frame, times, pid, "referred" if kind == "counselling" else "returned")
    returning = [p for p, k in projects if k == "return" and p in frames]
    from evaluation.analysis import efficiency

    for p in returning:
        e = efficiency.project_efficiency(dict(tables), p, cutoff=cuts[p], frame=frames[p])
        efficiency_cells(ledger, e, frames[p], make_key(p, "stayed", window="m12"))
    if len(returning) < 2:
        return
    rends = {p: ends.get(p) for p in returning}
    rcuts = {p: cuts[p] for p in returning}
    person = estimands.person_times(tables, rends, rcuts, return_plan, frames=frames)
    arts = {"rates": ["results/comparison/comparison_return_rates.csv", "report:comparison",
                      "results/comparison/comparison_cif_contrasts.csv"],
            "follow": ["results/comparison/comparison_cohort_follow_up.csv", "report:comparison"],
            "cif": ["results/comparison/comparison_cif_horizons.csv", "report:comparison"]}  # fmt: skip
    persons = person_cells(ledger, person, frames, horizons, arts)
    sens = ["results/comparison/comparison_sensitivity.csv", "report:comparison"]
    if plan is not None:
        sensitivity_cells(ledger, tables, rends, rcuts, plan, frames, persons, sens)
        w = f"m{plan.durability.primary_horizon:g}"
        for p in returning:
            durability_sensitivity_cells(ledger, p, w, sens)
