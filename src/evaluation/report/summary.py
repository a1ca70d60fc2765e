"""Cross-project report parts: headline and conclusion sentences and the comparisons behind them.

The summary notebook runs after the per-project notebooks and the comparison and reads their
results from the run's results store (headline_from_results, declared_differences);
headline, comparisons and primary_contrasts compute the same numbers from the case data, as a
second method for the tests. Data and methods are in data_quality, the organisation and AMIF
in organisation, the appendices in appendices.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from evaluation.analysis.rates import Difference, Rate
from evaluation.report.percent import pct

WIDE = 0.20  # an interval wider than 20 percentage points is called imprecise in the text
COLUMNS = {  # the case tables and columns the summary notebook reads (prepared.load)
    "clients": ("client_id", "country_of_return"),
    "departures": ("client_id", "enrolment_id", "departure_type", "verification"),
    "enrolments": ("enrolment_id", "client_id", "project", "support_point", "enrolment_date"),
    "referrals": ("enrolment_id", "receiving_org"),
    "support": ("client_id",),
}


@dataclass(frozen=True)
class Headline:
    """The key numbers of one project, recomputed from the case records."""

    project: str
    kind: str
    return_rate: Rate | None
    referral_rate: Rate | None = None
    durable_complete: Rate | None = None
    durable_worst: Rate | None = None
    durable_best: Rate | None = None
    nothing: str | None = None  # why there is nothing to evaluate (no enrolments), else None


def _points(x: float) -> str:
    return f"{100 * x:+.1f}"


# --------------------------------------------------------------------------- headline numbers


def headline(
    tables: Mapping[str, pd.DataFrame],
    project: str,
    kind: str,
    cutoff=None,
    grace_days: int = 0,
    deaths_leave: bool = False,
) -> Headline:
    """Return (and for ENH referral) rate, and 12-month durability three ways, for a project
    (grace_days, deaths_leave: the plan's handling of monitoring windows and deaths)."""
    from evaluation.analysis import attrition, monitoring_windows
    from evaluation.analysis import conversion as cv

    nothing = cv.nothing_to_evaluate(tables, project)
    if nothing is not None:
        return Headline(project, kind, None, nothing=nothing)
    frame = cv.client_frame(tables, project, kind=kind)
    ret = cv.rate(frame, "returned")
    if kind == "counselling":
        return Headline(project, kind, ret, referral_rate=cv.rate(frame, "referred"))
    follow = monitoring_windows.follow_up(
        tables["monitoring"],
        monitoring_windows.returnees(dict(tables), project),
        cutoff=cutoff,
        grace_days=grace_days,
        deaths_leave=deaths_leave,
    )
    b = attrition.durability_bounds(follow, "m12")
    return Headline(project, kind, ret, None, b.complete, b.worst, b.best)


def headline_from_results(
    project: str, kind: str, conversion: Mapping[str, object], durability=None
) -> Headline:
    """A project's headline from what its notebooks stored: the conversion notebook's rates
    ({nothing, return_rate, referral_rate}) and the durability notebook's DurabilitySummary
    (None for a project without one)."""
    nothing = conversion.get("nothing")
    if nothing is not None:
        return Headline(project, kind, None, nothing=str(nothing))
    ret = conversion["return_rate"]
    if kind == "counselling":
        return Headline(project, kind, ret, referral_rate=conversion.get("referral_rate"))
    if durability is None:
        return Headline(project, kind, ret)
    b = durability.bounds["m12"]
    return Headline(project, kind, ret, None, b.complete, b.worst, b.best)


def stored_frames(stores_dir: str | Path, projects: Sequence) -> dict[str, pd.DataFrame]:
    """Each project's client frame (id → frame) as its conversion notebook stored it; a
    project with nothing to evaluate stored none (projects: configured projects)."""
    from evaluation.publish import store

    out = {}
    for p in projects:
        folder = store.upstream(stores_dir, f"conversion-{p.key}")
        if store.load(folder, "conversion")["nothing"] is None:
            out[p.id] = store.load(folder, "client_frame")
    return out


def declared_differences(
    comparisons: Sequence, pairs: Sequence[tuple[str, str]], enrolled: set[str]
) -> list[tuple[str, str, Difference]]:
    """(baseline, other, Newcombe difference) of the comparison notebook's person-level
    comparisons (analysis.comparison.Comparison) for the declared pairs whose projects both
    have enrolments and share no person (as comparisons computes them)."""
    wanted = {(b, o) for b, o in pairs if b in enrolled and o in enrolled}
    return [
        (c.baseline, c.other, c.difference)
        for c in comparisons
        if (c.baseline, c.other) in wanted and c.independent
    ]


def headline_metrics(heads: Sequence[Headline]) -> dict[str, object]:
    """Metric fragment (summary.<project>.<name>) for every number the summary sentences use."""
    out: dict[str, object] = {}
    for h in heads:
        k = f"summary.{h.project.lower()}"
        if h.nothing is not None:
            out[f"{k}.nothing_to_evaluate"] = {"reason": h.nothing}
            continue
        out[f"{k}.return_rate"] = h.return_rate
        for name in ("referral_rate", "durable_complete", "durable_worst", "durable_best"):
            r = getattr(h, name)
            if r is not None:
                out[f"{k}.{name}_12m" if name.startswith("durable") else f"{k}.{name}"] = r
    return out


def _said(r: Rate, threshold: int, n_key: str, big_key: str) -> str:
    """The rate with n, N and interval, or why it is withheld (see _rate_shown)."""
    from evaluation.publish.view import current

    if _rate_shown(r, threshold, n_key, big_key):
        return r.describe()
    v = current()
    if v is not None:
        return f"withheld (it would let a group of fewer than {v.threshold} be worked out)"
    return f"withheld (fewer than {threshold})"


def _rate_shown(r: Rate, threshold: int, n_key: str, big_key: str) -> bool:
    """Whether rate n/N may be printed: the joint decision (publish.view) in a pipeline run,
    the per-table rule elsewhere."""
    from evaluation.publish.disclosure import is_withheld
    from evaluation.publish.view import current

    v = current()
    return v.rate_shown(n_key, big_key) if v is not None else not is_withheld(r.n, r.N, threshold)


def _rate_keys(project: str, what: str) -> tuple[str, str]:
    from evaluation.publish.view import key

    return key(project, what), key(project, "enrolled")


def _durable(h: Headline, approach: str, threshold: int) -> str:
    """A 12-month durability share as the executive summary prints it (publish.view decides)."""
    from evaluation.report.durability_tables import share_text

    r = getattr(h, f"durable_{approach}")
    if approach == "complete":
        return share_text(h.project, r, "m12", approach, threshold)
    shown = _durable_shown(h, approach)
    if shown is None:
        return _share(r, threshold)
    return pct(r.estimate) if shown else "withheld by the disclosure check"


def _durable_shown(h: Headline, approach: str) -> bool | None:
    """Whether the joint decision shows this 12-month share (None: no decision in force)."""
    from evaluation.publish.view import current

    v = current()
    return None if v is None else v.shown(f"{h.project}/durability_{approach}|window=m12")


def conversion_sentence(heads: Sequence[Headline], threshold: int = 5) -> str:
    """Executive-summary paragraph on conversion, from the case records of every project."""
    bits = [h.nothing for h in heads if h.nothing is not None]
    for h in heads:
        if h.referral_rate is not None:
            said = _said(h.referral_rate, threshold, *_rate_keys(h.project, "referred"))
            bits.append(
                f"In {h.project}, {said} of the clients counselled were referred to a return "
                f"organisation."
            )
    ret = [h for h in heads if h.kind == "return" and h.return_rate is not None]
    if ret:
        bits.append(
            "The share of enrolled clients who returned with a verified departure was "
            + "; ".join(
                f"{_said(h.return_rate, threshold, *_rate_keys(h.project, 'returned'))} in "
                f"{h.project}"
                for h in ret
            )
            + "."
        )
    return " ".join(bits) or "No project in the configuration has case records."


def _share(r: Rate, threshold: int) -> str:
    """'43.1 %', or 'withheld' when the rate with its public N would reveal a small count."""
    from evaluation.publish.disclosure import is_withheld

    if is_withheld(r.n, r.N, threshold):
        return f"withheld (fewer than {threshold} either way)"
    return pct(r.estimate)


def durability_sentence(heads: Sequence[Headline], threshold: int = 5) -> str:
    """Executive-summary paragraph on durability at 12 months, with the loss-to-follow-up bounds."""
    bits = []
    for h in heads:
        if h.kind != "return" or h.durable_worst is None:
            continue
        cc = (
            _durable(h, "complete", threshold)
            if h.durable_complete is not None
            else "not estimable (no returnee with known residence)"
        )
        bits.append(
            f"{h.project}: of the returnees whose residence was known at 12 months, the share "
            f"still in the country of return was {cc}; counting everyone not reached as having "
            f"left (worst case) gives {_durable(h, 'worst', threshold)}, counting them as "
            f"having stayed (best case) {_durable(h, 'best', threshold)}."
        )
    return " ".join(bits) or "No return project had returnees due for the 12-month contact."


def _precision(r: Rate) -> str:
    if r.ci_high - r.ci_low > WIDE:
        return (
            f"imprecise: the data are consistent with any value from {pct(r.ci_low)} "
            f"to {pct(r.ci_high)}"
        )
    return f"reasonably precise ({pct(r.ci_low)} to {pct(r.ci_high)})"


def comparisons(
    tables: Mapping[str, pd.DataFrame], pairs: Sequence[tuple[str, str]], carry_over: str
) -> list[tuple[str, str, Difference]]:
    """(baseline, other, Newcombe difference other − baseline in the crude return share) per
    pair of projects with case records, each person counted once (analysis.comparison
    .person_comparisons; carry_over: the plan's rule), so the samples are independent."""
    from evaluation.analysis import conversion as cv
    from evaluation.analysis.comparison import person_comparisons

    enrolled = set(tables["enrolments"]["project"])
    pairs = [(b, o) for b, o in pairs if b in enrolled and o in enrolled]
    if not pairs:
        return []
    projects = list(dict.fromkeys(p for pair in pairs for p in pair))
    frames = {p: cv.client_frame(tables, p, kind="return") for p in projects}
    spec = ",".join(f"{b}:{o}" for b, o in pairs)
    _, comps = person_comparisons(frames, tables["enrolments"], spec, carry_over)
    return [(c.baseline, c.other, c.difference) for c in comps if c.independent]


def primary_contrasts(tables: Mapping[str, pd.DataFrame], cfg, plan) -> list:
    """The plan's contrasts on the primary return estimand at every horizon (CifDifference),
    recomputed here with the same library calls as the comparison notebook."""
    from evaluation.analysis import contrasts, estimands

    enrolled = set(tables["enrolments"]["project"].astype("str").str.upper())
    ends = {p.id: p.end for p in cfg.projects if p.kind == "return" and p.id.upper() in enrolled}
    declared = plan.contrasts_for(tuple(ends))
    if not declared:
        return []
    cutoffs = {p.id: getattr(p, "cutoff", None) or cfg.cutoff for p in cfg.projects}
    person = estimands.person_times(tables, ends, cutoffs, plan.return_)
    return [
        contrasts.cif_difference(person, c.baseline, c.other, h, plan.inference)
        for c in declared
        for h in plan.return_.horizons
    ]


def conclusions(
    heads: Sequence[Headline],
    diffs: Sequence[tuple[str, str, Difference]],
    threshold: int = 5,
    contrasts: Sequence = (),
    plan=None,
) -> str:
    """Conclusions that follow from the numbers, hedged where intervals are wide.

    Project differences are judged on the plan's primary estimand (contrasts: CifDifference
    at the horizons, plan: the analysis plan); crude shares are described, never used to
    claim that projects do not differ.
    """
    items = []
    for h in heads:
        r = h.referral_rate if h.kind == "counselling" else h.return_rate
        what = "referral" if h.kind == "counselling" else "return"
        if r is None or r.N == 0:
            continue
        cell = "referred" if h.kind == "counselling" else "returned"
        if not _rate_shown(r, threshold, *_rate_keys(h.project, cell)):
            items.append(f"- **{h.project} {what} rate.** Withheld by the disclosure check.")
            continue
        items.append(
            f"- **{h.project} {what} rate.** {pct(r.estimate)} ({r.n} of {r.N}); "
            f"the estimate is {_precision(r)}."
        )
    from evaluation.publish.view import current

    v = current()
    for base, other, d in diffs:
        if v is not None and not all(v.shown(f"person_rate:{p}") for p in (base, other)):
            items.append(
                f"- **{other} compared with {base}, crude shares.** Withheld by the disclosure "
                "check."
            )  # as the metric (publish.gate_conversion): both person-level shares shown
            continue
        lo, hi = d.ci_low, d.ci_high
        verdict = (
            f"The crude share returned of all enrolled (each person counted once, in the "
            f"project of first enrolment) differed by {_points(d.estimate)} "
            f"percentage points (95 % CI {_points(lo)} to {_points(hi)}). This is a description "
            f"only: clients who enrolled late could not be followed as long, so crude shares "
            f"are not compared as evidence"
            + (
                "; an interval that includes zero does not show the projects are alike"
                if lo <= 0 <= hi
                else ""
            )
        )
        items.append(f"- **{other} compared with {base}, crude shares.** {verdict}.")
    if plan is not None:
        from evaluation.report.estimand_text import conclusion_items

        items += conclusion_items(list(contrasts), plan)
    for h in heads:
        if h.kind != "return" or h.durable_worst is None or h.durable_best is None:
            continue
        gap = h.durable_best.estimate - h.durable_worst.estimate
        worst, best = _durable(h, "worst", threshold), _durable(h, "best", threshold)
        shown = (_durable_shown(h, "worst"), _durable_shown(h, "best"))
        if shown == (False, False):  # the width of the bounds would narrow a withheld one
            text = (
                "Both bounds on the share still in the country at 12 months (those not "
                "reached counted as left, or as stayed) are withheld by the disclosure check"
            )
        elif False in shown:
            text = (
                f"Counting those not reached as left, the share still in the country at 12 "
                f"months is {worst}; counting them as stayed, {best}"
            )
        elif gap > WIDE:
            text = (
                f"Whether returns lasted cannot be settled from these records: the share "
                f"still in the country at 12 months lies between {worst} (all not reached "
                f"left) and {best} (all stayed), because many returnees were not reached"
            )
        else:
            text = (
                f"Between {worst} and {best} of returnees were still in the country at "
                f"12 months, whatever happened to those not reached"
            )
        items.append(f"- **{h.project} durability.** {text}.")
    items += [f"- **{h.project}.** {h.nothing}" for h in heads if h.nothing is not None]
    if not items:
        return "No conclusion can be drawn: no project has case records."
    return "\n".join(items)
