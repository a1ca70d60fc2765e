"""Sentences that state the conversion results."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from evaluation.analysis.rates import Rate


def _pct(x: float) -> str:
    return f"{100 * x:.1f} %"


def summary_sentence(project: str, return_rate: Rate, incidence: object | None = None) -> str:
    """Headline sentence: return rate with interval, and incidence at 6 and 12 months."""
    text = (
        f"Of the {return_rate.N} clients enrolled in {project}, {return_rate.n} returned with a "
        f"verified departure: {return_rate.describe()}."
    )
    if incidence is not None:
        from evaluation.analysis.survival import median_text

        i6, i12 = incidence.at(6), incidence.at(12)
        text += (
            f" Estimated with {incidence.method_label.split(' (')[0]}"
            f" ({incidence.competing} competing exits, {incidence.censored} censored),"
            f" {i6.describe()} had returned within 6 months of enrolment and"
            f" {i12.describe()} within 12 months; the median time to return was"
            f" {median_text(incidence)}."
        )
    return text


def referral_sentence(project: str, rates: Mapping[str, Rate]) -> str:
    """Sentence on referral rates (any, MOH, other) of a counselling project."""
    return (
        f"Of the {rates['any'].N} clients enrolled in {project}, {rates['any'].n} were referred "
        f"to at least one return organisation: {rates['any'].describe()}. "
        f"Referred to MOH: {rates['moh'].describe()}; to other return organisations: "
        f"{rates['other'].describe()}. A client referred to both counts once in the total."
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
            f"{row['n']} of {row['N']} ({_pct(row['estimate'])}, 95 % CI "
            f"{_pct(row['ci_low'])}–{_pct(row['ci_high'])}) {what}"
        )

    referred, enrolled, returned = (steps.iloc[i] for i in range(3))
    if referred["n"] == 0:
        return "No ENH client was referred to MOH in these records, so there is no chain to follow."
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
