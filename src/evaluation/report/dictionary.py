"""Generate the Markdown data dictionary from data_schemas/*.yaml for an evaluator's data team."""

from __future__ import annotations

from pathlib import Path
from typing import Any

_TYPES = {
    "str": "text",
    "int": "whole number",
    "float": "number",
    "bool": "true/false",
    "date": "date (YYYY-MM-DD)",
}


def _allowed(checks: dict[str, Any]) -> str:
    """The column's checks in words."""
    parts = []
    for name, value in checks.items():
        if name == "isin":
            values = list(value)
            if len(values) > 25:
                parts.append(
                    f"one of {len(values)} codes (see codes.yaml): {', '.join(values[:5])}, …"
                )
            else:
                parts.append("one of: " + ", ".join(f"`{v}`" for v in values))
        elif name == "in_range":
            parts.append(f"{value['min_value']} to {value['max_value']}")
        elif name == "greater_than_or_equal_to":
            parts.append(f"≥ {value}")
        elif name == "less_than_or_equal_to":
            parts.append(f"≤ {value}")
        elif name == "str_matches":
            # padded code span: renders the same, but never puts "$`" in the text, which
            # Quarto 1.5-1.8 took as a replacement pattern (the report pasted into itself)
            parts.append(f"matches ` {value} `")
        elif name == "str_length":
            lo, hi = value.get("min_value"), value.get("max_value")
            parts.append(f"{lo or 0} to {hi} characters" if hi else f"at least {lo} character(s)")
        else:
            parts.append(f"{name}: {value}")
    return "; ".join(parts)


# relative column widths (pandoc reads them from the dashes): the descriptions and the allowed
# values get the room, the yes/no columns little; equal widths wrapped a description a word
# per line over pages
RULE = "|" + "|".join("-" * n for n in (17, 12, 9, 8, 22, 32)) + "|"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def dictionary_markdown() -> str:
    """The whole data dictionary as Markdown."""
    from evaluation.data.contract import PUBLISHED, TABLES, load_spec
    from evaluation.data.crosscheck import describe_rule

    lines = [
        "# Data dictionary",
        "",
        "Generated from `data_schemas/*.yaml` by `report.dictionary`; do not edit by hand.",
        "",
        "A dataset is one folder with one file per table, named `<table>.csv`, `.xlsx` or "
        "`.parquet`. CSV files may use `,` or `;` as separator (with `;`, decimals may use a "
        "comma), in UTF-8 with or without BOM. Dates are `YYYY-MM-DD` (also accepted: "
        "`dd-mm-yyyy`). Booleans are `true`/`false` (also `1`/`0`, `yes`/`no`, `ja`/`nee`). "
        "Other column names or codes can be translated by a `mapping.yaml` in the folder.",
        "",
        "*Required* means the cell may not be empty. Columns marked **personal** hold client "
        "identifiers and are replaced by a keyed pseudonym on load; columns marked "
        "**special category** or **free text** are dropped on load and never reach any output.",
        "",
    ]
    for name in (*TABLES, PUBLISHED):
        spec = load_spec(name)
        lines += [f"## {name}", "", spec.description, ""]
        if spec.unique_together:
            lines += [f"At most one row per combination of {', '.join(spec.unique_together)}.", ""]
        lines += ["| column | type | required | unique | allowed values | description |", RULE]
        special = set(spec.metadata.get("special_category") or [])
        free = set(spec.metadata.get("free_text") or [])
        for col in spec.columns.values():
            flags = []
            if col.name in spec.pseudonymised:
                flags.append("**personal**")
            if col.name in special:
                flags.append("**special category**")
            if col.name in free:
                flags.append("**free text**")
            desc = " ".join([*flags, col.description])
            lines.append(
                f"| `{col.name}` | {_TYPES[col.kind]} | {'no' if col.nullable else 'yes'} | "
                f"{'yes' if col.unique else ''} | {_cell(_allowed(col.checks))} | {_cell(desc)} |"
            )
        if spec.rules:
            lines += ["", "Rules across columns and tables:", ""]
            lines += [f"- `{r}`: {describe_rule(r)}" for r in spec.rules]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def write_dictionary(out_path: str | Path) -> Path:
    """Write the data dictionary to out_path (Markdown) and return the path."""
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(dictionary_markdown(), encoding="utf-8")
    return out
