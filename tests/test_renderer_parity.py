"""Quarto and the pandoc fallback give the same report: the same numbered sections, figures and
tables, the same cross-references with the same numbers, and the same headline numbers in the
text, in HTML, Word and PDF. Skipped when the Quarto CLI is not on PATH."""

from __future__ import annotations

import pytest
from report_outline import (
    docx_data_tables,
    docx_exhibits,
    docx_headings,
    docx_xrefs,
    headline_numbers,
    html_exhibits,
    html_sections,
    html_table_count,
    html_xrefs,
    pdf_exhibits,
    report_text,
)

from evaluation.report.documents import OUTPUTS

pytestmark = pytest.mark.e2e

# per document (the evaluation, its annex): least numbers of sections and cross-references
LEAST = {"index": (25, 40), "annex": (10, 15)}


@pytest.fixture(scope="module", params=list(OUTPUTS))
def doc(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def names(doc) -> dict[str, str]:
    """The output file names of the document."""
    return OUTPUTS[doc]


@pytest.fixture(scope="module")
def pair(default_build, quarto_build):
    """(fallback report folder, Quarto report folder) of the same executed notebooks."""
    return default_build / "report", quarto_build / "report"


def test_html_same_sections_exhibits_and_cross_references(pair, names, doc):
    pandoc, quarto = (d / names["html"] for d in pair)
    assert html_sections(quarto) == html_sections(pandoc)
    assert len(html_sections(pandoc)) >= LEAST[doc][0]
    assert html_exhibits(quarto) == html_exhibits(pandoc)
    assert html_table_count(quarto) == html_table_count(pandoc)
    xrefs = html_xrefs(pandoc)
    assert len(xrefs) >= LEAST[doc][1]
    assert html_xrefs(quarto) == xrefs


def test_docx_same_headings_exhibits_and_cross_references(pair, names, doc):
    pandoc, quarto = (d / names["docx"] for d in pair)
    headings = docx_headings(pandoc)
    assert len(headings) >= LEAST[doc][0]
    assert docx_headings(quarto) == headings
    assert docx_exhibits(quarto) == docx_exhibits(pandoc)
    assert docx_data_tables(quarto) == docx_data_tables(pandoc)
    assert docx_xrefs(quarto) == docx_xrefs(pandoc)


def test_every_format_numbers_the_exhibits_as_the_html_does(pair, names):
    """Each renderer's Word and PDF captions follow the numbering of its HTML."""
    for folder in pair:
        numbers = [number for _, number in html_exhibits(folder / names["html"])]
        assert docx_exhibits(folder / names["docx"]) == numbers, folder
        assert pdf_exhibits(folder / names["pdf"]) == numbers, folder


@pytest.mark.parametrize("fmt", ["html", "docx", "pdf"])
def test_same_headline_numbers_in_the_text(pair, fmt, names, doc):
    pandoc, quarto = (report_text(d / names[fmt]) for d in pair)
    expected = headline_numbers(pandoc)
    assert sum(expected.values()) >= {"index": 50, "annex": 20}[doc]
    assert headline_numbers(quarto) == expected
