"""Turn results into what a report shows: Markdown tables and sentences (pandoc/Word native)."""

from __future__ import annotations

import re

import pandas as pd

# a cell that reads as a number (or a suppression marker): right-aligned like numbers
NUMERIC_CELL = re.compile(r"^(?:[−+-]?[\d.,]+\s?%?(?:\s?(?:–|to)\s?[−+-]?[\d.,]+\s?%?)?|x|<\d+|)$")
# a cell that starts with a number or amount (or is withheld): its column keeps its width
VALUE_CELL = re.compile(r"^(?:[−+-]?€?[\d.,]+(?:\s|%|$)|withheld|x$|$)")

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
    widths, aligns, fixed = [], [], []
    for i, (c, dtype) in enumerate(zip(cols, df.dtypes, strict=True)):
        numeric = pd.api.types.is_numeric_dtype(dtype) or (
            bool(body) and all(NUMERIC_CELL.match(r[i]) for r in body)
        )
        aligns.append(align.get(c, "right" if numeric else "left"))
        # a value with its interval ("38.6 % (33.4–44.0 %)", "€1,454 (€1,175–€1,733)") is text
        # to pandoc but must not lose room to the prose around it either
        fixed.append(bool(body) and (numeric or all(VALUE_CELL.match(r[i]) for r in body)))
        # dash counts set pandoc's relative column widths when a row is long: numbers get their
        # full width plus room (so "52.8 %" or "32.4–71.7 %" never breaks), text at most 30
        cells = [len(r[i]) for r in body]
        # (and a numeric column at least as wide as its header's longest word)
        word = max(map(len, c.split()), default=0)
        text = min(max([len(c), *cells]), 30)
        widths.append(max(*cells, word) + 2 if numeric and cells else text)
    widths = _fit(widths, fixed, cols, body)
    rule = []
    for width, a in zip(widths, aligns, strict=True):
        # + 3 for the cell's padding (about three characters), which short columns lose otherwise
        dashes = "-" * max(3, width + 3)
        rule.append({"left": f":{dashes}", "right": f"{dashes}:", "center": f":{dashes}:"}[a])
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join(rule) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in body]
    return "\n".join(lines)


PAGE_CHARACTERS = 90  # about what one line of a table holds across the page, padding included


def _fit(widths: list[int], fixed: list[bool], cols: list[str], body: list[list[str]]):
    """Column widths (in characters) for a table wider than the page: text columns give up room,
    down to their longest word (between 8 and 16 characters), so that the `fixed` ones (numbers,
    values with intervals) keep theirs; a table that fits is left as it is."""
    if sum(w + 3 for w in widths) <= PAGE_CHARACTERS:
        return widths
    text = [i for i, f in enumerate(fixed) if not f]
    room = PAGE_CHARACTERS - sum(widths[i] + 3 for i, f in enumerate(fixed) if f)
    asked = sum(widths[i] + 3 for i in text)
    out = list(widths)
    for i in text:
        words = [len(w) for v in (cols[i], *(r[i] for r in body)) for w in v.split()]
        floor = min(max([8, *words]), 16, widths[i])
        out[i] = max(floor, round((widths[i] + 3) * room / asked) - 3) if room > 0 else floor
    return out


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
