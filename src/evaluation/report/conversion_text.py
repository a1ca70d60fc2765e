"""Sentences that state the conversion results."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import pandas as pd

from evaluation.analysis.conversion import RETURNED_OTHER_ORG
from evaluation.analysis.plan import ReturnEstimand
from evaluation.analysis.rates import Rate
from evaluation.report.percent import pct


def summary_sentence(
    project: str,
    return_rate: Rate,
    incidence: object | None = None,
    horizons: Sequence[float] = (6, 12),
) -> str:
    """Headline sentence: return rate with interval, and incidence at the horizons (the plan's)."""
    text = (
        f"Of the {return_rate.N} clients enrolled in {project}, {return_rate.n} returned with a "
        f"verified departure: {return_rate.describe()}."
    )
    if incidence is not None:
        from evaluation.analysis.survival import median_text
        from evaluation.publish.view import current, key

        view = current()

        def at(h: float) -> str:
            if view is not None and not view.shown(key(project, "cif", months=f"{h:g}")):
                return "a share withheld by the disclosure check"
            return incidence.at(h).describe()

        parts = [
            f"{at(h)} "
            + (
                f"had returned within {h:g} months of enrolment"
                if i == 0
                else f"within {h:g} months"
            )
            for i, h in enumerate(horizons)
        ]
        within = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
        text += (
            f" Estimated with {incidence.method_label.split(' (')[0]}"
            f" ({incidence.competing} competing exits, {incidence.censored} censored),"
            f" {within}; the median time to return was {median_text(incidence)}."
        )
    return text


def exits_sentence(estimand: ReturnEstimand, kind: str = "return") -> str:
    """How exits are handled, as the analysis plan declares (and the other choice)."""
    competing = [
        c for c in estimand.exits_competing() if kind != "counselling" or c != RETURNED_OTHER_ORG
    ]
    words = ", ".join(c.replace("_", " ") for c in competing)
    how = estimand.withdrawal_handling
    reasons = " and ".join(r.replace("_", " ") for r in estimand.withdrawal_reasons)
    text = (
        f"As the analysis plan declares, follow-up ends at a competing exit for: {words}. "
        f"{reasons.capitalize()} are handled alike, as {how} "
        f"({estimand.other_withdrawal_handling} in the sensitivity analysis of the comparison). "
        f"Everyone else is censored at their exit or at the earlier of the project's end and "
        f"the data cut-off, so nobody counts as a non-returner for time they could not be "
        f"followed."
    )
    if kind == "counselling":
        text += " A return through another organisation is a return, not a competing exit."
    return text


def referral_sentence(project: str, rates: Mapping[str, Rate]) -> str:
    """Sentence on referral rates (any, MOH, other) of a counselling project; in a pipeline
    run a rate the joint decision withholds is named as withheld."""
    from evaluation.publish.view import current, key

    view = current()
    what = {"any": "referred", "moh": "referred_moh", "other": "referred_other"}

    def rate(name: str) -> str:
        n, big = key(project, what[name]), key(project, "enrolled")
        if view is not None and not view.rate_shown(n, big):
            return "withheld by the disclosure check"
        return rates[name].describe()

    count = rates["any"].n
    if view is not None and not view.shown(key(project, "referred")):
        count = "a withheld number"
    return (
        f"Of the {rates['any'].N} clients enrolled in {project}, {count} were referred "
        f"to at least one return organisation: {rate('any')}. "
        f"Referred to MOH: {rate('moh')}; to other return organisations: "
        f"{rate('other')}. A client referred to both counts once in the total."
    )


def chain_sentence(steps: pd.DataFrame, threshold: int = 5) -> str:
    """Sentence for the linked chain ENH → MOH → return; disclosive counts are withheld."""
    from evaluation.publish.disclosure import is_withheld

    def part(row: pd.Series, what: str, base_hidden: bool = False) -> str:
        if is_withheld(int(row["n"]), int(row["N"]), threshold):
            return f"a number withheld for privacy (fewer than {threshold} either way) {what}"
        if base_hidden:  # n of N would reveal the withheld count of the step before
            return f"{row['n']} {what}"
        return (
            f"{row['n']} of {row['N']} ({pct(row['estimate'])}, 95 % CI "
            f"{pct(row['ci_low'])}–{pct(row['ci_high'])}) {what}"
        )

    referred, enrolled, returned = (steps.iloc[i] for i in range(3))
    if referred["n"] == 0:
        return "No ENH client was referred to MOH in these records, so there is no chain to follow."
    from evaluation.publish.view import current

    view = current()
    if view is not None:
        return _joint_chain_sentence(steps, view)
    text = (
        f"Following linked records, {referred['n']} ENH clients were referred to MOH; of them, "
        + part(enrolled, "enrolled in a MOH project")
    )
    if enrolled["n"]:
        hidden = is_withheld(int(enrolled["n"]), int(enrolled["N"]), threshold)
        text += "; of those, " + part(returned, "returned with a verified departure", hidden)
    if len(steps) > 3:
        text += "; of all referred to MOH, " + part(steps.iloc[3], "returned")
    return text + ". These are counts of the same people, not products of separate rates."


def _joint_chain_sentence(steps: pd.DataFrame, view) -> str:
    """chain_sentence with every number as the joint decision shows it (publish.gate)."""
    from evaluation.publish.gate import MARK, chain_shown

    shown = chain_shown(steps.assign(rate="", **{"95 % CI": ""}), view)

    def part(i: int, what: str) -> str:
        r, row = shown.iloc[i], steps.iloc[i]
        if str(r["n"]) == MARK:
            return f"a withheld number {what}"
        if MARK in (str(r["N"]), str(r["rate"])):
            return f"{r['n']} {what}"
        return (
            f"{r['n']} of {r['N']} ({pct(row['estimate'])}, 95 % CI "
            f"{pct(row['ci_low'])}–{pct(row['ci_high'])}) {what}"
        )

    first = shown.iloc[0]["n"]
    text = (
        f"Following linked records, {'a withheld number of' if first == MARK else first} ENH "
        "clients were referred to MOH; of them, " + part(1, "enrolled in a MOH project")
    )
    if steps.iloc[1]["n"]:
        text += "; of those, " + part(2, "returned with a verified departure")
    if len(steps) > 3:
        text += "; of all referred to MOH, " + part(3, "returned")
    return (
        text + ". These are counts of the same people, not products of separate rates; "
        "a number is withheld where it would let a group of fewer than "
        f"{view.threshold} be worked out from this or any other table."
    )


# what a conversion model explains, by the outcome column it was fitted to
MODEL_OUTCOMES = {"returned": "verified return", "referred": "referral to a return organisation"}
MODEL_NAMES = {"logistic": "logistic regression", "cox": "cause-specific Cox model"}


VARIABLE_IS = re.compile(r"\b([a-z]+(?:_[a-z0-9]+)+) = ")


def readable_reason(reason: str) -> str:
    """A model's reason in words: 'household_type = family (4+)' -> 'Household: family (4+)'."""
    from evaluation.report.presentation import value_labels

    labels = value_labels()
    return VARIABLE_IS.sub(lambda m: f"{labels.get(m.group(1), m.group(1))}: ", reason)


def model_sentence(
    res: object,
    outcome: str,
    instead: str = "The table shows descriptive rates instead.",
    counts_shown: bool = True,
) -> str:
    """One sentence on a fitted model (evaluation.analysis.models.ModelResult): what was fitted
    on how many, or why not (then `instead`); `outcome` is the outcome column ('returned',
    'referred'). counts_shown False: the model's counts are withheld by the disclosure check
    (or are no cells of it), so the sentence prints none."""
    what = MODEL_NAMES.get(res.kind, res.kind)
    words = MODEL_OUTCOMES.get(outcome, outcome.replace("_", " "))
    target = words if res.kind == "logistic" else f"the time to {words}"
    if not counts_shown:  # the reason names a cell, never its count (analysis.models)
        if res.ok:
            done = f"A {what} of {target} gives {res.ratio_name}s with 95 % Wald intervals"
        else:
            done = f"No {what} is reported for {target}: {readable_reason(res.reason)}"
        return (
            f"{done} (its numbers of clients and events are withheld by the disclosure check)."
            + ("" if res.ok else f" {instead}".rstrip())
        )
    if res.ok:
        return (
            f"A {what} of {target} on {res.n} clients ({res.events} events) gives "
            f"{res.ratio_name}s with 95 % Wald intervals."
        )
    return (
        f"No {what} is reported for {target} ({res.n} clients, {res.events} events): "
        f"{readable_reason(res.reason)}. {instead}".rstrip()
    )


def project_model_text(contrasts: Sequence, models: Mapping[str, tuple]) -> str:
    """The comparison's project Cox model per contrast (analysis.project_model): fitted or why
    not, the hazard ratio of the other project, and how many persons it left out. In a run its
    counts are no cells of the joint disclosure ledger, so they are not printed there."""
    from evaluation.analysis.project_model import project_ratio
    from evaluation.publish import view

    counted = view.current() is None
    out = []
    for c in contrasts:
        m, left = models[c.key]
        text = f"{c.other} vs {c.baseline}: " + model_sentence(
            m, "returned", instead="", counts_shown=counted
        )
        r = project_ratio(m, c.other)
        if r:
            text += (f" Hazard ratio for {c.other}: {r['estimate']:.2f} (95 % CI "
                     f"{r['ci_low']:.2f}–{r['ci_high']:.2f}).")  # fmt: skip
        if counted:
            text += f" {left} persons with missing or rare covariates are not in the model."
        out.append(text)
    return " ".join(out)
