"""Turn results into what a report shows: Markdown tables and sentences (pandoc/Word native)."""

from __future__ import annotations

import re

import pandas as pd

# a cell that reads as a number (or a suppression marker): right-aligned like numbers
NUMERIC_CELL = re.compile(r"^(?:[−+-]?[\d.,]+\s?%?(?:\s?(?:–|to)\s?[−+-]?[\d.,]+\s?%?)?|x|<\d+|)$")

SYNTHETIC_BANNER = (
    '::: {.callout-warning title="Synthetic data"}\n'
    "**Synthetic data.** The case-level records behind this section are synthetic, generated to "
    "reproduce VluchtelingenWerk's published totals. They describe no real person; patterns "
    "beyond the published totals are assumptions, not findings.\n:::"
)


def _cell(value: object, floatfmt: str) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, float):
        return format(value, floatfmt)
    return str(value).replace("|", "\\|").replace("\n", " ")


def markdown_table(
    df: pd.DataFrame,
    floatfmt: str = ".3f",
    align: dict[str, str] | None = None,
    raw: bool = False,
) -> str:
    """A pipe table pandoc and Quarto both turn into native HTML/Word tables, after the
    presentation spec (labels, code labels, units; report/presentation.yaml); `raw` keeps
    names and codes as they are, for the technical annex (data dictionary, provenance)."""
    from evaluation.report.presentation import present

    align = align or {}
    if not raw:
        shown = present(df)
        if len(shown.columns) == len(df.columns):
            pairs = zip(df.columns, shown.columns, strict=True)
            align = {str(new): align[str(old)] for old, new in pairs if str(old) in align}
        df = shown
    cols = [str(c) for c in df.columns]
    body = [[_cell(v, floatfmt) for v in row] for row in df.itertuples(index=False)]
    rule = []
    for i, (c, dtype) in enumerate(zip(cols, df.dtypes, strict=True)):
        numeric = pd.api.types.is_numeric_dtype(dtype) or (
            bool(body) and all(NUMERIC_CELL.match(r[i]) for r in body)
        )
        a = align.get(c, "right" if numeric else "left")
        # dash counts set pandoc's relative column widths when a row is long: numbers get their
        # full width plus room (so "52.8 %" or "32.4–71.7 %" never breaks), text at most 30
        cells = [len(r[i]) for r in body]
        # (and a numeric column at least as wide as its header's longest word)
        word = max(map(len, c.split()), default=0)
        width = max(*cells, word) + 2 if numeric and cells else min(max([len(c), *cells]), 30)
        # + 3 for the cell's padding (about three characters), which short columns lose otherwise
        dashes = "-" * max(3, width + 3)
        rule.append({"left": f":{dashes}", "right": f"{dashes}:", "center": f":{dashes}:"}[a])
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join(rule) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in body]
    return "\n".join(lines)


def show(markdown: str) -> None:
    """Emit Markdown as a notebook output (text/markdown), which embeds render natively."""
    from IPython.display import Markdown, display

    display(Markdown(markdown))


REAL_DATA_NOTE = (
    "*Case-level data: the configured export of real case records, pseudonymised on load; "
    "small counts are suppressed in every table.*"
)


def banner(synthetic: bool) -> None:
    """The synthetic-data banner for synthetic data; a one-line data-source note otherwise."""
    show(SYNTHETIC_BANNER if synthetic else REAL_DATA_NOTE)
