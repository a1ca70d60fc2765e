"""The sentences that state the durability results of one project, from analysis results."""

from __future__ import annotations

from evaluation.analysis.bounds import no_event_bound
from evaluation.analysis.durability import (
    DurabilityAnalysis,
    composite_metric,
    reached_rate,
)
from evaluation.analysis.monitoring_windows import WINDOW_LABELS
from evaluation.report.durability_tables import (
    _count,
    _joint_count,
    _key,
    _rate_text,
    _view,
    share_text,
)


def describe_staying(a: DurabilityAnalysis) -> str:
    """Sentence on staying at 6 and 12 months with n/N and intervals."""
    b6, b12 = a.bounds["m6"], a.bounds["m12"]
    t, p = a.threshold, a.project
    return (
        f"Still in the country of return, among the {a.project} returnees whose residence was "
        f"known: at 6 months {share_text(p, b6.complete, 'm6', 'complete', t)}; at 12 months "
        f"{share_text(p, b12.complete, 'm12', 'complete', t)}. Residence was unknown for "
        f"{_joint_count(p, 'unknown', 'm6', b6.unknown, t)} returnees at 6 months and "
        f"{_joint_count(p, 'unknown', 'm12', b12.unknown, t)} at 12 months; they are not counted "
        "as staying."
    )


def describe_bounds(a: DurabilityAnalysis, window: str = "m12") -> str:
    """Sentence giving durability three ways, so the reader sees what the lost could change."""
    b = a.bounds[window]
    label = WINDOW_LABELS[window].lower()
    if b.complete is None:
        return (
            f"At {label} no returnee of {a.project} had a known residence; "
            "durability is not estimable."
        )
    t, p = a.threshold, a.project
    return (
        f"Still in the country of return at {label} ({a.project}): among returnees with a "
        f"known residence (complete cases) {share_text(p, b.complete, window, 'complete', t)}; "
        f"counting the {_joint_count(p, 'unknown', window, b.unknown, t)} returnees with unknown "
        f"residence as not durable (worst case) {share_text(p, b.worst, window, 'worst', t)}; "
        f"counting them as durable (best case) {share_text(p, b.best, window, 'best', t)}. "
        "The true share lies between the worst and the best case; "
        "the complete-case figure assumes that those not reached resemble those reached."
    )


def describe_ipw(a: DurabilityAnalysis) -> str:
    """Sentence with the response-weighted estimate, or why it was not computed."""
    r = a.ipw
    if not r.done:
        return (
            f"Inverse-probability-of-response weighting was {r.reason}. With so few "
            "returnees a response model would be unstable, so only the bounds are shown."
        )
    return (
        f"Weighting the {r.n_responders} returnees with a known residence at 12 months by the "
        "inverse of their estimated probability of being reached "
        f"(given {', '.join(r.covariates)}) "
        f"gives {100 * r.estimate:.1f} % (95 % CI {100 * r.ci_low:.1f}–{100 * r.ci_high:.1f} %; "
        f"largest weight {r.max_weight:.1f}). This assumes that, within these groups, those "
        "not reached resemble those reached."
    )


def describe_rss(a: DurabilityAnalysis, window: str = "m12") -> str:
    """Sentence on the composite at a window: mean and share at or above each cut-off."""
    from evaluation.publish.disclosure import is_withheld

    m = composite_metric(a, window)
    flag = "" if a.rss.verified else ", weights and cut-offs not yet verified against IOM's"
    label = WINDOW_LABELS[window].lower()
    if not m["n"]:
        return f"No returnee of {a.project} was scored at {label}."
    v = _view()
    if v is not None:  # the joint decision (publish.ledger_durability's cells)
        from evaluation.publish.durability_view import above_key, scored_key

        big = scored_key(a.project, window)
        if not v.shown(big):
            return (
                f"The number of {a.project} returnees scored at {label} is withheld (it would "
                f"let a group of fewer than {v.threshold} be worked out)."
            )

        def hidden(c: float, r: dict) -> bool:
            return not v.rate_shown(above_key(a.project, window, c), big)
    else:
        if m["n"] < a.threshold:
            return f"Fewer than {a.threshold} returnees of {a.project} were scored at {label}."

        def hidden(c: float, r: dict) -> bool:
            return is_withheld(r["n"], r["N"], a.threshold)

    parts = []
    for c in a.rss.cutoffs:
        r = m[f"share_above_{c:g}"]
        if hidden(c, r):
            why = (  # under the joint decision the marker must not say which side is small
                f"it would let a group of fewer than {a.threshold} be worked out"
                if v is not None
                else f"fewer than {a.threshold}"
            )
            parts.append(f"at or above {c:g}: withheld ({why})")
        else:
            parts.append(f"{100 * r['estimate']:.0f} % at or above {c:g} ({r['n']} of {r['N']})")
    return (
        f"At {label}, {m['n']} returnees of {a.project} had a composite sustainability score "
        f"(mean {m['mean']:.2f}); "
        + ", ".join(parts)
        + f". Scoring configuration {a.rss.version}{flag}."
    )


def describe_completeness(a: DurabilityAnalysis) -> str:
    """Sentence on contact completeness at 6 and 12 months."""
    bits, hidden = [], []
    v = _view()
    for w in ("m6", "m12"):
        r = reached_rate(a, w)
        when = WINDOW_LABELS[w].lower()
        if r is not None and v is not None:
            if v.rate_shown(_key(a.project, "reached", w), _key(a.project, "due", w)):
                bits.append(f"{r.describe()} at {when}")
            else:
                hidden.append(when)
        elif r is not None:
            bits.append(f"{_rate_text(r, a.threshold)} at {when}")
    if not bits and not hidden:
        return f"No monitoring window was due for {a.project}."
    if not bits:
        whens = " and ".join(hidden).replace(" months and ", " and ")
        return (
            f"The shares of the {a.project} returnees due whom monitoring partners reached at "
            f"{whens} are withheld by the disclosure check."
        )
    text = f"Monitoring partners reached the {a.project} returnees due in " + " and ".join(bits)
    if hidden:
        text += f". The share reached at {hidden[0]} is withheld by the disclosure check"
    return text + "."


def describe_trajectory(a: DurabilityAnalysis) -> str:
    """Sentence on the change of the composite, with a plain caution about small n."""
    t = a.trajectory
    caution = (
        f" With {t.n_returnees} returnees, and fewer at each later window, these estimates are "
        "imprecise and describe this group only: those still reached at 12 months may differ "
        "from those lost, and the change is not shown to be caused by the support."
    )
    if t.method != "mixedlm":
        return f"Trajectories: {t.message}.{caution}"
    from evaluation.publish.model_rules import trajectory_dof_fails

    why = trajectory_dof_fails(list(t.table["n"]))
    if why:
        return (
            f"Trajectories: the mixed model's changes are not shown ({why}, the output-checking "
            f"rule for models): too few scores to publish its estimates safely.{caution}"
        )
    last = t.table.dropna(subset=["ci_low"]).iloc[-1]
    return (
        f"Trajectories: {t.message}. By {WINDOW_LABELS[last['window']].lower()} the mean "
        f"composite changed by {last['change']:+.2f} (95 % CI {last['ci_low']:+.2f} to "
        f"{last['ci_high']:+.2f}).{caution}"
    )


def describe_survival(a: DurabilityAnalysis, level: float) -> str:
    """Sentence on the Kaplan–Meier estimate of staying at the end of follow-up; with no
    re-migration, a one-sided exact lower bound at `level` (the plan's
    inference.no_event_bound_level) instead of a degenerate interval."""
    inc = a.times[a.times["included"]]
    out = len(a.times) - len(inc)
    if inc.empty:
        return f"No returnee of {a.project} had a contact confirming residence: no survival curve."
    km = a.km.iloc[-1]
    events = int(inc["event"].sum())
    horizon = inc["time"].max()
    if events == 0:
        bound = no_event_bound(int((inc["time"] >= horizon).sum()), level)
        estimate = bound.describe() if bound else "not estimable"
    else:
        estimate = (
            f"{100 * km['survival']:.1f} % (95 % CI {100 * km['ci_low']:.1f}–"
            f"{100 * km['ci_high']:.1f} %)"
        )
    v = _view()
    if v is not None and events and not all(
        v.shown(f"{a.project}/km_step|month={m}") for m in range(int(horizon) + 1)
        if f"{a.project}/km_step|month={m}" in v.derived
    ):  # fmt: skip
        estimate = f"withheld (a step would let fewer than {v.threshold} be worked out)"
    left = "returnee was" if out == 1 and a.threshold <= 1 else "returnees were"
    small = [g.replace("_", " ") for g in a.group_notes.get("main_support", [])]
    small += a.group_notes.get("country", [])
    if v is None:
        counts = (
            f"from {len(inc)} returnees with at least one contact confirming their residence "
            f"({_count(events, a.threshold)} re-migrations); {_count(out, a.threshold)} {left} "
            "never confirmed and are left out."
        )
    else:  # only the numbers the joint decision shows: followed, and the rest by difference
        followed = v.count(f"{a.project}/km_at_risk|month=0")
        total = v.count(f"{a.project}/returnees")
        counts = (
            f"from {followed if followed is not None else 'a withheld number of'} returnees "
            "with at least one contact confirming their residence (re-migrations are in the "
            "curve's steps); "
            + (
                f"{total - followed} of the {total} returnees were never confirmed and are "
                "left out."
                if followed is not None and total is not None
                else "returnees never confirmed are left out."
            )
        )
    return (
        "Kaplan–Meier estimate of still being in the country of return "
        f"{horizon:.0f} months after return: {estimate}, {counts}"
        + (
            # named without their size: 'fewer than 5' would tell a reader it is 1–4
            f" Support types and countries with no curve of their own: {', '.join(small)}."
            if small
            else ""
        )
    )


def describe_support_landmark(a: DurabilityAnalysis) -> str:
    """How the support-type curves avoid immortal time: the plan's landmark, and how many
    returnees were left out because they re-migrated or stopped being followed before it."""
    lm = a.landmark
    when = f"{lm.months:g} months after return"
    return (
        f"The curves by support type group returnees by the main support they had received by "
        f"the landmark, {when} (analysis plan), and follow them from the landmark on, so that "
        f"support delivered later cannot make a type look durable merely because its "
        f"recipients had to stay long enough to receive it. "
        f"{_lm_count(a, 'landmark_excluded', lm.excluded).capitalize()} of the returnees with "
        f"a confirmed residence had re-migrated by the landmark or were no longer followed at "
        f"it and are left out; {_lm_count(a, 'landmark_followed', len(lm.times))} are followed "
        "from it."
    )


def _lm_count(a: DurabilityAnalysis, what: str, n: int) -> str:
    """A landmark count as the joint decision shows it (else by the per-table rule)."""
    v = _view()
    if v is None:
        return _count(n, a.threshold)
    from evaluation.publish.view import key

    return str(n) if v.shown(key(a.project, what)) else "a withheld number"
