"""Inline references to headline metrics: `{{< metric KEY [PART] >}}` in a report source.

The evaluator writes prose (recommendations, lessons) without typing a number: each number is a
reference to a key of build/results/metrics.json, resolved when the report is staged, before
either renderer (Quarto or the pandoc fallback) reads the sources. PART picks one piece:
`estimate`, `interval`, `n_of_N`, or a sub-result such as `worst`/`best`/`complete`; without
it a rate reads "34.5 % (95 % CI 27.3–42.4 %; 51 of 148)".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from evaluation.errors import ExecutionError

METRIC = re.compile(r"\{\{<\s*metric\s+([\w.-]+)(?:\s+([\w.-]+))?\s*>\}\}")
PARTS = ("estimate", "interval", "n_of_N")


def _is_amount(key: str) -> bool:
    return "_eur" in key or key.endswith("eur")


def _is_difference(value: Mapping) -> bool:
    return isinstance(value.get("N"), list)


def _num(x: float, key: str, value: Mapping) -> str:
    """One number as the report prints it: euros, percentage points or a percentage."""
    if _is_amount(key):
        return f"€{x:,.0f}"
    if "mean" in value and "estimate" not in value:
        return f"{x:.2f}"
    return f"{100 * x:.1f}"


def _signed(x: float) -> str:
    return ("+" if x > 0 else "\u2212" if x < 0 else "") + f"{abs(100 * x):.1f}"


def _n_of_N(value: Mapping) -> str:
    n, N = value.get("n"), value.get("N")
    if n is None or N is None:
        return ""
    if isinstance(N, list):
        return " and ".join(f"{a} of {b}" for a, b in zip(n, N, strict=True))
    return f"{n} of {N}"


def _estimate(key: str, value: Mapping) -> str:
    est = value.get("estimate", value.get("mean"))
    if est is None:
        return "not estimable"
    if _is_difference(value):
        return f"{_signed(est)} percentage points"
    unit = "" if _is_amount(key) or "mean" in value and "estimate" not in value else " %"
    return _num(est, key, value) + unit


def _interval(key: str, value: Mapping) -> str:
    lo, hi = value.get("ci_low"), value.get("ci_high")
    if lo is None or hi is None:
        return ""
    if _is_difference(value):
        return f"95 % CI {_signed(lo)} to {_signed(hi)}"
    mean = "mean" in value and "estimate" not in value  # a score: no unit
    unit = "" if _is_amount(key) or mean else " %"
    return f"95 % CI {_num(lo, key, value)}\u2013{_num(hi, key, value)}{unit}"


def format_metric(key: str, value: Any, part: str | None = None) -> str:
    """The text a reference to `key` (and optionally one `part` of it) stands for."""
    if isinstance(value, Mapping) and part and part not in PARTS:
        if part not in value:
            raise KeyError(part)
        return format_metric(key, value[part])
    if not isinstance(value, Mapping):
        if isinstance(value, bool) or value is None:
            raise KeyError(part or key)
        return f"{value:,}" if isinstance(value, int) else f"{value:.2f}"
    if "estimate" not in value and "mean" not in value:
        raise KeyError(part or key)
    if value.get("withheld") and value.get("estimate") is None and "n_at_least" not in value:
        return "withheld by disclosure control"
    if part == "estimate":
        return _estimate(key, value)
    if part == "interval":
        return _interval(key, value)
    if part == "n_of_N":
        return _n_of_N(value)
    extras = [x for x in (_interval(key, value), _n_of_N(value)) if x]
    if value.get("estimate", value.get("mean")) is None:
        return "not estimable"
    return _estimate(key, value) + (f" ({'; '.join(extras)})" if extras else "")


def resolve(
    text: str,
    metrics: Mapping[str, Any],
    where: str = "report",
    absent: frozenset[str] = frozenset(),
    withheld: frozenset[str] = frozenset(),
) -> str:
    """The text with every metric reference replaced; an unknown key or part stops the run
    with a sentence that names the file and the key. A key of a project in `absent` (known but
    not evaluated in this run, e.g. `--project enh`) reads "(not evaluated in this run)"; a key
    of a project with no records, or one in `withheld` (left out by the joint disclosure check),
    says so instead of a number."""

    def repl(m: re.Match) -> str:
        key, part = m.group(1), m.group(2)
        projects = key.split(".", 1)[0].split("_vs_")
        if key not in metrics and absent.intersection(projects):
            missing = ", ".join(p.upper() for p in projects if p in absent)
            return f"(no {missing} result: not evaluated in this run)"
        empty = [p for p in projects if f"{p}.nothing_to_evaluate" in metrics]
        if key not in metrics and empty:
            return f"(no {', '.join(p.upper() for p in empty)} result: no records in this data)"
        if key not in metrics and key in withheld:
            return "(withheld by disclosure control)"
        if key not in metrics:
            raise ExecutionError(
                f"{where}: {{{{< metric {key} >}}}} names no metric of this run; the keys are in "
                "build/results/metrics.json"
            )
        try:
            return format_metric(key, metrics[key], part)
        except (KeyError, TypeError, ValueError) as exc:
            raise ExecutionError(
                f"{where}: metric {key} has no part {part!r} that can be printed"
                if part
                else f"{where}: metric {key} is not a number or a rate that can be printed"
            ) from exc

    return METRIC.sub(repl, text)


def resolve_tree(
    reports: Path,
    metrics: Mapping[str, Any],
    absent: frozenset[str] = frozenset(),
    withheld: frozenset[str] = frozenset(),
) -> list[Path]:
    """Resolve the references in every .qmd under reports/ in place; the files changed."""
    changed = []
    for qmd in sorted(reports.rglob("*.qmd")):
        text = qmd.read_text(encoding="utf-8")
        new = resolve(text, metrics, str(qmd.relative_to(reports.parent)), absent, withheld)
        if new != text:
            qmd.write_text(new, encoding="utf-8")
            changed.append(qmd)
    return changed
