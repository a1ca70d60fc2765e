"""Ledger cells of the cross-project files and efficiency: each person counted once across the
return projects (comparison_return_rates, comparison_cohort_follow_up, comparison_cif_*), the
sensitivity analyses (comparison_sensitivity) and support spending (efficiency), linked to the
project cells they split another way (publish.ledger_conversion for the helpers and the
per-project conversion cells). ``add`` fills all of them for publish.ledger_build.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from evaluation.publish.ledger import AMOUNT, Ledger, make_key
from evaluation.publish.ledger_conversion import (
    PERSON,
    count_cell,
    follow_up_cells,
    free_key,
    model_cells,
    same_or_part,
)


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
        big = same_or_part(
            ledger,
            make_key(p, "enrolled"),
            make_key(p, f"{pre}enrolled"),
            len(t),
            pop,
            "enrolled",
            arts_map["rates"],
            d,
        )
        ret = same_or_part(
            ledger,
            make_key(p, "returned"),
            make_key(p, f"{pre}returned"),
            int(t["returned_ever"].sum()),
            pop,
            "returned",
            arts_map["rates"],
            d,
        )
        ledger.rate(ret, big, artefact=arts_map["rates"], derived_key=f"person_rate:{p}")
        out[p] = big
        follow_up_cells(ledger, t, p, horizons, arts_map["follow"], prefix=pre)
        inc = survival.horizon_counts(t["time"], t["status"], horizons)
        prev = None
        for _, r in inc.horizons().iterrows():
            h = f"{float(r['horizon_months']):g}"
            dh = {**d, "months": h}
            by = count_cell(
                ledger,
                free_key(
                    ledger,
                    make_key(p, "returned_by", months=h),
                    make_key(p, f"{PERSON}_returned_by", months=h),
                    r["n"],
                    same=not pre,
                ),
                r["n"],
                pop,
                "returned by the horizon",
                arts_map["cif"],
                dh,
            )
            at = count_cell(
                ledger,
                free_key(
                    ledger,
                    make_key(p, "cif_at_risk", months=h),
                    make_key(p, f"{PERSON}_cif_at_risk", months=h),
                    r["at_risk"],
                    same=not pre,
                ),
                r["at_risk"],
                pop,
                "still followed",
                arts_map["cif"],
                dh,
            )
            if by != make_key(p, "returned_by", months=h):
                nf = count_cell(
                    ledger,
                    make_key(p, f"{pre}cif_not_followed", months=h),
                    len(t) - int(r["at_risk"]),
                    pop,
                    "not followed",
                    (),
                    dh,
                )
                ledger.relate(big, [at, nf], f"{p} persons: followed or not at {h} months")
                never = count_cell(
                    ledger,
                    make_key(p, f"{pre}not_returned_by", months=h),
                    len(t) - int(r["n"]),
                    pop,
                    "not returned by",
                    (),
                    dh,
                )
                ledger.relate(big, [by, never], f"{p} persons: returned by {h} months or not")
                if prev is not None:
                    btw = count_cell(
                        ledger,
                        make_key(p, f"{pre}returned_between", months=h),
                        int(r["n"]) - ledger.cells[prev].value,
                        pop,
                        "between",
                        (),
                        dh,
                    )
                    ledger.relate(by, [prev, btw], f"{p} persons: returns up to {h} months")
            cif = "cif" if by == make_key(p, "returned_by", months=h) else f"{PERSON}_cif"
            ledger.derive(
                make_key(p, cif, months=h),
                [by, at, big],
                artefact=arts_map["cif"],
                what="cumulative incidence",
            )
            prev = by
    return out


def sensitivity_cells(
    ledger: Ledger,
    tables,
    ends,
    cutoffs,
    plan,
    frames,
    persons: Mapping[str, str],
    arts,
    primary: pd.DataFrame | None = None,
    found: Sequence[pd.DataFrame] | None = None,
) -> None:
    """comparison_sensitivity: the N of every alternative population (carry-over excluded,
    enrolled before / from a date), linked to the persons counted once, and each estimate
    resting on its N and the returns by the primary horizon in that population. primary:
    estimands.person_times of the plan as declared, when already computed (the scenarios
    without overrides are that population); found: those of the scenarios with overrides,
    in order, when already computed."""
    from evaluation.analysis import estimands, sensitivity

    h = plan.return_.primary_horizon
    scenarios = sensitivity._scenarios(plan)
    splits = [opts.pop("split", None) for _, _, opts in scenarios]
    if found is None:
        todo = [opts for _, _, opts in scenarios if opts or primary is None]
        found = estimands.person_times_each(tables, ends, cutoffs, plan.return_, todo, frames)
    others = iter(found)
    for (sid, _label, opts), split in zip(scenarios, splits, strict=True):
        t = next(others) if opts or primary is None else primary
        periods = [("", t)]
        if split is not None:
            before = t["enrolment_date"] < pd.Timestamp(split)
            periods = [("before", t[before]), ("from", t[~before])]
        for period, tp in periods:
            for p in ends:
                g = tp[tp["project"] == p]
                dims = {"project": p, "analysis": sid, "period": period or None}
                big = make_key(p, "sens_enrolled", analysis=sid, period=period or None)
                big = same_or_part(
                    ledger,
                    persons.get(p, make_key(p, "enrolled")),
                    big,
                    len(g),
                    f"persons of {p} ({sid})",
                    "enrolled",
                    arts,
                    dims,
                )
                n_by = int(((g["status"] == 1) & (g["time"] <= h)).sum())
                by = make_key(p, "sens_returned_by", analysis=sid, period=period or None)
                if sid == "primary":
                    by = next(
                        k
                        for k in (
                            make_key(p, "returned_by", months=f"{h:g}"),
                            make_key(p, f"{PERSON}_returned_by", months=f"{h:g}"),
                            by,
                        )
                        if k in ledger.cells or k == by
                    )
                    if by in ledger.cells and ledger.cells[by].value != n_by:
                        by = make_key(p, "sens_returned_by", analysis=sid)
                label = f"returned by {h:g} months ({sid} {period})"
                count_cell(ledger, by, n_by, f"persons of {p} ({sid})", label, (), dims)
                ledger.rate(by, big, artefact=())
                ledger.derive(
                    f"{p}/sens_cif|analysis={sid}" + (f"|period={period}" if period else ""),
                    [by, big],
                    artefact=arts,
                    what="sensitivity estimate",
                )
        if split is not None:
            for p in ends:
                parts = [
                    make_key(p, "sens_enrolled", analysis=sid, period=q) for q in ("before", "from")
                ]
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
        ledger.derive(
            f"{project}/tipping|window={window}", keys, artefact=arts, what="tipping point"
        )


def efficiency_cells(ledger: Ledger, e, frame: pd.DataFrame, stayed_key: str | None) -> None:
    """publish.efficiency_results: spending after return (an amount, with dominance), the
    units it is divided by (enrolled, returned, staying at 12 months: funnel and durability
    cells), clients with spending and support items."""
    p = e.project
    arts = ["results/efficiency/efficiency.csv", "metrics.json", "report:efficiency"]
    pop = f"clients of {p}"
    d = {"project": p}
    amount = ledger.count(
        make_key(p, "spend_after_return"),
        float(e.client_amounts.sum()),
        population=pop,
        numerator="euros",
        dims=d,
        artefact=arts,
        kind=AMOUNT,
        contributions=[x for x in e.client_amounts if x > 0],
    )
    big = same_or_part(
        ledger,
        make_key(p, "enrolled"),
        make_key(p, "efficiency_enrolled"),
        e.enrolled,
        pop,
        "enrolled",
        arts,
        d,
    )
    units = {"enrolled client": big}
    units["verified return"] = same_or_part(
        ledger,
        make_key(p, "returned"),
        make_key(p, "efficiency_returned"),
        e.per_return.units,
        pop,
        "returned",
        arts,
        d,
    )
    stay = stayed_key if stayed_key in ledger.cells else make_key(p, "efficiency_stayed")
    units["returnee staying at 12 months"] = same_or_part(
        ledger,
        stay,
        make_key(p, "efficiency_stayed"),
        e.per_staying_12m.units,
        pop,
        "staying at 12 months",
        arts,
        d,
    )
    sup = same_or_part(
        ledger,
        big,
        make_key(p, "spending_clients"),
        e.clients_with_support,
        pop,
        "with spending after return",
        arts,
        d,
    )
    items = count_cell(ledger, make_key(p, "support_items"), e.items, pop, "support items", arts, d)
    gap = count_cell(
        ledger,
        make_key(p, "support_items_no_amount"),
        e.items_without_amount,
        pop,
        "items without amount",
        arts,
        d,
    )
    for per, u in units.items():
        ledger.derive(
            f"{p}/efficiency|per={per}", [amount, u, big, sup], artefact=arts, what="euros per unit"
        )
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
    times_of: Mapping[str, pd.DataFrame] | None = None,
    stayers: Mapping[str, pd.Series] | None = None,
) -> None:
    """Every conversion-side cell above, for the projects publish.ledger_build has framed
    (times_of: their return times; stayers: the return projects' returnees staying at 12
    months, analysis.efficiency.stayers_12m; where known)."""
    from evaluation.analysis import estimands, time_to_return

    if return_plan is None:
        return
    ends = dict(ends or {})
    cuts = {p: (cutoff.get(p) if isinstance(cutoff, Mapping) else cutoff) for p, _ in projects}
    horizons = return_plan.horizons
    times_of, stayers = times_of or {}, stayers or {}
    for pid, kind in projects:
        if pid not in frames:
            continue
        frame = frames[pid]
        times = times_of.get(pid)
        if times is None:
            times = time_to_return.return_times(frame, return_plan, ends.get(pid), cuts[pid], kind)
        g = pid.lower()
        follow_up_cells(
            ledger,
            times,
            pid,
            horizons,
            [f"results/{g}/conversion_cohort_follow_up.csv", f"report:{g}"],
        )
        model_cells(ledger, frame, times, pid, "referred" if kind == "counselling" else "returned")
    returning = [p for p, k in projects if k == "return" and p in frames]
    from evaluation.analysis import efficiency

    for p in returning:
        if p in stayers:  # a framed project has enrolments: efficiency.project_efficiency's
            e = efficiency.efficiency(p, frames[p], tables["support"], stayers[p])
        else:
            e = efficiency.project_efficiency(dict(tables), p, cutoff=cuts[p], frame=frames[p])
        efficiency_cells(ledger, e, frames[p], make_key(p, "stayed", window="m12"))
    if len(returning) < 2:
        return
    rends = {p: ends.get(p) for p in returning}
    rcuts = {p: cuts[p] for p in returning}
    # the person times of the plan and of every sensitivity scenario, found together
    from evaluation.analysis import sensitivity

    same = plan is not None and plan.return_ == return_plan
    variants = [{k: v for k, v in o.items() if k != "split"} for _, _, o in
                (sensitivity._scenarios(plan) if same else ())]  # fmt: skip
    person, *found = estimands.person_times_each(
        tables, rends, rcuts, return_plan, [{}] + [v for v in variants if v], frames
    )
    arts = {
        "rates": [
            "results/comparison/comparison_return_rates.csv",
            "report:comparison",
            "results/comparison/comparison_cif_contrasts.csv",
        ],
        "follow": ["results/comparison/comparison_cohort_follow_up.csv", "report:comparison"],
        "cif": ["results/comparison/comparison_cif_horizons.csv", "report:comparison"],
    }
    persons = person_cells(ledger, person, frames, horizons, arts)
    sens = ["results/comparison/comparison_sensitivity.csv", "report:comparison"]
    if plan is not None:
        sensitivity_cells(ledger, tables, rends, rcuts, plan, frames, persons, sens,
                          person if same else None, found if same else None)  # fmt: skip
        w = f"m{plan.durability.primary_horizon:g}"
        for p in returning:
            durability_sensitivity_cells(ledger, p, w, sens)
