"""Durability cells of the ledger beyond staying and the overall curve: scores, score shares,
trajectories, Kaplan–Meier curves by country and by support type, and how follow-up for
return ended (publish.ledger_build calls these per project).

Each file's numbers are counts of people the other cells already split another way, so they
are linked: the curves by group add up, month by month, to the overall curve (by support
type from the landmark: to the overall curve at landmark + m, and at the landmark itself to
the returnees followed from it); the score counts of a window are among those reached; the
shares above nested cut-offs differ by the people between them; the ways follow-up ended add
up to everyone followed, and the return among them is the project's returns.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from evaluation.publish.ledger import Ledger, counted, make_key

KM_GRID = tuple(range(0, 13))  # months since return: the coarse grid of published curves
WINDOWS = ("m6", "m12")  # the durability windows with cells
GROUP_FILES = {"country": "durability_km_by_country", "main_support": "durability_km_by_support"}


def score_cells(ledger: Ledger, follow: pd.DataFrame, project: str, public: dict, rss=None) -> None:
    """Returnees scored per window and score, at or above each cut-off, and the trajectory's
    counts (the same people as the composite's): statistics derived from them."""
    from evaluation.analysis.monitoring_windows import WINDOWS
    from evaluation.analysis.rss_scores import (
        SCORES,
        at_or_above,
        composite_scores,
        load_rss_config,
    )

    rss = rss or load_rss_config()
    scored = composite_scores(follow, rss)
    g, pop = project.lower(), f"returnees of {project}"
    arts_d = [f"results/{g}/durability_score_distribution.csv", f"report:{g}"]
    arts_s = [f"results/{g}/durability_share_above.csv", f"report:{g}"]
    arts_t = [f"results/{g}/durability_trajectory.csv", f"report:{g}"]
    composite = []
    for w in WINDOWS:
        sub = scored[scored["window"] == w]
        for score in SCORES:
            s = score.removeprefix("rss_")
            x = sub[score].dropna()
            d = {"project": project, "window": w, "score": s}
            arts = arts_d + (arts_s + arts_t + ["metrics.json"] if s == "composite" else [])
            n = counted(ledger, make_key(project, "scored", window=w, score=s), len(x), pop,
                       f"scored ({s})", arts, public, d)  # fmt: skip
            ledger.derive(make_key(project, "score_stats", window=w, score=s), [n],
                          artefact=arts_d, what="mean, SD and quartiles of a score")  # fmt: skip
            if s != "composite":
                continue
            composite.append(n)
            ledger.derive(make_key(project, "trajectory", window=w), [n], artefact=arts_t,
                          what="mean and change of the composite")  # fmt: skip
            reached = make_key(project, "reached", window=w)
            if reached in ledger.cells and ledger.cells[reached].value >= len(x):
                rest = counted(ledger, make_key(project, "reached_not_scored", window=w),
                              ledger.cells[reached].value - len(x), pop, "reached, not scored",
                              (), public, d)  # fmt: skip
                ledger.relate(reached, [n, rest], f"{project} {w}: reached = scored + not")
            prev = None
            for c in sorted(rss.cutoffs, reverse=True):
                dc = {**d, "cutoff": f"{c:g}"}
                k = counted(ledger, make_key(project, "score_at_or_above", window=w,
                                            cutoff=f"{c:g}"),
                           at_or_above(x, c), pop, f"composite ≥ {c:g}", arts_s, public,
                           dc)  # fmt: skip
                ledger.rate(k, n, artefact=arts_s)
                if prev is not None:  # nested cut-offs: the people between them
                    between = counted(ledger, make_key(project, "score_between", window=w,
                                                      cutoff=f"{c:g}"),
                                     ledger.cells[k].value - ledger.cells[prev].value, pop,
                                     f"composite in [{c:g}, next cut-off)", (), public,
                                     dc)  # fmt: skip
                    ledger.relate(k, [prev, between], f"{project} {w}: nested cut-offs")
                prev = k
    if composite:
        total = counted(ledger, make_key(project, "scores_total"),
                       sum(ledger.cells[k].value for k in composite), pop,
                       "composite scores over all windows", ["metrics.json"], public)  # fmt: skip
        ledger.relate(total, composite, f"{project}: scores over the windows")


def _grid(ledger, times, project, dims, grid, after, arts, public, pop) -> list[str]:
    """At risk at each point of `grid` (and, unprinted, at `after`), and between grid points the
    events and censorings (unprinted: a shown step with its at-risk gives them away); returns
    the at-risk keys, the last one that at `after`."""
    at_keys: list[str] = []
    points = (*grid, after)
    t, event = times["time"].to_numpy(float), times["event"].to_numpy()
    for i, m in enumerate(points):
        d = {"project": project, "month": m, **dims}
        printed = arts if i < len(grid) else ()
        at = counted(ledger, make_key(project, "km_at_risk", month=m, **dims),
                    (t >= m).sum(), pop, "at risk", printed, public, d)  # fmt: skip
        if at_keys:
            prev_m = points[i - 1]
            step = (t >= prev_m) & (t < m)
            n_ev = int(event[step].sum())
            dp = {**d, "month": prev_m}
            ev = counted(ledger, make_key(project, "km_events", month=prev_m, **dims),
                        n_ev, pop, "re-migrations", (), public, dp)  # fmt: skip
            cens = counted(ledger, make_key(project, "km_censored", month=prev_m, **dims),
                          int(step.sum()) - n_ev, pop, "censored", (), public, dp)  # fmt: skip
            ledger.relate(at_keys[-1], [ev, cens, at], f"{project} {dims}: at risk steps")
            ledger.derive(make_key(project, "km_step", month=prev_m, **dims), [ev, at_keys[-1]],
                          artefact=arts, what="Kaplan–Meier step of a group")  # fmt: skip
        at_keys.append(at)
    return at_keys


AT_RISK_TIMES = (0, 3, 6, 9, 12)  # the grid of the group curves: the figure's at-risk points
OTHER = "(groups without a curve)"


def km_group_cells(
    ledger: Ledger,
    tables: Mapping[str, pd.DataFrame],
    follow: pd.DataFrame,
    ret: pd.DataFrame,
    project: str,
    public: dict,
    landmark_months: float,
    min_cell: int = 5,
    times: pd.DataFrame | None = None,
) -> None:
    """Curves by country (from return) and by support type received by the landmark (from the
    landmark), at the figures' at-risk points, linked to the overall curve of
    publish.ledger_build (months 0 to 12 and after 12). times: the re-migration times of
    follow and ret (analysis.remigration.remigration_times), when already computed."""
    from evaluation.analysis.landmark import landmark_times, support_by_landmark
    from evaluation.analysis.monitoring_windows import main_support_type
    from evaluation.analysis.remigration import remigration_times

    if times is None:
        times = remigration_times(follow, ret)
    inc = times[times["included"]]
    g, pop = project.lower(), f"returnees of {project}"
    end = KM_GRID[-1] + 1
    overall = {m: make_key(project, "km_at_risk", month=m) for m in (*KM_GRID, end)}
    if any(k not in ledger.cells for k in overall.values()):
        return
    arts = [f"results/{g}/{GROUP_FILES['country']}.csv", f"report:{g}"]
    links = [overall[m] for m in (*AT_RISK_TIMES, end)]
    _groups(ledger, inc, "country", project, AT_RISK_TIMES, end, arts, public, pop, min_cell,
            links)  # fmt: skip
    support = tables.get("support", pd.DataFrame(columns=["client_id", "support_type"]))
    by = main_support_type(
        support_by_landmark(support, ret, landmark_months), ret["client_id"].tolist()
    )
    lm = landmark_times(
        times.assign(main_support=times["client_id"].map(by).fillna("none")), landmark_months
    )
    d = {"project": project}
    followed = counted(ledger, make_key(project, "landmark_followed"), len(lm.times), pop,
                      "followed from the landmark", ["metrics.json", f"report:{g}"], public,
                      d)  # fmt: skip
    excluded = counted(ledger, make_key(project, "landmark_excluded"), lm.excluded, pop,
                      "left out at the landmark", ["metrics.json", f"report:{g}"], public,
                      d)  # fmt: skip
    ledger.relate(overall[0], [followed, excluded], f"{project}: followed from the landmark")
    shift = float(landmark_months)
    grid = tuple(int(t - shift) for t in AT_RISK_TIMES if t >= shift)
    arts = [f"results/{g}/{GROUP_FILES['main_support']}.csv", f"report:{g}"]
    if not shift.is_integer() or not grid:  # no whole-month link to the overall curve
        _groups(ledger, lm.times, "main_support", project, grid or (0,), end, arts, public,
                pop, min_cell, [followed])  # fmt: skip
        return
    # from the landmark, at risk at month m ≥ 1 are the overall at risk at landmark + m
    links = [followed] + [overall[int(shift) + m] for m in grid[1:]] + [overall[end]]
    _groups(ledger, lm.times, "main_support", project, grid, end - int(shift), arts, public,
            pop, min_cell, links)  # fmt: skip


def _groups(ledger, inc, by, project, grid, after, arts, public, pop, min_cell, overall):
    """Every group with a curve of its own (printed) and the others together (unprinted: only
    their sum is tied to what is shown), adding up at each point to the overall key given."""
    per_point: list[list[str]] = [[] for _ in range(len(grid) + 1)]
    inc = inc[[by, "time", "event"]]  # all that _grid reads: groups are built faster
    small = inc[inc.groupby(by)[by].transform("size") < min_cell]
    parts = [(str(grp), sub, arts) for grp, sub in inc.groupby(by, sort=True)
             if len(sub) >= min_cell]  # fmt: skip
    if len(small):
        parts.append((OTHER, small, ()))
    for name, sub, printed in parts:
        keys = _grid(ledger, sub, project, {by: name}, grid, after, printed, public, pop)
        for i, k in enumerate(keys):
            per_point[i].append(k)
    for m, whole, ks in zip((*grid, after), overall, per_point, strict=False):
        if ks:
            ledger.relate(whole, ks, f"{project}: {by} groups add up at month {m}")


def exit_cells(
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
    """How follow-up for return ended (analysis.time_to_return.exit_table), and the totals of
    `<project>.return_exits` in metrics.json: the causes add up to everyone followed.
    times: the frame's return times, when already computed."""
    from evaluation.analysis import time_to_return

    if times is None:
        times = time_to_return.return_times(frame, return_plan, end, cutoff, kind=kind)
    if times.empty:
        return
    public = public or {}
    g, pop = project.lower(), f"clients enrolled in {project}"
    arts = [f"results/{g}/conversion_exits.csv", f"report:{g}"]
    big = make_key(project, "enrolled")
    if big not in ledger.cells or ledger.cells[big].value != len(times):
        big = counted(ledger, make_key(project, "cif_followed"), len(times), pop, "followed",
                     arts, public)  # fmt: skip
    ledger.cells[big].artefacts |= {*arts, "metrics.json"}
    by_status: dict[int, list[str]] = {}
    for cause, sub in times.groupby("cause", sort=True):
        status = int(sub["status"].iloc[0])
        where = arts if status == 2 else [*arts, "metrics.json"]  # competing: as a total
        d = {"project": project, "cause": cause}
        k = counted(ledger, make_key(project, "exit", cause=str(cause)), len(sub), pop,
                   f"ended by {cause}", where, public, d)  # fmt: skip
        for same in ("returned", "cif_returned"):  # the project's returns: the same people
            r = make_key(project, same)
            if status == 1 and r in ledger.cells and ledger.cells[r].value == len(sub):
                ledger.relate(r, [k], f"{project}: returns among the exits")
        ledger.rate(k, big, artefact=arts)
        by_status.setdefault(status, []).append(k)
    competing = by_status.get(2, [])
    if competing:
        total = counted(ledger, make_key(project, "exits_competing"),
                       sum(ledger.cells[k].value for k in competing), pop, "competing exits",
                       ["metrics.json"], public, {"project": project})  # fmt: skip
        ledger.relate(total, competing, f"{project}: competing exits add up")
    ledger.relate(big, [k for ks in by_status.values() for k in ks], f"{project}: exits add up")


def durability_cells(
    ledger: Ledger,
    tables: Mapping[str, pd.DataFrame],
    project: str,
    cutoff,
    public: dict,
    follow_up_options: Mapping | None = None,
    landmark_months: float | None = None,
    min_cell: int = 5,
    ret: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Staying three ways at 6 and 12 months (shared numerators), completeness, and the
    Kaplan–Meier curve on a monthly grid with numbers at risk, events and censorings.
    ret: the project's returnees (analysis.monitoring_windows.returnees), when already known.
    Returns their follow-up grid (analysis.monitoring_windows.follow_up)."""
    from evaluation.analysis import attrition, monitoring_windows, remigration

    g = project.lower()
    if ret is None:
        ret = monitoring_windows.returnees(dict(tables), project)
    # the same follow-up rules as the analysis (grace period, deaths), or the cells would count
    # other people than the tables that print them
    follow = monitoring_windows.follow_up(
        tables["monitoring"], ret, cutoff=cutoff, **(follow_up_options or {})
    )
    pop = f"returnees of {project}"
    arts_b = [f"results/{g}/durability_bounds.csv", "metrics.json", f"report:{g}",
              "results/comparison/durability_comparison.csv", "report:comparison"]  # fmt: skip
    returnees = counted(ledger, make_key(project, "returnees"), len(ret), pop, "returnees",
                       [f"report:{g}"], public, {"project": project})  # fmt: skip
    for w in WINDOWS:
        b = attrition.durability_bounds(follow, w)
        d = {"project": project, "window": w}

        def c(what, v, d=d, w=w):
            return counted(ledger, make_key(project, what, window=w), v, pop, what, arts_b,
                          public, d)  # fmt: skip

        due, stayed = c("due", b.due), c("stayed", b.stayed)
        remig, unknown = c("re_migrated", b.re_migrated), c("unknown", b.unknown)
        known = c("known", b.stayed + b.re_migrated)
        best = c("stayed_or_unknown", b.stayed + b.unknown)
        ledger.relate(due, [stayed, remig, unknown], f"{project} {w}: due splits three ways")
        ledger.relate(known, [stayed, remig], f"{project} {w}: known = stayed + re-migrated")
        ledger.relate(best, [stayed, unknown], f"{project} {w}: best-case numerator")
        ledger.relate(due, [known, unknown], f"{project} {w}: due = known + unknown")
        not_due = c("not_due", len(ret) - b.due)
        ledger.relate(returnees, [due, not_due], f"{project} {w}: due + not yet due")
        for approach, (n, big) in {
            "complete": (stayed, known),
            "worst": (stayed, due),
            "best": (best, due),
        }.items():
            ledger.derive(f"{project}/durability_{approach}|window={w}", [n, big],
                          artefact=arts_b, what=f"{approach}-case share")  # fmt: skip
        reached = c("reached", int(((follow["window"] == w) & follow["reached"]).sum()))
        ledger.rate(reached, due, artefact=[f"results/{g}/durability_completeness.csv"])
    times = remigration.remigration_times(follow, ret)
    inc = times[times["included"]]
    t, event = inc["time"].to_numpy(float), inc["event"].to_numpy()
    arts_km = [f"results/{g}/durability_km.csv", f"results/{g}/durability_at_risk.csv",
               f"report:{g}"]  # fmt: skip
    prev = None
    for m in KM_GRID:
        d = {"project": project, "month": m}
        at_risk = counted(ledger, make_key(project, "km_at_risk", month=m),
                         (t >= m).sum(), pop, "at risk", arts_km, public, d)  # fmt: skip
        in_step = (t >= m) & (t < m + 1)
        n_ev, n_step = int(event[in_step].sum()), int(in_step.sum())
        ev = counted(ledger, make_key(project, "km_events", month=m), n_ev, pop,
                    "re-migrations", (), public, d)  # fmt: skip
        cens = counted(ledger, make_key(project, "km_censored", month=m), n_step - n_ev, pop,
                      "censored", (), public, d)  # fmt: skip
        leaving = counted(ledger, make_key(project, "km_leaving", month=m), n_step, pop,
                         "events and censorings", (), public, d)  # fmt: skip
        ledger.relate(leaving, [ev, cens], f"{project} month {m}: leaving = events + censored")
        if prev is not None:
            ledger.relate(prev[0], [prev[1], at_risk], f"{project}: at risk steps down")
        ledger.derive(make_key(project, "km_step", month=m), [ev, at_risk], artefact=arts_km,
                      what="Kaplan–Meier step")  # fmt: skip
        prev = (at_risk, leaving)
    if prev is not None:
        after = KM_GRID[-1] + 1
        last_after = counted(ledger, make_key(project, "km_at_risk", month=after),
                            (t >= after).sum(), pop, "at risk", (), public)  # fmt: skip
        ledger.relate(prev[0], [prev[1], last_after], f"{project}: at risk after the grid")
    score_cells(ledger, follow, project, public)
    if landmark_months is None:
        from evaluation.analysis.plan import load_plan

        landmark_months = load_plan().durability.landmark_months
    km_group_cells(ledger, tables, follow, ret, project, public, landmark_months, min_cell, times)
    return follow
