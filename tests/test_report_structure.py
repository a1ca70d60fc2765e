"""The fallback renderer's report against its .qmd sources: every numbered section, every
embedded figure and table with its number, native Word tables, resolved cross-references and
the synthetic-data banner."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from textutil import docx_table_count, docx_text, html_text

ROOT = Path(__file__).resolve().parents[1]
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*(\{[^}]*\})?\s*$")
REF = re.compile(r"(?<![\w@])@((?:fig|tbl|sec)-[\w-]*\w)")
INLINE_TABLE = re.compile(r"^:\s.*\{#(tbl-[\w-]+)\}\s*$")


@pytest.fixture(scope="module")
def sources(default_build, tmp_path_factory) -> tuple[str, Path]:
    """The expanded Quarto source exactly as staged for the default build's render."""
    from evaluation import config
    from evaluation.pipeline.run import stage_report
    from evaluation.report.embed import expand_includes

    stage = tmp_path_factory.mktemp("stage")
    cfg = config.load(ROOT / "evaluation.yml")
    stage_report(cfg, (default_build / "results").resolve().parent, stage)
    index = stage / "reports" / "index.qmd"
    return expand_includes(index), index.parent


@pytest.fixture(scope="module")
def html(default_build) -> str:
    return (default_build / "report" / "index.html").read_text(encoding="utf-8")


def expected_sections(text: str) -> dict[str, tuple[int, str]]:
    """sec- id -> (heading level, number), counted here the way number-sections numbers."""
    counters = [0] * 6
    out: dict[str, tuple[int, str]] = {}
    fence = False
    for line in text.splitlines():
        if line.startswith("```"):
            fence = not fence
        m = HEADING.match(line)
        if fence or not m or ".unnumbered" in (m.group(3) or ""):
            continue
        level = len(m.group(1))
        counters[level - 1] += 1
        counters[level:] = [0] * (6 - level)
        ident = re.search(r"#(sec-[\w-]+)", m.group(3) or "")
        if ident:
            out[ident.group(1)] = (level, ".".join(str(c) for c in counters[:level]))
    return out


def expected_exhibits(text: str, base: Path) -> list[tuple[str, str]]:
    """(label, 'Figure N' / 'Table N') in order of appearance: embedded cells that show a
    figure or table, and tables captioned inline in the sources."""
    from evaluation.report.chapters import shows_exhibit
    from evaluation.report.embed import EMBED, read_notebook

    found: list[tuple[int, str]] = []
    notebooks: dict[Path, object] = {}
    for m in EMBED.finditer(text):
        path = (base / m.group(1)).resolve()
        nb = notebooks.setdefault(path, read_notebook(path))
        cell = nb.cells[m.group(2)]
        if shows_exhibit(cell.label, cell.outputs):
            found.append((m.start(), cell.label))
    offset = 0
    for line in text.splitlines(keepends=True):
        m = INLINE_TABLE.match(line.rstrip("\n"))
        if m:
            found.append((offset, m.group(1)))
        offset += len(line)
    counts = {"fig": 0, "tbl": 0}
    out = []
    for _, label in sorted(found):
        counts[label[:3]] += 1
        out.append((label, f"{'Figure' if label[:3] == 'fig' else 'Table'} {counts[label[:3]]}"))
    return out


def test_every_numbered_section_appears_with_its_number(sources, html):
    text, _ = sources
    sections = expected_sections(text)
    assert {
        "sec-summary",
        "sec-methods",
        "sec-reconciliation",
        "sec-amif",
        "sec-conclusions",
        "sec-provenance",
        "sec-glossary",
        "sec-organisation",
    } <= set(sections)
    for ident, (level, number) in sections.items():
        tag = f'<h{level} data-number="{number}" id="{ident}">'
        assert tag in html, f"section {ident} should be heading {number}"


def test_every_figure_and_table_is_there_with_its_number(sources, html):
    text, base = sources
    exhibits = expected_exhibits(text, base)
    figures = [e for e in exhibits if e[0].startswith("fig-")]
    tables = [e for e in exhibits if e[0].startswith("tbl-")]
    assert len(figures) >= 10 and len(tables) >= 20
    for label, number in figures:
        m = re.search(rf'<figure id="{label}">(.*?)</figure>', html, re.S)
        assert m, f"{label} missing"
        assert "<img" in m.group(1) and f"{number}:" in m.group(1), f"{label} is not {number}"
    for label, number in tables:
        assert re.search(rf'<table id="{label}"[^>]*>\s*<caption>{number}:', html), (
            f"{label} should be a table captioned '{number}:'"
        )


def test_docx_has_one_native_table_per_html_table(default_build, html):
    n_html = len(re.findall(r"<table\b", html))
    assert n_html >= 20
    assert docx_table_count(default_build / "report" / "evaluation.docx") == n_html


def test_every_cross_reference_is_resolved(sources, html, default_build):
    text, _ = sources
    refs = set(REF.findall(text))
    assert {"sec-conclusions", "tbl-reconciliation", "tbl-amif"} <= refs
    for label in refs:
        assert f'href="#{label}"' in html, f"@{label} does not link anywhere"
    assert "?@" not in html_text(default_build / "report" / "index.html")
    assert "?@" not in docx_text(default_build / "report" / "evaluation.docx")


def test_synthetic_banner_in_every_format(default_build, html):
    from pypdf import PdfReader

    from evaluation.pipeline.run import SYNTHETIC_BANNER

    assert SYNTHETIC_BANNER in html_text(default_build / "report" / "index.html")
    assert "Synthetic data" in docx_text(default_build / "report" / "evaluation.docx")
    pages = PdfReader(default_build / "report" / "evaluation.pdf").pages
    banner = re.sub(r"\s+", "", SYNTHETIC_BANNER)
    assert all(banner in re.sub(r"\s+", "", p.extract_text() or "") for p in pages)
