"""Each renderer's report against its .qmd sources: every numbered section, every embedded
figure and table with its number, native Word tables, resolved cross-references, A4 PDF with
numbered headings, no link to a missing file, and the synthetic-data banner. Runs once per
renderer available (the pandoc fallback always, Quarto when its CLI is on PATH)."""

from __future__ import annotations

import re
import zipfile
from html import unescape
from pathlib import Path

import pytest
from report_outline import (
    docx_data_tables,
    html_exhibits,
    html_sections,
    html_table_count,
    html_xrefs,
)
from textutil import docx_text, html_text, pdf_pages, pdf_text

from evaluation.report.documents import OUTPUTS

ROOT = Path(__file__).resolve().parents[1]
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*(\{[^}]*\})?\s*$")
REF = re.compile(r"(?<![\w@])@((?:fig|tbl|sec)-[\w-]*\w)")
INLINE_TABLE = re.compile(r"^:\s.*\{#(tbl-[\w-]+)\}\s*$")
A4 = (595.3, 841.9)  # points


# per document: sections and exhibits it must have, the least number of figures and tables
EXPECTED = {
    "index": (
        {
            "sec-summary",
            "sec-methods",
            "sec-reconciliation",
            "sec-amif",
            "sec-conclusions",
            "sec-organisation",
            "sec-recommendations",
        },
        10,
        20,
    ),
    "annex": (
        {
            "sec-annex-results",
            "sec-validation",
            "sec-plan",
            "sec-dictionary",
            "sec-exhibits",
            "sec-provenance",
            "sec-glossary",
        },
        3,
        15,
    ),
}


@pytest.fixture(scope="module", params=list(OUTPUTS))
def doc(request) -> str:
    """The document checked: the evaluation ('index') or its technical annex ('annex')."""
    return request.param


@pytest.fixture(scope="module")
def staged(report_build, tmp_path_factory) -> Path:
    """reports/ exactly as staged for the build's render."""
    from evaluation import config
    from evaluation.pipeline.run import stage_report

    stage = tmp_path_factory.mktemp("stage")
    cfg = config.load(ROOT / "evaluation.yml")
    stage_report(cfg, (report_build / "results").resolve().parent, stage)
    return stage / "reports"


@pytest.fixture(scope="module")
def sources(staged, doc) -> tuple[str, Path]:
    """The expanded Quarto source of the document exactly as staged for the build's render."""
    from evaluation.report.embed import expand_includes

    return expand_includes(staged / f"{doc}.qmd"), staged


@pytest.fixture(scope="module")
def html(report_build, doc) -> Path:
    return report_build / "report" / OUTPUTS[doc]["html"]


@pytest.fixture(scope="module")
def docx(report_build, doc) -> Path:
    return report_build / "report" / OUTPUTS[doc]["docx"]


@pytest.fixture(scope="module")
def pdf(report_build, doc) -> Path:
    return report_build / "report" / OUTPUTS[doc]["pdf"]


def expected_sections(text: str) -> dict[str, tuple[int, str, str]]:
    """sec- id -> (heading level, number, title), counted the way number-sections numbers."""
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
            number = ".".join(str(c) for c in counters[:level])
            out[ident.group(1)] = (level, number, m.group(2))
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
        # tables captioned inside the cell's own Markdown output are numbered where it sits
        md = "\n".join("".join(o.get("data", {}).get("text/markdown", "")) for o in cell.outputs)
        inner = [x.group(1) for x in map(INLINE_TABLE.match, md.splitlines()) if x]
        for k, label in enumerate(x for x in inner if x != cell.label):
            found.append((m.start() + 1 + k, label))
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


def test_every_numbered_section_appears_with_its_number(sources, html, doc):
    text, _ = sources
    sections = expected_sections(text)
    assert EXPECTED[doc][0] <= set(sections)
    shown = html_sections(html)
    for ident, (_, number, _) in sections.items():
        assert shown.get(ident) == number, f"section {ident} should be heading {number}"


def test_every_figure_and_table_is_there_with_its_number(sources, html, doc):
    text, base = sources
    exhibits = expected_exhibits(text, base)
    assert len([e for e in exhibits if e[0].startswith("fig-")]) >= EXPECTED[doc][1]
    assert len([e for e in exhibits if e[0].startswith("tbl-")]) >= EXPECTED[doc][2]
    # exactly these, in this order and with these numbers: notes such as "Table withheld" or
    # "Not applicable" get no number in either renderer
    assert html_exhibits(html) == exhibits
    raw = html.read_text(encoding="utf-8")
    for label, _ in exhibits:
        if label.startswith("fig-"):
            start = raw.index(f'id="{label}"')
            assert "<img" in raw[start : raw.index("</figure>", start)], f"{label} has no image"


def test_docx_has_one_native_table_per_html_table(html, docx, doc):
    n_html = html_table_count(html)
    assert n_html >= EXPECTED[doc][2]
    assert docx_data_tables(docx) == n_html


def test_every_cross_reference_is_resolved(sources, html, docx, doc):
    text, _ = sources
    refs = set(REF.findall(text))
    assert {
        "index": {"sec-conclusions", "tbl-reconciliation", "tbl-amif"},
        "annex": {"tbl-conversion-subgroups-enh", "tbl-comparison-sensitivity"},
    }[doc] <= refs
    linked = {target for target, _ in html_xrefs(html)}
    for label in refs:
        assert label in linked, f"@{label} does not link anywhere"
    assert "?@" not in html_text(html)
    assert "?@" not in docx_text(docx)


def test_references_to_the_other_document_show_its_numbers(staged, report_build, doc):
    """ "Annex Table 3" in the evaluation (and "Evaluation Section 4.1" in the annex) links to
    the label in the other document's HTML file, whose caption or heading carries that number."""
    other = {"index": "annex", "annex": "index"}[doc]
    raw = (report_build / "report" / OUTPUTS[doc]["html"]).read_text(encoding="utf-8")
    target = OUTPUTS[other]["html"]
    links = re.findall(rf'<a\b[^>]*href="{target}#([\w-]+)"[^>]*>(.*?)</a>', raw, re.S)
    assert len(links) >= 5
    theirs = report_build / "report" / target
    sections, exhibits = html_sections(theirs), dict(html_exhibits(theirs))
    title = {"index": "Annex", "annex": "Evaluation"}[doc]
    for label, shown in links:
        words = " ".join(re.sub(r"<[^>]+>", " ", shown).replace("\u00a0", " ").split())
        if label.startswith("sec-"):
            number = f"Section {sections[label]}" if label in sections else None
        else:
            number = exhibits.get(label)
        assert number is not None, f"{label} is not in {target}"
        assert words == f"{title} {number}", (label, words)
    # no reference shortcode is left for either renderer
    assert "xref" not in html_text(report_build / "report" / OUTPUTS[doc]["html"])


def test_word_and_pdf_link_the_other_document_in_their_own_format(docx, pdf, doc):
    """A Word or PDF reader has annex.docx / annex.pdf beside the file, not annex.html."""
    from pypdf import PdfReader

    other = OUTPUTS[{"index": "annex", "annex": "index"}[doc]]
    with zipfile.ZipFile(docx) as z:
        rels = z.read("word/_rels/document.xml.rels").decode("utf-8")
        document = z.read("word/document.xml").decode("utf-8")
    # Word: each hyperlink names a relationship, which holds the target (once per target)
    external = {}
    for m in re.finditer(r"<Relationship\b[^>]*>", rels):
        if 'TargetMode="External"' in m.group(0):
            ident = re.search(r'Id="(\w+)"', m.group(0)).group(1)
            external[ident] = re.search(r'Target="([^"]+)"', m.group(0)).group(1)
    word = [
        external[i] for i in re.findall(r'<w:hyperlink r:id="(\w+)"', document) if i in external
    ]
    uris = [
        str(a.get_object()["/A"].get("/URI", ""))
        for page in PdfReader(pdf).pages
        for a in page.get("/Annots") or []
        if "/A" in a.get_object()
    ]
    for fmt, targets in (("docx", word), ("pdf", uris)):
        assert not [t for t in targets if ".html" in t], (fmt, targets)
        assert targets.count(other[fmt]) >= {"index": 3, "annex": 1}[doc], (fmt, targets)


def test_no_semicolon_right_after_a_cross_reference(sources):
    """typst reads `#ref(..);` as the end of the call and drops the ';' in Quarto's PDF."""
    text, _ = sources
    assert not re.findall(r"(?<![\w@])@(?:fig|tbl|sec)-[\w-]*\w;", text)


def test_html_links_only_to_files_that_exist(html):
    """Self-contained: no link to a local file (Quarto's notebook previews were not shipped)."""
    raw = re.sub(r"<(script|style)\b.*?</\1>", " ", html.read_text(encoding="utf-8"), flags=re.S)
    missing = []
    for target in re.findall(r'(?:href|src)="([^"]*)"', raw):
        if not target or target.startswith(("#", "data:", "http://", "https://", "mailto:")):
            continue
        if not (html.parent / target.split("#")[0]).exists():
            missing.append(target)
    assert not missing, f"links to missing files: {missing[:5]}"
    assert "-preview.html" not in raw


def test_pdf_is_a4_with_numbered_headings(sources, pdf):
    from pypdf import PdfReader

    for page in PdfReader(pdf).pages:
        size = (float(page.mediabox.width), float(page.mediabox.height))
        assert size == pytest.approx(A4, abs=1), size
    flat = " ".join(pdf_text(pdf).split())
    text, _ = sources
    for ident, (_, number, title) in expected_sections(text).items():
        # number and first words (a long title wraps in the table of contents)
        heading = f"{number} {' '.join(re.sub(r'[*_`]', '', title).split()[:4])}"
        # once in the table of contents, once above the section itself
        assert flat.count(heading) >= 2, f"PDF heading '{heading}' ({ident}) missing or unnumbered"


def published_labels() -> set[str]:
    """The exhibits of the real published figures: the labelled cells of published.ipynb."""
    from evaluation.report.embed import read_notebook

    cells = read_notebook(ROOT / "notebooks" / "published.ipynb").cells
    return {label for label in cells if label.startswith(("fig-", "tbl-"))}


def captions(text: str) -> set[str]:
    """'Figure 3'/'Table 12' of each caption in the text ('Table 12: …')."""
    return {f"{m.group(1)} {m.group(2)}" for m in re.finditer(r"(Figure|Table)\s(\d+):", text)}


def test_synthetic_banner_in_every_format(html, docx, pdf, doc):
    """Every page (Word: section) that shows a synthetic case-level exhibit carries the banner;
    only pages of the real published figures carry the published notice instead."""
    from evaluation.pipeline.run import SYNTHETIC_BANNER
    from evaluation.report.banner import PUBLISHED_NOTICE

    exhibits = dict(html_exhibits(html))
    real = {number for label, number in exhibits.items() if label in published_labels()}
    synthetic = set(exhibits.values()) - real
    assert synthetic, "no synthetic exhibit found: the check would pass vacuously"
    flat = lambda t: re.sub(r"\s+", "", t)  # noqa: E731 - pypdf splits words unpredictably
    text = html_text(html)
    assert SYNTHETIC_BANNER in text
    # the published chapter says in HTML, Word and PDF that its figures are real
    assert (PUBLISHED_NOTICE in " ".join(text.split())) == bool(real)

    # PDF: the banner or the notice on every page; the notice only above published exhibits
    noticed = 0
    for number, page in enumerate(pdf_pages(pdf), start=1):
        banner, notice = flat(SYNTHETIC_BANNER) in flat(page), flat(PUBLISHED_NOTICE) in flat(page)
        assert banner != notice, f"page {number}: banner {banner}, published notice {notice}"
        if notice:
            noticed += 1
            shown = captions(" ".join(page.split()))
            assert shown <= real, f"page {number} shows {shown - real} under the published notice"
    assert noticed >= bool(real)

    # Word: each section's page header; sections with synthetic exhibits carry the banner
    with zipfile.ZipFile(docx) as z:
        document = z.read("word/document.xml").decode("utf-8")
        rels = z.read("word/_rels/document.xml.rels").decode("utf-8")
        heads = {}
        for m in re.finditer(r"<Relationship\b[^>]*>", rels):
            ident, target = (
                re.search(r'Id="(\w+)"', m.group(0)),
                re.search(r'Target="([^"]+)"', m.group(0)),
            )
            if "header" in target.group(1):
                xml = z.read("word/" + target.group(1)).decode()
                heads[ident.group(1)] = unescape(re.sub(r"<[^>]+>", "", xml))
    sections = re.split(r"(<w:sectPr\b.*?</w:sectPr>)", document, flags=re.S)
    header = None
    seen = {"banner": set(), "notice": set()}
    for body, props in zip(sections[::2], sections[1::2], strict=False):
        ref = re.search(r'<w:headerReference[^>]*r:id="(\w+)"', props)
        header = heads[ref.group(1)] if ref else header  # a section without one inherits it
        kind = "notice" if header and PUBLISHED_NOTICE in header else "banner"
        assert kind == "notice" or (header and SYNTHETIC_BANNER in header)
        seen[kind] |= captions(re.sub(r"<[^>]+>", "", body))
    assert synthetic <= seen["banner"] and not synthetic & seen["notice"]
    assert seen["notice"] == real


def test_data_notice_turns_into_page_breaks_and_marks():
    from evaluation.report.banner import resolve_notices

    src = "# A\n\ntext\n\n# B {#sec-b}\n\n{{< data-notice published >}}\n\nfigures\n"
    out = resolve_notices(src, "BANNER")
    before, after = out.split("# B {#sec-b}")
    # the break and the mark before the heading (a chapter of its own), the notice under it
    assert before.count("#pagebreak(weak: true)") == 1 and '#metadata("published")' in before
    assert 'r:id="rIdSyntheticBanner"' in before and '<w:type w:val="nextPage"/>' in before
    assert 'class="published-notice"' in after and "figures" in after
    # real case data: no banner, no notice, no break
    assert resolve_notices(src, None).replace("\n", "") == src.replace(
        "{{< data-notice published >}}", ""
    ).replace("\n", "")


def test_the_evaluation_fits_35_pdf_pages(report_build):
    """The evaluation reads for a funder in at most 35 A4 pages; the detail is in the annex."""
    pages = len(pdf_pages(report_build / "report" / OUTPUTS["index"]["pdf"]))
    assert pages <= 35, f"the evaluation has {pages} pages"
    # the annex is a document of its own, not an empty stub
    assert len(pdf_pages(report_build / "report" / OUTPUTS["annex"]["pdf"])) >= 10
