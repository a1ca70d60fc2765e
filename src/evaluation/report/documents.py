"""The two documents of the report and the references between them.

The evaluation (`reports/index.qmd`) is written for the funder; the technical annex
(`reports/annex.qmd`) holds the detail a reviewer checks: the detailed tables per project, the
analysis plan, the validation report, the data dictionary, the exhibit list and the provenance.
Each document numbers its own sections, figures and tables, so a reference from one to the other
(`{{< xref annex sec-dictionary >}}`, `{{< xref evaluation tbl-matrix >}}`) is resolved when the
report is staged, for Quarto and the pandoc fallback alike, into text such as "Annex Section 4"
linked to the other document's HTML file; in Word and PDF the filter
reports/_filters/document-links.lua points that link at the other document's .docx or .pdf.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from evaluation.errors import ExecutionError

# document name (as written in xref shortcodes) -> .qmd stem in reports/
STEMS = {"evaluation": "index", "annex": "annex"}
# .qmd stem -> output file per format
OUTPUTS = {
    "index": {"html": "index.html", "docx": "evaluation.docx", "pdf": "evaluation.pdf"},
    "annex": {"html": "annex.html", "docx": "annex.docx", "pdf": "annex.pdf"},
}
# how a reference to the other document starts
TITLES = {"evaluation": "Evaluation", "annex": "Annex"}
XREF = re.compile(r"\{\{<\s*xref\s+(\w+)\s+((?:sec|fig|tbl)-[\w-]+)\s*>\}\}")

# Cells shown in the annex instead of the evaluation, by the label the notebook gives them
# (a per-project notebook adds "-<project>"), with how the evaluation names what moved.
ANNEX_CELLS = {
    "tbl-conversion-cohorts": "the half-year enrolment cohorts",
    "tbl-conversion-subgroups": "the shares by subgroup",
    "txt-conversion-models": "the regression models",
    "fig-conversion-forest": "the regression models",
    "tbl-conversion-models": "the regression models",
    "fig-durability-survival-support": "staying by type of support",
    "txt-durability-survival-support": "staying by type of support",
    "fig-durability-survival-country": "staying by country of return",
    "tbl-durability-scores": "the scores by window",
    "tbl-durability-shares": "the shares above each score threshold",
    "tbl-durability-trajectory": "the score trajectories",
    "txt-durability-trajectory": "the score trajectories",
    "tbl-comparison-sensitivity": "the sensitivity analyses",
    "tbl-comparison-follow-up": "the follow-up of each cohort",
}


def base_label(label: str, suffix: str = "") -> str:
    """A cell label without its project suffix ('tbl-conversion-cohorts-moh1' -> '…-cohorts')."""
    return label[: -len(suffix) - 1] if suffix and label.endswith(f"-{suffix}") else label


def in_annex(label: str, suffix: str = "") -> bool:
    """True for a cell the annex shows instead of the evaluation."""
    return base_label(label, suffix) in ANNEX_CELLS


def moved_topics(labels: list[str], suffix: str = "") -> list[str]:
    """How the evaluation names the annex's part of these cells, once each, in order."""
    topics: list[str] = []
    for label in labels:
        topic = ANNEX_CELLS.get(base_label(label, suffix))
        if topic and topic not in topics:
            topics.append(topic)
    return topics


def exhibit_ref(label: str, suffixes: tuple[str, ...] = ()) -> str:
    """How the evaluation refers to one of its exhibits: `@label`, or a reference to the annex
    for a cell shown there (`suffixes`: the project keys a per-project label may end with)."""
    base = next((base_label(label, s) for s in suffixes if label.endswith(f"-{s}")), label)
    return f"{{{{< xref annex {label} >}}}}" if base in ANNEX_CELLS else f"@{label}"


def resolve_xrefs(
    text: str, numbers: Mapping[str, Mapping[str, str]], where: str = "report"
) -> str:
    """Replace each `{{< xref DOCUMENT LABEL >}}` by "Annex Table 3" (or "Evaluation …")
    linked to that label in the document's HTML file. `numbers` maps a document name to its
    labels and what a reference shows ('Section 2.1', 'Table 3'). An unknown document or label
    stops the run with a sentence naming both."""

    def repl(m: re.Match) -> str:
        doc, label = m.group(1), m.group(2)
        if doc not in STEMS:
            raise ExecutionError(
                f"{where}: {{{{< xref {doc} {label} >}}}} names no document; use "
                + " or ".join(STEMS)
            )
        shown = numbers.get(doc, {}).get(label)
        if shown is None:
            raise ExecutionError(
                f"{where}: {{{{< xref {doc} {label} >}}}}: the {doc} has no section, figure or "
                f"table {label} in this run"
            )
        target = OUTPUTS[STEMS[doc]]["html"]
        return f"[{TITLES[doc]} {shown}]({target}#{label})"

    return XREF.sub(repl, text)


def resolve_xref_tree(reports: Path, numbers: Mapping[str, Mapping[str, str]]) -> list[Path]:
    """Resolve the cross-document references of every .qmd under reports/ in place."""
    changed = []
    for qmd in sorted(reports.rglob("*.qmd")):
        text = qmd.read_text(encoding="utf-8")
        new = resolve_xrefs(text, numbers, str(qmd.relative_to(reports.parent)))
        if new != text:
            qmd.write_text(new, encoding="utf-8")
            changed.append(qmd)
    return changed
