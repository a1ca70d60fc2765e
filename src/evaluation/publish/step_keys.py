"""Which ledger cells a funnel or chain row counts: one mapping for the ledger and the tables.

A funnel row (analysis.conversion.funnel, per project or per half-year cohort) counts clients
of a project who reached a step, over everyone enrolled; a chain row (analysis.conversion.chain)
counts the same linked people step by step. The ledger (publish.ledger_build) registers these
cells under the keys below; the tables and files that print a row look its numbers up by the
same keys (publish.gate), so a row is shown or withheld as the one joint decision says.
"""

from __future__ import annotations

from evaluation.analysis.conversion import MOH, ORG_LABELS
from evaluation.publish.ledger import make_key

CHAIN_SOURCE = "ENH"
CHAIN_WHAT = ("chain_referred_moh", "chain_enrolled_moh", "chain_returned", "chain_returned")
# each chain row's denominator: the row whose people it counts among
CHAIN_OF = (None, 0, 1, 0)


def funnel_steps(project: str, kind: str, columns) -> list[tuple[str, str, str]]:
    """(row label, ledger 'what', client-frame column) of every funnel row, in order."""
    rows = [(f"Enrolled in {project}", "enrolled", "")]
    if kind == "counselling":
        rows += [
            ("Counselled (≥ 1 session)", "counselled", "counselled"),
            ("Referred to a return organisation", "referred", "referred"),
            ("  to MOH", "referred_moh", f"referred_{MOH}"),
            ("  to other organisations", "referred_other", "referred_other"),
        ]
        rows += [
            (f"    to {label}", f"referred_to_{org.lower()}", f"referred_{org}")
            for org, label in ORG_LABELS.items()
            if org != MOH and f"referred_{org}" in columns
        ]
    else:
        rows.append(("Reintegration plan made", "plan", "plan"))
    rows.append(("Returned (verified departure)", "returned", "returned"))
    return [r for r in rows if not r[2] or r[2] in columns]


def step_what(label: str, project: str) -> str | None:
    """The ledger 'what' of a funnel row label (None for a row that is not a funnel step)."""
    if label == f"Enrolled in {project}":
        return "enrolled"
    fixed = {
        "Counselled (≥ 1 session)": "counselled",
        "Referred to a return organisation": "referred",
        "  to MOH": "referred_moh",
        "  to other organisations": "referred_other",
        "Reintegration plan made": "plan",
        "Returned (verified departure)": "returned",
    }
    if label in fixed:
        return fixed[label]
    for org, name in ORG_LABELS.items():
        if org != MOH and label == f"    to {name}":
            return f"referred_to_{org.lower()}"
    return None


def step_keys(label: str, project: str, **dims: object) -> tuple[str, str] | None:
    """(numerator key, denominator key) of a funnel row, or None when it is no ledger cell."""
    what = step_what(label, project)
    if what is None:
        return None
    return make_key(project, what, **dims), make_key(project, "enrolled", **dims)


def chain_keys(position: int, source: str = CHAIN_SOURCE) -> tuple[str, str]:
    """(numerator key, denominator key) of the chain's row at `position` (0 to 3)."""
    n = make_key(source, CHAIN_WHAT[position])
    of = CHAIN_OF[position]
    big = make_key(source, "enrolled") if of is None else make_key(source, CHAIN_WHAT[of])
    return n, big
