"""The validation report: every problem found, counted per table and rule, as Markdown and JSON."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from evaluation.data.crosscheck import describe_rule
from evaluation.data.problems import Problem

MAX_EXAMPLES = 20


@dataclass
class ValidationReport:
    """All problems of one validation run, with the row count of every table read."""

    problems: list[Problem]
    row_counts: dict[str, int] = field(default_factory=dict)

    @property
    def errors(self) -> list[Problem]:
        """Problems that make the data unusable (everything but warnings)."""
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        """Notes that do not stop the run (e.g. an extra file in the folder)."""
        return [p for p in self.problems if p.severity != "error"]

    @property
    def ok(self) -> bool:
        """True when no problem is an error."""
        return not self.errors

    def rule_counts(self) -> dict[tuple[str, str], int]:
        """Number of problems per (table, rule)."""
        return dict(Counter((p.table or "dataset", p.rule) for p in self.problems))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: status, counts and every problem."""
        return {
            "ok": self.ok,
            "n_errors": len(self.errors),
            "n_warnings": len(self.warnings),
            "row_counts": dict(self.row_counts),
            "rule_counts": [
                {"table": t, "rule": r, "count": n}
                for (t, r), n in sorted(self.rule_counts().items())
            ],
            "problems": [asdict(p) for p in self.problems],
        }

    def to_markdown(self, max_examples: int = MAX_EXAMPLES) -> str:
        """Readable report grouped by table and rule, at most max_examples lines per rule."""
        lines = ["# Validation report", ""]
        if self.ok:
            status = "**Passed**: the data meet the contract"
            if self.warnings:
                status += f" ({len(self.warnings)} warning(s) below)"
            lines.append(status + ".")
        else:
            lines.append(
                f"**Failed**: {len(self.errors)} error(s) and {len(self.warnings)} warning(s). "
                "Fix the errors below and validate again; no analysis runs on invalid data."
            )
        lines += ["", "| table | rows read | errors | warnings |", "|---|---:|---:|---:|"]
        tables = list(self.row_counts) + sorted(
            {p.table or "dataset" for p in self.problems} - set(self.row_counts)
        )
        for t in tables:
            errs = sum(1 for p in self.errors if (p.table or "dataset") == t)
            warns = sum(1 for p in self.warnings if (p.table or "dataset") == t)
            rows = self.row_counts.get(t, "–")
            lines.append(f"| {t} | {rows} | {errs} | {warns} |")
        by_table: dict[str, dict[str, list[Problem]]] = defaultdict(lambda: defaultdict(list))
        for p in self.problems:
            by_table[p.table or "dataset"][p.rule].append(p)
        for t in tables:
            if t not in by_table:
                continue
            lines += ["", f"## {t}", ""]
            counts = {rule: len(ps) for rule, ps in by_table[t].items()}
            if len(counts) > 1 or sum(counts.values()) > max_examples:
                lines += ["| rule | problems |", "|---|---:|"]
                lines += [f"| {r} | {n} |" for r, n in sorted(counts.items())]
                lines.append("")
            for rule, ps in by_table[t].items():
                kind = "warning" if ps[0].severity != "error" else "error"
                lines.append(f"### {rule} ({len(ps)} {kind}{'s' if len(ps) != 1 else ''})")
                about = describe_rule(rule)
                if about:
                    lines += ["", f"*{about}*"]
                lines.append("")
                lines += [f"- {p.message}" for p in ps[:max_examples]]
                if len(ps) > max_examples:
                    lines.append(f"- … and {len(ps) - max_examples} more (all in report.json)")
                lines.append("")
        return "\n".join(lines).rstrip() + "\n"

    def write(self, out_dir: str | Path) -> tuple[Path, Path]:
        """Write report.md and report.json into out_dir; returns both paths."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        md, js = out / "report.md", out / "report.json"
        md.write_text(self.to_markdown(), encoding="utf-8")
        js.write_text(json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n", "utf-8")
        return md, js
