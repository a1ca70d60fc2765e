"""The fallback's Quarto features in Markdown: includes and embeds resolved, sections, figures
and tables numbered as Quarto numbers them, `@sec-`/`@fig-`/`@tbl-` references resolved."""

from __future__ import annotations

import re
from pathlib import Path

from evaluation.config import read_yaml
from evaluation.errors import ExecutionError
from evaluation.report.embed import (
    EMBED,
    check_targets,
    expand_includes,
    output_markdown,
    read_notebook,
)

HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*(\{[^}]*\})?\s*$")
REF = re.compile(r"(?<![\w@])@((?:fig|tbl|sec)-[\w-]*\w)")
FIG_INLINE = re.compile(r"!\[[^\]]*\]\([^)]*\)\{#(fig-[\w-]+)")
TBL_INLINE = re.compile(r"^:\s.*\{#(tbl-[\w-]+)\}\s*$", re.M)
PAGEBREAK = re.compile(r"^\{\{<\s*pagebreak\s*>\}\}\s*$", re.M)
# Quarto's {{< pagebreak >}} for the fallback: a page break in typst and Word, nothing in HTML
PAGEBREAK_RAW = (
    "```{=typst}\n#pagebreak(weak: true)\n```\n\n"
    '```{=openxml}\n<w:p><w:r><w:br w:type="page"/></w:r></w:p>\n```'
)
TBL_CAPTION = re.compile(r"^:\s+(.*?)\s*\{#(tbl-[\w-]+)\}\s*$", re.M)


def _front_matter(text: str) -> tuple[dict, str]:

    if text.startswith("---"):
        end = text.find("\n---", 3)
        if end != -1:
            return read_yaml(text[3:end]) or {}, text[end + 4 :].lstrip("\n")
    return {}, text


def _number_sections(body: str, numbered: bool) -> tuple[str, dict[str, str]]:
    """Heading ids -> their Quarto-style numbers ('2.1'); code fences are skipped."""
    counters = [0] * 6
    numbers: dict[str, str] = {}
    in_fence = False
    for line in body.splitlines():
        if line.startswith("```"):
            in_fence = not in_fence
            continue
        m = HEADING.match(line)
        if in_fence or not m:
            continue
        level, attrs = len(m.group(1)), m.group(3) or ""
        if ".unnumbered" in attrs or not numbered:
            continue
        counters[level - 1] += 1
        counters[level:] = [0] * (6 - level)
        ident = re.search(r"#(sec-[\w-]+)", attrs)
        if ident:
            numbers[ident.group(1)] = ".".join(str(c) for c in counters[:level] if c) or "0"
    return body, numbers


def _produces_exhibit(cell) -> bool:
    """A fig- cell that drew an image, or a tbl- cell that emitted a pipe table."""
    for out in cell.outputs:
        data = out.get("data", {})
        if cell.label.startswith("fig-") and "image/png" in data:
            return True
        md = "".join(data.get("text/markdown", ""))
        if cell.label.startswith("tbl-") and any(
            ln.lstrip().startswith("|") for ln in md.splitlines()
        ):
            return True
    return False


def _captioned_tables(cell) -> list[str]:
    """tbl- ids captioned inside a cell's Markdown outputs, in order."""
    md = "".join(
        "".join(out.get("data", {}).get("text/markdown", "")) + "\n" for out in cell.outputs
    )
    return [label for label in TBL_INLINE.findall(md) if label != cell.label]


def _number_captions(text: str, numbers: dict[str, str], skip: str = "") -> str:
    """': caption {#tbl-x}' -> ': Table N: caption {#tbl-x}' for numbered tables."""
    return TBL_CAPTION.sub(
        lambda m: (
            f": Table {numbers[m.group(2)]}: {m.group(1)} {{#{m.group(2)}}}"
            if m.group(2) in numbers and m.group(2) != skip
            else m.group(0)
        ),
        text,
    )


def _number_exhibits(body: str, base: Path, notebooks: dict) -> dict[str, str]:
    """fig-/tbl- labels in order of appearance -> 'N' (only cells that produced one)."""
    order: list[str] = []
    pos = []
    for m in EMBED.finditer(body):
        nb_path = (base / m.group(1)).resolve()
        if nb_path not in notebooks:
            notebooks[nb_path] = read_notebook(nb_path)
        cell = notebooks[nb_path].cells[m.group(2)]
        if _produces_exhibit(cell):
            pos.append((m.start(), 0, m.group(2)))
        # a cell's Markdown may caption tables of its own ({#tbl-…}): Quarto numbers them too
        for k, label in enumerate(_captioned_tables(cell), start=1):
            pos.append((m.start(), k, label))
    for m in FIG_INLINE.finditer(body):
        pos.append((m.start(), 0, m.group(1)))
    for m in TBL_INLINE.finditer(body):
        pos.append((m.start(), 0, m.group(1)))
    for _, _, label in sorted(pos):
        if label.startswith(("fig-", "tbl-")) and label not in order:
            order.append(label)
    counts = {"fig": 0, "tbl": 0}
    numbers = {}
    for label in order:
        kind = label[:3]
        counts[kind] += 1
        numbers[label] = str(counts[kind])
    return numbers


def resolve_markdown(index_qmd: Path, media_dir: Path) -> tuple[dict, str, list[str]]:
    """Quarto source → plain pandoc Markdown (front matter, body, warnings).

    Captions carry "Figure N:"/"Table N:" themselves, for every output format alike.
    """
    text = expand_includes(index_qmd)
    meta, body = _front_matter(text)
    problems = check_targets(body, index_qmd.parent)
    if problems:
        raise ExecutionError("cannot render: " + "; ".join(problems))
    numbered = bool(meta.get("number-sections", True))
    body, sec_numbers = _number_sections(body, numbered)
    notebooks: dict[Path, object] = {}
    exhibit_numbers = _number_exhibits(body, index_qmd.parent, notebooks)

    def embed(m: re.Match) -> str:
        nb_path = (index_qmd.parent / m.group(1)).resolve()
        if nb_path not in notebooks:
            notebooks[nb_path] = read_notebook(nb_path)
        cell = notebooks[nb_path].cells[m.group(2)]  # type: ignore[attr-defined]
        md = output_markdown(cell, media_dir, exhibit_numbers.get(cell.label))
        return _number_captions(md, exhibit_numbers, skip=cell.label)

    # tables captioned in the sources get "Table N:" like embedded ones
    body = _number_captions(body, exhibit_numbers)
    body = EMBED.sub(embed, body)
    body = PAGEBREAK.sub(lambda _: PAGEBREAK_RAW, body)
    warnings: list[str] = []
    names = {"fig": "Figure", "tbl": "Table", "sec": "Section"}

    def ref(m: re.Match) -> str:
        label = m.group(1)
        number = sec_numbers.get(label) if label.startswith("sec-") else exhibit_numbers.get(label)
        if number is None:
            warnings.append(f"unresolved cross-reference @{label}")
            return f"?\\@{label}"
        return f"[{names[label[:3]]}\u00a0{number}](#{label})"

    body = REF.sub(ref, body)
    return meta, body, warnings


def document_numbers(qmd: Path) -> dict[str, str]:
    """Label -> what a cross-reference to it shows ('Section 2.1', 'Table 3', 'Figure 2') in one
    document, numbered as both renderers number it (used for references between documents)."""
    meta, body = _front_matter(expand_includes(qmd))
    _, sections = _number_sections(body, bool(meta.get("number-sections", True)))
    exhibits = _number_exhibits(body, qmd.parent, {})
    names = {"fig": "Figure", "tbl": "Table"}
    out = {label: f"Section\u00a0{number}" for label, number in sections.items()}
    out.update({label: f"{names[label[:3]]}\u00a0{n}" for label, n in exhibits.items()})
    return out
