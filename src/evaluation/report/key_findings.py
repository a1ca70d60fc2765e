"""The executive summary's key findings: one row per headline indicator of the evaluation
matrix (question, indicator, value with its interval, n of N, what it means), then a short
finding per OECD-DAC criterion. Built from build/results/metrics.json; no number is typed.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from evaluation.config import Config, read_yaml
from evaluation.report.matrix import (
    CRITERIA,
    MATRIX_FILE,
    Matrix,
    Question,
    expand_indicators,
)
from evaluation.report.metric_refs import format_metric

# an interval wider than this (as a proportion) makes a rate "imprecise" in the table
IMPRECISE_WIDTH = 0.25
# where each notebook's exhibits are discussed
SECTION = {
    "published": "sec-context",
    "conversion": "sec-conversion",
    "durability": "sec-durability",
    "comparison": "sec-comparison",
    "durability_comparison": "sec-comparison",
    "efficiency": "sec-efficiency",
    "summary": "sec-methods",
}


def load_indicator_display(path: Path = MATRIX_FILE) -> dict[str, dict[str, str]]:
    """The `indicators:` block of the matrix file: label, meaning and part per indicator."""
    raw = read_yaml(path.read_text(encoding="utf-8")) or {}
    return raw.get("indicators") or {}


def _small(value: Mapping, threshold: int) -> bool:
    """True when the count or its complement is a small cell (1 to threshold - 1 people)."""
    n, N = value.get("n"), value.get("N")
    if not isinstance(n, int) or not isinstance(N, int):
        return False
    return any(0 < c < threshold for c in (n, N - n))


def _project(key: str, cfg: Config) -> str:
    head = key.split(".", 1)[0]
    names = {p.key: p.id for p in cfg.projects}
    if "_vs_" in head:
        a, b = head.split("_vs_")
        return f"{names.get(b, b.upper())} vs {names.get(a, a.upper())}"
    return names.get(head, head.upper())


def _verdict(value: Mapping) -> str:
    lo, hi = value.get("ci_low"), value.get("ci_high")
    if lo is None or hi is None:
        return ""
    if isinstance(value.get("N"), list):
        if lo <= 0 <= hi:
            return "The interval includes zero: no difference is claimed."
        return "The interval excludes zero."
    if "_eur" not in str(value.get("_key", "")) and hi - lo > IMPRECISE_WIDTH:
        return "Imprecise: the interval is wide."
    return ""


def key_findings(
    m: Matrix,
    cfg: Config,
    metrics: Mapping[str, Any],
    display: Mapping[str, Mapping[str, str]],
    threshold: int,
) -> pd.DataFrame:
    """One row per (question, project) for the question's headline indicator."""
    rows = []
    for q in m.questions:
        keys = expand_indicators(q, cfg)
        if not keys:
            continue
        head = keys[0].split(".", 1)[1]
        for key in [k for k in keys if k.split(".", 1)[1] == head]:
            spec = display.get(head, {})
            value = metrics.get(key)
            if value is None:
                continue
            part = spec.get("part")
            shown = value[part] if part and isinstance(value, Mapping) else value
            label = f"{_project(key, cfg)}: {spec.get('label', head.replace('_', ' '))}"
            if isinstance(shown, Mapping) and shown.get("n_at_least") is not None:
                # withheld, but the joint check allows a safe lower bound: say it
                val = f"at least {100 * shown['share_at_least']:.0f} % (exact figure withheld)"
                n_of_n = f"at least {shown['n_at_least']} of {shown['N']}"
                verdict = f"Withheld so that no group of fewer than {threshold} can be worked out."
            elif shown is None or (
                isinstance(shown, Mapping)
                and shown.get("estimate") is None
                and shown.get("mean") is None
            ):
                # no value: withheld by the joint disclosure check, or none exists (reason given)
                why = shown.get("reason") if isinstance(shown, Mapping) else None
                val = f"— ({why})" if why else "withheld (disclosure control)"
                n_of_n, verdict = "", ""
            elif isinstance(shown, Mapping) and _small(shown, threshold):
                val, n_of_n, verdict = "withheld (small count)", "", ""
            else:
                val = format_metric(key, shown, "estimate")
                interval = format_metric(key, shown, "interval") if "ci_low" in shown else ""
                val += f" ({interval.replace('95 % CI ', '')})" if interval else ""
                n_of_n = (
                    format_metric(key, shown, "n_of_N")
                    if "N" in shown
                    else f"{shown['n']} scored"
                    if "n" in shown
                    else ""
                )
                verdict = _verdict({**shown, "_key": key})
            rows.append(
                {
                    "Question": q.id,
                    "Indicator": label,
                    "Value (95 % CI)": val,
                    "n of N": n_of_n,
                    "What it means": " ".join(x for x in (spec.get("meaning", ""), verdict) if x),
                }
            )
    table = pd.DataFrame(
        rows, columns=["Question", "Indicator", "Value (95 % CI)", "n of N", "What it means"]
    )
    # a question's meaning is said once, on its first row; later rows say only what differs
    first = table["Question"].ne(table["Question"].shift())
    for i in table.index[~first]:
        meaning = display.get(_head(table.at[i, "Indicator"], display), {}).get("meaning", "")
        table.at[i, "What it means"] = table.at[i, "What it means"].replace(meaning, "").strip()
    return table


def _head(label: str, display: Mapping[str, Mapping[str, str]]) -> str:
    """The indicator key whose label ends this row's indicator text."""
    hits = [k for k, spec in display.items() if label.endswith(spec.get("label", "\0"))]
    return max(hits, key=lambda k: len(display[k]["label"]), default="")


def _section(q: Question) -> str:
    notebooks = [ex.split("#", 1)[0] for ex in q.exhibits]
    return SECTION.get(notebooks[0], "sec-methods") if notebooks else "sec-methods"


def criterion_findings(m: Matrix, table: pd.DataFrame) -> str:
    """One short paragraph per DAC criterion: its questions, whether the headline indicators
    could be judged, and where the evidence is. Numbers stay in the table (no repeats)."""
    paras = []
    for crit in CRITERIA:
        qs = [q for q in m.questions if q.criterion == crit]
        if not qs:
            paras.append(f"**{crit.capitalize()}.** No evaluation question addresses it.")
            continue
        parts = []
        for q in qs:
            rows = table[table["Question"] == q.id]
            where = f"@{_section(q)}"
            if rows.empty:
                parts.append(
                    f"{q.id} is answered descriptively, without a headline indicator ({where})."
                )
                continue
            values = rows["Value (95 % CI)"]
            withheld = (
                values.str.startswith("withheld") | values.str.contains("figure withheld")
            ).sum()
            imprecise = rows["What it means"].str.contains("Imprecise").sum()
            nodiff = rows["What it means"].str.contains("no difference is claimed").sum()
            no_interval = not rows["Value (95 % CI)"].str.contains("(", regex=False).any()
            notes = []
            if nodiff:
                notes.append("the projects cannot be told apart")
            if imprecise:
                notes.append(
                    "the estimate is imprecise"
                    if len(rows) == 1
                    else "some estimates are imprecise"
                )
            if withheld:
                notes.append("some values are withheld as small counts")
            if no_interval and not withheld:
                notes.append("shown without an interval")
            verdict = "; ".join(notes) if notes else "the estimates are precise enough to judge"
            parts.append(f"{q.id}: {verdict} ({where}).")
        paras.append(f"**{crit.capitalize()}.** " + " ".join(parts))
    return "\n\n".join(paras)
