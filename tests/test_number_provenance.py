"""Every number in the rendered report must come from the results files or the published
figures: a number typed into a .qmd by hand makes this test fail."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest
from textutil import html_text

ROOT = Path(__file__).resolve().parents[1]
# a run of digits, possibly with thousands commas (74,149) or dotted (38.6, 3.11.7), not glued
# to letters or other digits
NUMBER = re.compile(r"(?<![\w.,])(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)*(?!\w)")
# in results files a comma separates fields, never thousands
FIELD_NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)*(?!\w)")
# The only numbers a reader sees that are not results; each is removed before checking.
STRUCTURAL = [
    # numbers of sections, figures and tables, in references and captions
    re.compile(r"\b(?:Sections?|Figures?|Tables?)\s+\d+(?:\.\d+)*"),
    # the confidence level of every interval in the report
    re.compile(r"\b95\s*%"),
    # monitoring windows and time horizons (1, 3, 6, 12 months; 24 on the time axes)
    re.compile(r"\b(?:1|3|6|9|12|18|24)\s+months?\b"),
    # the name of the hash algorithm
    re.compile(r"SHA-256", re.I),
]
# heading numbers in the body and the table of contents (pandoc's number-sections spans)
SECTION_SPANS = re.compile(r'<span class="(?:header|toc)-section-number">[^<]*</span>')


class Pool:
    """Every number in the results files, as printed text and as values."""

    def __init__(self, texts: list[str]) -> None:
        self.raw: set[str] = set()
        values: set[float] = set()
        for text in texts:
            for tok in FIELD_NUMBER.findall(text):
                self.raw.add(tok)
                if tok.count(".") <= 1:
                    values.add(float(tok))
        self.printed: dict[int, set[str]] = {
            d: {f"{v:.{d}f}" for v in values} | {f"{100 * v:.{d}f}" for v in values}
            for d in range(7)
        }

    def explains(self, token: str) -> bool:
        """True if some results value prints as token at its precision (also as a percentage)."""
        token = token.replace(",", "")
        if token in self.raw:
            return True
        if token.count(".") > 1:  # a version string must appear verbatim
            return False
        decimals = len(token.split(".")[1]) if "." in token else 0
        return decimals in self.printed and token in self.printed[decimals]


def strip_structural(text: str) -> str:
    """The text with the allowed structural numbers removed."""
    for pattern in STRUCTURAL:
        text = pattern.sub(" ", text)
    return text


def unexplained(text: str, pool: Pool) -> list[str]:
    """Numbers in the text that no results file or published figure accounts for."""
    return sorted({t for t in NUMBER.findall(strip_structural(text)) if not pool.explains(t)})


def report_text(html_path: Path) -> str:
    """Visible text of the HTML report without the heading numbers."""
    with tempfile.TemporaryDirectory() as tmp:
        cleaned = Path(tmp) / "report.html"
        cleaned.write_text(
            SECTION_SPANS.sub(" ", html_path.read_text(encoding="utf-8")), encoding="utf-8"
        )
        return html_text(cleaned)


def results_pool(build: Path) -> Pool:
    """Numbers of build/results (CSV, JSON and the run record), the published figures and the
    code lists."""
    results = (build / "results").resolve()
    files = [p for p in results.rglob("*") if p.suffix in (".csv", ".json", ".tsv")]
    files.append(ROOT / "data" / "published" / "figures.csv")
    # the code lists tables label codes with (support point names, countries): declared input
    files.append(ROOT / "data_schemas" / "codes.yaml")
    return Pool([p.read_text(encoding="utf-8") for p in files])


# --------------------------------------------------------------------------- the checker itself


def test_checker_reads_thousands_separators_as_one_number():
    pool = Pool(["eur\n1453.898824\n74148.84\n"])
    assert unexplained("€1,454 per return, €74,149 in all", pool) == []
    assert unexplained("€1,455 per return", pool) == ["1,455"]


def test_checker_accepts_rounded_values_and_percentages_only():
    pool = Pool(["rate,n\n0.38557993730407525,123\n", '{"v": "3.11.7"}'])
    text = "Referred: 38.6 % (123 of 319), share 0.39, python 3.11.7, numpy 2.4.6."
    # 38.6 = 100 * 0.3856 at one decimal; 0.39 = 0.3856 at two; 123 and 3.11.7 verbatim
    assert unexplained(text, pool) == ["2.4.6", "319"]


def test_checker_ignores_only_the_listed_structural_numbers():
    pool = Pool(["x\n7\n"])
    text = "See Section 10.2 and Table 31: 95 % CI at 12 months; also 13 months and 96 %."
    assert unexplained(text, pool) == ["13", "96"]


# --------------------------------------------------------------------------- the real report


@pytest.mark.parametrize("name", ["index.html", "annex.html"])
def test_every_number_in_the_report_comes_from_results(default_build, name):
    """The evaluation and its technical annex alike."""
    pool = results_pool(default_build)
    missing = unexplained(report_text(default_build / "report" / name), pool)
    assert missing == [], f"numbers in {name} not found in any results file: {missing}"


def test_a_number_typed_into_a_qmd_is_caught(default_build, tmp_path):
    """Plant a typed number and a metric reference in a staged copy of the evaluator's
    recommendations chapter, render it with the fallback, and check: only the typed number is
    unexplained (the reference prints the metric from metrics.json)."""
    import json

    from evaluation import config
    from evaluation.pipeline.run import stage_report
    from evaluation.report import metric_refs, render

    cfg = config.load(ROOT / "evaluation.yml")
    run_dir = (default_build / "results").resolve().parent
    stage = tmp_path / "stage"
    stage_report(cfg, run_dir, stage)
    chapter = stage / "reports" / "_recommendations.qmd"
    assert "{{< metric" not in chapter.read_text(encoding="utf-8"), "references left unresolved"
    chapter.write_text(
        chapter.read_text(encoding="utf-8")
        + "\nThe project helped 8461.7 people; MOH2 returned {{< metric moh2.return_rate >}}.\n",
        encoding="utf-8",
    )
    metrics = json.loads((default_build / "results" / "metrics.json").read_text())
    metric_refs.resolve_tree(stage / "reports", metrics)
    out = tmp_path / "out"
    render.render_pandoc(stage, out, ("html",), stems=("index",))
    pool = results_pool(default_build)
    before = set(unexplained(report_text(default_build / "report" / "index.html"), pool))
    text = report_text(out / "index.html")
    rate = metrics["moh2.return_rate"]
    assert f"MOH2 returned {100 * rate['estimate']:.1f} %" in text
    after = set(unexplained(text, pool))
    assert after - before == {"8461.7"}
