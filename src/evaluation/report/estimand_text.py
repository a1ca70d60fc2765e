"""Sentences and tables for the primary estimands, generated from the analysis plan.

Each sentence names the estimand, the effect and its interval ("compatible with −26 to −6
points"). "No difference" is never said unless the two one-sided tests (TOST) at the plan's
equivalence margin say the projects are equivalent; otherwise an interval that includes zero
is reported as neither showing nor ruling out a difference.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd

from evaluation.analysis.contrasts import CifDifference
from evaluation.analysis.plan import Plan
from evaluation.report.percent import pct
from evaluation.report.tables import markdown_table


def _pts(x: float) -> str:
    """Signed percentage points with a true minus sign: '−9.0', '+12.3'."""
    return f"{100 * x:+.1f}".replace("-", "−")


def _round_pts(x: float) -> str:
    return f"{100 * x:+.0f}".replace("-", "−")


def estimand_name(plan: Plan, horizon: float) -> str:
    """'cumulative incidence of verified return 6 months after first enrolment in a return
    project (Aalen–Johansen, censored at the project's end or the data cut-off)'."""
    est = plan.return_
    return (
        f"cumulative incidence of {est.label.lower()} {horizon:g} months after "
        f"{est.time_origin} (Aalen–Johansen, censored at the project's end or the data cut-off)"
    )


def contrast_sentence(d: CifDifference, plan: Plan) -> str:
    """The contrast at one horizon in words, hedged by the interval and the TOST."""
    base, other = d.baseline.project, d.other.project
    lvl = round(100 * d.level)
    head = (
        f"The {estimand_name(plan, d.horizon)} was {pct(d.other.estimate)} in {other} and "
        f"{pct(d.baseline.estimate)} in {base}"
    )
    if not d.estimable:
        return head + ": no interval can be given for the difference (no events in either group)."
    text = (
        f"{head}: a difference ({other} − {base}) of {_pts(d.estimate)} percentage points "
        f"({lvl} % CI {_pts(d.ci_low)} to {_pts(d.ci_high)}). The data are compatible with "
        f"differences from {_round_pts(d.ci_low)} to {_round_pts(d.ci_high)} points"
    )
    margin = f"±{100 * d.margin:.0f} points"
    if d.excludes_zero:
        way = "higher" if d.estimate > 0 else "lower"
        text += f"; the incidence was {way} in {other}."
    elif d.equivalent:
        text += (
            f"; the difference lies within the pre-specified equivalence margin of {margin} "
            f"(two one-sided tests, p = {d.tost_p:.3f}), so the projects can be called "
            f"equivalent on this estimand."
        )
    else:
        beyond = f" of {margin}" if d.margin > 0 else ""
        text += (
            f". The interval includes zero but also differences beyond the equivalence "
            f"margin{beyond}, so these data neither show a difference nor rule one out."
        )
    text += " " + detectable_sentence(d)
    return text


def detectable_sentence(d: CifDifference) -> str:
    """What the data could detect, downwards and upwards from the baseline."""
    pw = round(100 * d.power)
    parts = []
    if math.isfinite(d.mdd_down):
        parts.append(f"fall of {100 * d.mdd_down:.0f} points")
    if math.isfinite(d.mdd_up):
        parts.append(f"rise of {100 * d.mdd_up:.0f} points")
    if not parts:
        return "The groups are too small to detect any difference with reasonable power."
    return (
        f"With these groups, a true {' or a '.join(parts)} from {d.baseline.project}'s level would "
        f"be detected with {pw} % power at the {round(100 * (1 - d.level))} % level."
    )


def conclusion_items(diffs: Sequence[CifDifference], plan: Plan) -> list[str]:
    """One conclusion bullet per contrast at the primary horizon (secondary horizons are in the
    comparison chapter), following the multiplicity policy."""
    h = plan.return_.primary_horizon
    out = []
    for d in diffs:
        if d.horizon != h:
            continue
        out.append(
            f"- **{d.other.project} compared with {d.baseline.project} (primary estimand).** "
            + contrast_sentence(d, plan)
        )
    return out


def _masked(shown: pd.DataFrame | None, i: int, col: str) -> bool:
    return shown is not None and str(shown.iloc[i][col]) == "x"


def contrast_table(diffs: Sequence[CifDifference], shown: pd.DataFrame | None = None) -> str:
    """Markdown table: incidence per project, difference with interval, TOST p, MDDs; shown:
    the contrasts file as the joint decision shows it (publish.gate_conversion), whose
    withheld cells are withheld here too."""
    rows = []
    for i, d in enumerate(diffs):
        rows.append(
            {
                "Contrast": f"{d.other.project} − {d.baseline.project}",
                "Months": f"{d.horizon:g}",
                "Baseline (%)": 100 * d.baseline.estimate,
                "Other (%)": 100 * d.other.estimate,
                "Difference (points)": 100 * d.estimate,
                "95 % CI": (
                    f"{_pts(d.ci_low)} to {_pts(d.ci_high)}" if d.estimable else "not estimable"
                ),
                "TOST p": d.tost_p,
                "Detectable fall / rise": (
                    f"{100 * d.mdd_down:.0f} / {100 * d.mdd_up:.0f}"
                    if math.isfinite(d.mdd_down) and math.isfinite(d.mdd_up)
                    else "—"
                ),
                "N": f"{d.baseline.N} / {d.other.N}",
            }
        )
        for col, cols in (("baseline", ["Baseline (%)"]), ("other", ["Other (%)"]),
                          ("difference", ["Difference (points)", "95 % CI", "TOST p",
                                          "Detectable fall / rise"])):  # fmt: skip
            if _masked(shown, i, col):
                rows[-1].update(dict.fromkeys(cols, "x"))
        if _masked(shown, i, "N_baseline") or _masked(shown, i, "N_other"):
            rows[-1]["N"] = "x"
    df = pd.DataFrame(rows)
    df["TOST p"] = df["TOST p"].map(
        lambda p: p if isinstance(p, str) else "" if not math.isfinite(p) else f"{p:.3f}"
    )
    if len({(d.baseline.project, d.other.project) for d in diffs}) == 1:
        # one contrast: the projects name the columns, and nine narrow columns become eight
        d = diffs[0]
        df = df.drop(columns=["Contrast"]).rename(
            columns={
                "Baseline (%)": f"{d.baseline.project} (%)",
                "Other (%)": f"{d.other.project} (%)",
                "Difference (points)": f"{d.other.project} − {d.baseline.project} (points)",
                "N": f"N ({d.baseline.project} / {d.other.project})",
            }
        )
    return markdown_table(df, floatfmt=".1f")


def sensitivity_table(table: pd.DataFrame) -> str:
    """Markdown form of the sensitivity table (proportions shown as %, differences as points)."""
    df = table.drop(columns=["id"]).copy()
    for c in ("baseline", "other", "estimate", "ci_low", "ci_high"):
        pct = pd.to_numeric(df[c], errors="coerce") * 100
        df[c] = pct.astype(object).where(df[c].astype(str) != "x", "x")
    # one interval column ("-26.4 to -5.8"): two bare columns side by side read as one range
    df.insert(list(df.columns).index("ci_low"), "ci", [
        _interval(lo, hi) for lo, hi in zip(df.pop("ci_low"), df.pop("ci_high"), strict=True)
    ])  # fmt: skip
    df = df.rename(
        columns={
            "estimand": "Estimand",
            "analysis": "Analysis",
            "group": "Projects",
            "baseline": "Baseline (%)",
            "other": "Other (%)",
            "estimate": "Estimate (% or points)",
            "ci": "95 % CI",
            "note": "Note",
        }
    )
    return markdown_table(df, floatfmt=".1f")


def _interval(lo: object, hi: object) -> str:
    """A 95 % interval cell: 'lo to hi' (one decimal), 'x' when withheld, empty when none."""
    if "x" in (str(lo), str(hi)):
        return "x"
    if pd.isna(lo) or pd.isna(hi):
        return ""
    return f"{float(lo):.1f} to {float(hi):.1f}".replace("-", "−")


def cohort_follow_up_table(table: pd.DataFrame, threshold: int = 5) -> str:
    """Markdown table of each cohort's potential follow-up; counts from 1 to threshold − 1 are
    shown as '< threshold'."""
    df = table.copy()
    for c in [c for c in df if c == "N" or c.startswith("followable_")]:
        df[c] = df[c].map(
            lambda n: n if isinstance(n, str) else f"< {threshold}" if 0 < n < threshold
            else str(int(n))
        )  # fmt: skip
    df = df.rename(
        columns={
            "project": "Project",
            "cohort": "Cohort",
            "potential_min": "Shortest potential follow-up (months)",
            "potential_median": "Median potential follow-up (months)",
        }
    )
    df = df.rename(
        columns={c: f"Followable to {c[11:-1]} months" for c in df if c.startswith("followable_")}
    )
    return markdown_table(df, floatfmt=".1f")


# --------------------------------------------------------------------------- appendix


def plan_appendix(plan: Plan, sha256: str) -> str:
    """The analysis plan as a report appendix: version, estimands, contrasts, inference,
    multiplicity, sensitivity analyses and deviations."""
    r, d, inf = plan.return_, plan.durability, plan.inference
    hz = ", ".join(f"{h:g}" for h in r.horizons)
    lines = [
        f"Analysis plan version **{plan.version}** ({plan.date}; {plan.status}); file "
        f"`{plan.path.name}`, SHA-256 `{sha256[:16]}`.",
        "",
    ]
    rows = [
        ("Population", r.population, d.population),
        ("Time origin", r.time_origin, d.time_origin),
        ("Event", r.event, d.event),
        (
            "Horizons (months)",
            f"{hz} (primary {r.primary_horizon:g})",
            ", ".join(f"{h:g}" for h in d.horizons) + f" (primary {d.primary_horizon:g})",
        ),
        ("Summary measure", r.summary_measure, d.summary_measure),
        (
            "Competing exits",
            ", ".join(r.exits_competing()).replace("_", " "),
            "none (re-migration is the only event)",
        ),
        (
            "Withdrawal and lost contact",
            f"{r.withdrawal_handling} (the other choice, {r.other_withdrawal_handling}, is a "
            "sensitivity analysis)",
            "not reached at a window: unknown, bounded by worst and best case",
        ),
        (
            "Censoring",
            r.censoring,
            f"{d.censoring}; a window due less than {d.window_grace_days} days before the "
            "cut-off counts as not yet due",
        ),
        (
            "Carry-over clients",
            {
                "first_enrolment": "counted once, in the project of first enrolment",
                "exclude": "excluded",
            }[r.carry_over],
            "counted once per verified return",
        ),
        ("Deaths", r.deaths, d.deaths_text),
        (
            "Support-type comparisons",
            "—",
            f"by landmark: support received by {d.landmark_months:g} months, followed from then",
        ),
    ]
    lines.append(
        markdown_table(
            pd.DataFrame(rows, columns=["Element", r.label, d.label]),
        )
    )
    lines += [
        "",
        ": Estimands of the analysis plan (ICH E9(R1) elements). {#tbl-plan-estimands}",
        "",
        "**Contrasts.** "
        + "; ".join(f"{c.other} − {c.baseline} ({c.outcome})" for c in plan.contrasts)
        + f", on the primary estimand at every horizon, with {round(100 * inf.level)} % "
        + (
            "intervals from the Aalen–Johansen variance."
            if inf.interval_method == "aalen_johansen_variance"
            else f"intervals from a person-level bootstrap ({inf.bootstrap_samples} samples, "
            f"seed {inf.seed})."
        ),
        "",
        f"**Equivalence.** No difference is claimed unless the two one-sided tests at a margin "
        f"of ±{100 * inf.equivalence_margin:.0f} percentage points both reject. Detectable "
        f"differences are given both ways at {round(100 * inf.power)} % power. A model with a "
        f"project term (cause-specific Cox, adjusted for "
        f"{', '.join(inf.covariates).replace('_', ' ')}) is fitted when there are at least "
        f"{inf.min_events_per_parameter} events per parameter. A curve without events is "
        f"reported as a one-sided exact {round(100 * inf.no_event_bound_level)} % bound.",
        "",
        f"**Multiplicity.** {plan.multiplicity_policy} Primary: {plan.primary}.",
        "",
        "**Sensitivity analyses.**",
        "",
    ]
    for s in plan.sensitivity:
        extra = f" ({s.date:%d %B %Y})" if s.date else ""
        extra += f" (threshold {100 * s.threshold:.0f} %)" if s.threshold is not None else ""
        lines.append(f"- {s.label}{extra}.")
    lines += ["", "**Deviations from the plan.**", ""]
    if plan.deviations:
        lines += [f"- {v.date}: {v.change} ({v.reason})." for v in plan.deviations]
    else:
        lines.append("- None: every analysis follows the plan as versioned above.")
    return "\n".join(lines)


def return_rates_table(table: pd.DataFrame) -> str:
    """The crude comparison table (analysis.comparison.comparison_table, as the joint decision
    shows it: 'x' kept) in percent and percentage points."""
    df = table.copy().astype(object)
    for c in ("rate_baseline", "rate_other", "difference", "ci_low", "ci_high", "mdd_80"):
        pct = pd.to_numeric(df[c], errors="coerce") * 100
        df[c] = pct.astype(object).where(df[c].astype(str) != "x", "x")
    return markdown_table(df, floatfmt=".1f")


def rate_shown(shown: pd.DataFrame, project: str) -> bool:
    """Is `project`'s crude return rate shown in the comparison table (as decided)?"""
    for side in ("baseline", "other"):
        rows = shown[shown[side] == project]
        if len(rows) and str(rows[f"rate_{side}"].iloc[0]) == "x":
            return False
    return True


def comparison_sentences(comps: Sequence, shown: pd.DataFrame, threshold: int = 5) -> str:
    """Each crude comparison in words (analysis.comparison.Comparison.sentence), or, where the
    joint decision withholds part of it, a sentence saying so."""
    out = []
    for c, (_, row) in zip(comps, shown.iterrows(), strict=False):
        if "x" in set(row.astype(str)):
            out.append(
                f"{c.other}'s return rate compared with {c.baseline}'s is shown only in part: "
                f"the disclosure check withholds figures that would reveal fewer than "
                f"{threshold} people."
            )
        else:
            out.append(c.sentence())
    return " ".join(out)


def contrast_sentences(diffs: Sequence[CifDifference], plan: Plan, shown: pd.DataFrame) -> str:
    """contrast_sentence for each contrast the joint decision shows in full."""
    out = []
    for i, d in enumerate(diffs):
        if "x" in set(shown.iloc[i].astype(str)):
            out.append(
                f"The {estimand_name(plan, d.horizon)} contrast ({d.other.project} − "
                f"{d.baseline.project}) is withheld in part by the disclosure check."
            )
        else:
            out.append(contrast_sentence(d, plan))
    return " ".join(out)
