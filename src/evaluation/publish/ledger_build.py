"""Fill the ledger from the prepared case tables and the published figures, before any notebook
shows a number (beside the first notebooks, which wait for the decision): the same estimators
the notebooks call, counted once per population and linked; on large data the last project's
cells in a second process (publish.ledger_split).

Artefact names say where a cell is printed: ``results/<group>/<file>.csv``, ``metrics.json``,
``report:<label>``. Keys say whom a cell counts, so a cell printed in several artefacts is one
cell with one decision.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd

from evaluation.data import id_codes
from evaluation.data.membership import member
from evaluation.publish import (
    ledger_amif,
    ledger_comparison,
    ledger_durability,
    ledger_split,
    step_keys,
)
from evaluation.publish.ledger import AMOUNT, Ledger, counted, make_key

# published figure id -> (project, what) in ledger terms
PUBLISHED_CELLS = {
    "clients_enrolled": "enrolled",
    "returned_with_support": "returned",
    "referred_moh": "referred_moh",
    "referred_other": "referred_other",
}


def _published(ledger: Ledger, figures: pd.DataFrame | None) -> dict[str, int]:
    """Cells VluchtelingenWerk already published: fixed, never withheld."""
    out: dict[str, int] = {}
    if figures is None:
        return out
    for _, row in figures.iterrows():
        fid = str(row["figure_id"])
        proj, _, what = fid.partition(".")
        if what in PUBLISHED_CELLS and proj.upper() == str(row["project"]).upper():
            out[make_key(str(row["project"]), PUBLISHED_CELLS[what])] = int(row["value"])
    return out


def conversion_cells(
    ledger: Ledger, tables: Mapping[str, pd.DataFrame], project: str, kind: str, public: dict
) -> pd.DataFrame:
    """Funnel, cohorts, subgroups and exits of one project; returns the client frame."""
    from evaluation.analysis import conversion as cv

    frame = cv.client_frame(tables, project, kind=kind)
    g = project.lower()
    pop = f"clients enrolled in {project}"
    arts_total = [f"results/{g}/conversion_funnel.csv", "metrics.json", f"report:{g}"]
    enrolled = counted(
        ledger,
        make_key(project, "enrolled"),
        len(frame),
        pop,
        "enrolled",
        arts_total,
        public,
        {"project": project},
        headline=True,
    )
    steps = step_keys.funnel_steps(project, kind, frame.columns)[1:]
    headline = {"returned", "referred", "referred_moh"}
    for _, what, col in steps:
        k = counted(ledger, make_key(project, what), frame[col].sum(), pop, what, arts_total,
                   public, {"project": project}, headline=what in headline)  # fmt: skip
        ledger.rate(k, enrolled, artefact=arts_total)
    # half-year cohorts, every funnel step: they add up to the project totals (some published)
    arts_c = [f"results/{g}/conversion_funnel_cohorts.csv", f"report:{g}"]
    parts: dict[str, list[str]] = {}
    sizes, sums = _group_sums(frame, frame["cohort"], [col for _, _, col in steps])
    for c, size in sizes.items():
        d = {"project": project, "cohort": c}
        n = counted(ledger, make_key(project, "enrolled", cohort=c), size, pop, "enrolled",
                   arts_c, public, d)  # fmt: skip
        parts.setdefault("enrolled", []).append(n)
        for _, what, col in steps:
            r = counted(ledger, make_key(project, what, cohort=c), sums.at[c, col], pop, what,
                       arts_c, public, d)  # fmt: skip
            ledger.rate(r, n, artefact=arts_c)
            parts.setdefault(what, []).append(r)
    for what, ks in parts.items():
        ledger.relate(make_key(project, what), ks, f"{project}: cohorts add up to {what}")
    # subgroups: each variable splits the same people another way
    outcome = "referred" if kind == "counselling" else "returned"
    arts_s = [f"results/{g}/conversion_subgroups.csv", f"report:{g}"]
    for var in cv.SUBGROUPS:
        if var not in frame:
            continue
        parts_n, parts_r = [], []
        sizes, sums = _group_sums(frame, frame[var].astype("str"), [outcome])
        for level, size in sizes.items():
            d = {"project": project, "subgroup": f"{var}={level}"}
            n = counted(ledger, make_key(project, "enrolled", subgroup=f"{var}={level}"),
                       size, pop, "enrolled", arts_s, public, d)  # fmt: skip
            r = counted(ledger, make_key(project, outcome, subgroup=f"{var}={level}"),
                       sums.at[level, outcome], pop, outcome, arts_s, public, d)  # fmt: skip
            ledger.rate(r, n, artefact=arts_s)
            parts_n.append(n)
            parts_r.append(r)
        ledger.relate(enrolled, parts_n, f"{project}: {var} adds up to enrolled")
        ledger.relate(make_key(project, outcome), parts_r, f"{project}: {var} adds up")
    return frame


def _group_sums(frame: pd.DataFrame, by: pd.Series, cols: Sequence[str]):
    """Rows and column sums per group, sorted by group (as iterating the groups would give),
    without building each group's frame; missing groups are left out, as groupby does."""
    cols = list(dict.fromkeys(cols))
    if not all(frame[c].dtype == bool or frame[c].dtype == np.int64 for c in cols):
        grouped = frame[cols].groupby(by, sort=True)
        return grouped.size(), grouped.sum()
    codes, groups = pd.factorize(by, sort=True)  # a missing group is -1
    keep = codes >= 0
    codes, n = codes[keep], len(groups)
    index = pd.Index(groups, name=by.name)
    sums = {c: np.bincount(codes, frame[c].to_numpy()[keep], n).astype(np.int64) for c in cols}
    return pd.Series(np.bincount(codes, minlength=n), index=index), pd.DataFrame(sums, index)


def chain_cells(ledger: Ledger, tables: Mapping[str, pd.DataFrame], public: dict) -> None:
    """The chain ENH → MOH → return (analysis.conversion.chain) on the same linked people.

    Its last two rows count the same returnees (over those enrolled in MOH, and over all
    referred to MOH): one cell, so withholding one row withholds the other, and the three
    complements tie referred, enrolled and returned together for the joint check.
    """
    from evaluation.analysis import conversion as cv

    steps = cv.chain(tables)
    src = step_keys.CHAIN_SOURCE
    g = src.lower()
    arts = [f"results/{g}/conversion_chain.csv", "metrics.json", f"report:{g}"]
    pops = ("clients enrolled in ENH", "ENH clients referred to MOH",
            "ENH clients referred to MOH", "ENH clients referred to MOH")  # fmt: skip
    enrolled = make_key(src, "enrolled")
    if enrolled not in ledger.cells or ledger.cells[enrolled].value != int(steps.iloc[0]["N"]):
        return  # no ENH funnel to link to: the chain keeps its own protection
    for i in range(min(len(steps), len(step_keys.CHAIN_WHAT))):
        n_key, big_key = step_keys.chain_keys(i, src)
        row = steps.iloc[i]
        counted(ledger, n_key, row["n"], pops[i], step_keys.CHAIN_WHAT[i], arts, public,
               {"project": src})  # fmt: skip
        if big_key in ledger.cells and int(row["N"]) == ledger.cells[big_key].value:
            ledger.rate(n_key, big_key, artefact=arts)
    referred = make_key(src, "referred_moh")
    first = make_key(src, step_keys.CHAIN_WHAT[0])
    if referred in ledger.cells and ledger.cells[referred].value == ledger.cells[first].value:
        ledger.relate(first, [referred], "ENH referred to MOH: funnel and chain, same people")


def cif_cells(
    ledger: Ledger,
    frame: pd.DataFrame,
    project: str,
    kind: str,
    return_plan,
    end=None,
    cutoff=None,
    public: dict | None = None,
    times: pd.DataFrame | None = None,
) -> None:
    """Cumulative incidence of return at the plan's horizons: returns by each horizon and the
    numbers still followed, as the conversion notebook prints them. Returns by a horizon
    plus returns after it are all returns, so a horizon count next to the project total gives
    the late returns away unless the check protects them. times: the frame's return times
    (analysis.time_to_return.return_times), when already computed."""
    from evaluation.analysis import survival, time_to_return

    if times is None:
        times = time_to_return.return_times(frame, return_plan, end, cutoff, kind=kind)
    if times.empty:
        return
    inc = survival.horizon_counts(times["time"], times["status"], return_plan.horizons)
    horizons = inc.horizons()
    g, pop = project.lower(), f"clients enrolled in {project}"
    arts = [f"results/{g}/conversion_cif_horizons.csv", f"report:{g}", "metrics.json",
            "results/comparison/comparison_cif_horizons.csv"]  # fmt: skip
    public = public or {}
    big = make_key(project, "enrolled")
    if big not in ledger.cells or ledger.cells[big].value != int(inc.N):
        big = counted(ledger, make_key(project, "cif_followed"), inc.N, pop, "followed", arts,
                     public)  # fmt: skip
    total = make_key(project, "returned")
    if total not in ledger.cells or ledger.cells[total].value != int(inc.events):
        total = counted(ledger, make_key(project, "cif_returned"), inc.events, pop, "returned",
                       [], public)  # fmt: skip
    prev = None
    for _, r in horizons.iterrows():
        h = f"{float(r['horizon_months']):g}"
        d = {"project": project, "months": h}
        by = counted(ledger, make_key(project, "returned_by", months=h), r["n"], pop,
                    "returned by the horizon", arts, public, d)  # fmt: skip
        after = counted(ledger, make_key(project, "returned_after", months=h),
                       inc.events - int(r["n"]), pop, "returned after", [], public, d)  # fmt: skip
        ledger.relate(total, [by, after], f"{project}: returns by and after {h} months")
        at = counted(ledger, make_key(project, "cif_at_risk", months=h), r["at_risk"], pop,
                    "still followed", arts, public, d)  # fmt: skip
        gone = counted(ledger, make_key(project, "cif_not_followed", months=h),
                      inc.N - int(r["at_risk"]), pop, "not followed", [], public, d)  # fmt: skip
        ledger.relate(big, [at, gone], f"{project}: followed or not at {h} months")
        if prev is not None:
            between = counted(ledger, make_key(project, "returned_between", months=h),
                             int(r["n"]) - ledger.cells[prev].value, pop, "returned between",
                             [], public, d)  # fmt: skip
            ledger.relate(by, [prev, between], f"{project}: returns up to {h} months")
        ledger.derive(make_key(project, "cif", months=h), [by, at, big], artefact=arts,
                      what="cumulative incidence at a horizon")  # fmt: skip
        prev = by


def support_point_cells(
    ledger: Ledger, frames: Mapping[str, pd.DataFrame], tables, public: dict
) -> None:
    """Per support point of first enrolment, per return project and for their union."""
    arts = ["results/summary/support_points.csv", "report:summary"]
    enr = tables["enrolments"]
    per_point: dict[str, dict[str, list[str]]] = {}
    for p, frame in frames.items():
        first = (
            enr[enr["project"] == p]
            .sort_values("enrolment_date")
            .drop_duplicates("client_id")
            .set_index("client_id")["support_point"]
        )
        sp = frame["client_id"].map(first).astype("str")
        parts_n, parts_r = [], []
        sizes, sums = _group_sums(frame, sp, ["returned"])
        for point, size in sizes.items():
            d = {"project": p, "support_point": point}
            pop = f"clients enrolled in {p}"
            n = counted(ledger, make_key(p, "enrolled", first_point=point), size, pop,
                       "enrolled", (), public, d)  # fmt: skip
            r = counted(ledger, make_key(p, "returned", first_point=point),
                       sums.at[point, "returned"], pop, "returned", (), public, d)  # fmt: skip
            parts_n.append(n)
            parts_r.append(r)
            per_point.setdefault(point, {}).setdefault("n", []).append(n)
            per_point[point].setdefault("r", []).append(r)
        ledger.relate(make_key(p, "enrolled"), parts_n, f"{p}: support points add up")
        ledger.relate(make_key(p, "returned"), parts_r, f"{p}: support points add up")
    union = "+".join(sorted(frames))
    tot_n, tot_r = [], []
    for point, ks in sorted(per_point.items()):
        pop = f"clients enrolled in {union}"
        d = {"project": union, "support_point": point}
        vn = sum(ledger.cells[k].value for k in ks["n"])
        vr = sum(ledger.cells[k].value for k in ks["r"])
        n = counted(ledger, make_key(union, "enrolled", first_point=point), vn, pop, "enrolled",
                   arts, public, d)  # fmt: skip
        r = counted(ledger, make_key(union, "returned", first_point=point), vr, pop, "returned",
                   arts, public, d)  # fmt: skip
        ledger.relate(n, ks["n"], f"{union} = sum of projects at {point}")
        ledger.relate(r, ks["r"], f"{union} = sum of projects at {point}")
        ledger.rate(r, n, artefact=arts)
        ledger.cells[f"{n}~not~returned"].artefacts |= set(arts)  # printed: 'Not returned'
        tot_n.append(n)
        tot_r.append(r)
    if frames:
        vn = sum(len(f) for f in frames.values())
        vr = sum(int(f["returned"].sum()) for f in frames.values())
        n = counted(ledger, make_key(union, "enrolled"), vn, f"clients of {union}", "enrolled",
                   arts, public)  # fmt: skip
        r = counted(ledger, make_key(union, "returned"), vr, f"clients of {union}", "returned",
                   arts, public)  # fmt: skip
        ledger.relate(n, tot_n, f"{union}: support points add up")
        ledger.relate(r, tot_r, f"{union}: support points add up")
        ledger.relate(n, [make_key(p, "enrolled") for p in frames], f"{union} = projects")
        ledger.relate(r, [make_key(p, "returned") for p in frames], f"{union} = projects")
        ledger.rate(r, n, artefact=arts)
        ledger.cells[f"{n}~not~returned"].artefacts |= set(arts)


def amount_cells(
    ledger: Ledger, tables: Mapping[str, pd.DataFrame], project: str, public: dict
) -> None:
    """Support in kind (amount_eur) per support type: totals and means, with dominance."""
    sup, enr = tables["support"], tables["enrolments"]
    if "amount_eur" not in sup:
        return
    ids = enr.loc[enr["project"] == project, "client_id"]
    s = sup[member(sup["client_id"], ids)]
    g = project.lower()
    arts = [f"results/{g}/support_amounts.csv"]
    parts = []
    per_person_all = s.groupby("client_id")["amount_eur"].sum()
    # per type and person in one grouping: each sum adds the same rows in the same order
    by_type = s.groupby(["support_type", "client_id"], sort=True)["amount_eur"].sum()
    for t, per_person in by_type.groupby(level="support_type", sort=True):
        d = {"project": project, "support_type": t}
        k = ledger.count(make_key(project, "amount_eur", support_type=t), float(per_person.sum()),
                         population=f"clients of {project} with support", numerator="euros",
                         dims=d, artefact=arts, kind=AMOUNT,
                         contributions=per_person.tolist())  # fmt: skip
        people = counted(ledger, make_key(project, "supported", support_type=t), len(per_person),
                        f"clients of {project}", "supported", arts, public, d)  # fmt: skip
        ledger.derive(f"{project}/amount_mean|support_type={t}", [k, people], artefact=arts,
                      what="mean amount per person")  # fmt: skip
        parts.append(k)
    if parts:
        tot = ledger.count(make_key(project, "amount_eur"), float(per_person_all.sum()),
                           population=f"clients of {project} with support", numerator="euros",
                           dims={"project": project}, artefact=arts, kind=AMOUNT,
                           contributions=per_person_all.tolist())  # fmt: skip
        ledger.relate(tot, parts, f"{project}: amounts add up over support types")


@dataclass
class ProjectPart:
    """What one project's cells leave for the cells across projects."""

    frame: pd.DataFrame  # conversion.client_frame
    times: pd.DataFrame | None  # time_to_return.return_times (None without a return plan)
    stayers: object | None  # efficiency.stayers_12m (return projects)
    same: bool  # its returnees are its verified returns (ledger_amif.same_returns)


def project_cells(
    ledger: Ledger, *, tables, pid, kind, public, cut, end, return_plan, follow_up_options,
    landmark_months, min_cell,
) -> ProjectPart:  # fmt: skip
    """Every cell of one project (see build)."""
    from evaluation.analysis import efficiency, monitoring_windows, time_to_return

    frame = conversion_cells(ledger, tables, pid, kind, public)
    times = None
    if return_plan is not None:
        times = time_to_return.return_times(frame, return_plan, end, cut, kind=kind)
        cif_cells(ledger, frame, pid, kind, return_plan, end, cut, public, times)
        ledger_durability.exit_cells(ledger, frame, pid, kind, return_plan, end, cut, public,
                                     times)  # fmt: skip
    if kind == "counselling" and pid.upper() == step_keys.CHAIN_SOURCE:
        chain_cells(ledger, tables, public)
    stayers, same = None, False
    if kind == "return":
        ret = monitoring_windows.returnees(dict(tables), pid)
        follow = ledger_durability.durability_cells(
            ledger, tables, pid, cut, public, follow_up_options, landmark_months, min_cell, ret
        )
        stayers = efficiency.stayers_12m(follow)
        ledger_amif.amif_cells(ledger, tables, pid, ret)
        same = ledger_amif.same_returns(frame, tables, pid, ret)
    amount_cells(ledger, tables, pid, public)
    return ProjectPart(frame, times, stayers, same)


def build(
    tables: Mapping[str, pd.DataFrame],
    projects: Sequence[tuple[str, str]],
    figures: pd.DataFrame | None = None,
    cutoff=None,
    follow_up_options: Mapping | None = None,
    return_plan=None,
    ends: Mapping | None = None,
    landmark_months: float | None = None,
    min_cell: int = 5,
    plan=None,
) -> Ledger:
    """The whole ledger: projects given as (id, kind); figures = data/published/figures.csv;
    cutoff one date or {project id: date}; follow_up_options as the analysis plan's;
    return_plan the plan's return estimand (analysis.plan), ends {project id: end date}, for
    the cumulative incidence at the plan's horizons; landmark_months the plan's support-type
    landmark (None: the repository's plan) and min_cell the smallest group with a curve;
    plan the whole analysis plan, for the sensitivity analyses (publish.ledger_conversion)."""
    # the ledger counts people and links tables through identifiers, never prints one:
    # integer codes make every join and match several times faster (data.id_codes)
    tables = id_codes.code_ids(tables)
    ledger = Ledger()
    public = _published(ledger, figures)
    # each analysis once per build: client frames, return times and returnees per project are
    # computed here and passed to every cell that counts them
    enrolled = set(tables["enrolments"]["project"].astype("str").str.upper().unique())
    evaluated = [(p, k) for p, k in projects if p.upper() in enrolled]  # none: nothing published
    jobs = [
        partial(
            project_cells,
            tables=tables,
            pid=pid,
            kind=kind,
            public=public,
            cut=cutoff.get(pid) if isinstance(cutoff, Mapping) else cutoff,
            end=(ends or {}).get(pid),
            return_plan=return_plan,
            follow_up_options=follow_up_options,
            landmark_months=landmark_months,
            min_cell=min_cell,
        )  # fmt: skip
        for pid, kind in evaluated
    ]
    parts = ledger_split.each_project(ledger, jobs, ledger_split.worth_splitting(tables))
    frames, times, stayers, same_people = {}, {}, {}, []
    for (pid, kind), part in zip(evaluated, parts, strict=True):
        frames[pid] = part.frame
        if part.times is not None:
            times[pid] = part.times
        if kind == "return":
            stayers[pid] = part.stayers
        if part.same:
            same_people.append(pid)
    returning = {p: frames[p] for p, k in projects if k == "return" and p in frames}
    if returning:
        support_point_cells(ledger, returning, tables, public)
    ledger_comparison.add(ledger, tables, projects, frames, return_plan, cutoff, ends, plan,
                          times, stayers)  # fmt: skip
    for key, value in public.items():
        cell = ledger.cells.get(key)
        if cell is not None and cell.value == value:
            cell.public = True
            cell.artefacts.add("data/published/figures.csv")
    for pid in same_people:  # returnees who are the published returns are published too
        if ledger.cells[make_key(pid, "returned")].public:
            ledger.cells[make_key(pid, "returnees")].public = True
    return ledger
