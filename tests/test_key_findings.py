"""The executive summary's key findings and the `{{< metric >}}` references of hand-written
chapters: values worked out by hand from the metrics, small cells withheld, the summary short
(at most two A4 pages) with no number repeated between its paragraphs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from textutil import pdf_pages

from evaluation.errors import ExecutionError
from evaluation.report.metric_refs import format_metric, resolve

ROOT = Path(__file__).resolve().parents[1]
RATE = {"estimate": 51 / 148, "ci_low": 0.2728, "ci_high": 0.4242, "n": 51, "N": 148}
DIFF = {"estimate": 0.0157, "ci_low": -0.0904, "ci_high": 0.1206, "n": [58, 51], "N": [161, 148]}
EUROS = {"estimate": 1453.9, "ci_low": 1174.9, "ci_high": 1732.9, "n": 51, "N": 148}


def test_a_rate_reads_with_interval_and_n_of_N():
    # 51 / 148 = 0.34459 -> 34.5 %; 0.2728 -> 27.3; 0.4242 -> 42.4
    assert format_metric("moh1.return_rate", RATE) == "34.5 % (95 % CI 27.3–42.4 %; 51 of 148)"
    assert format_metric("moh1.return_rate", RATE, "estimate") == "34.5 %"
    assert format_metric("moh1.return_rate", RATE, "n_of_N") == "51 of 148"


def test_differences_are_signed_percentage_points_and_amounts_euros():
    assert format_metric("a_vs_b.return_rate_diff", DIFF, "estimate") == "+1.6 percentage points"
    assert format_metric("a_vs_b.return_rate_diff", DIFF, "interval") == (
        "95 % CI \u22129.0 to +12.1"
    )
    assert format_metric("moh1.support_eur_per_return", EUROS, "estimate") == "€1,454"
    assert format_metric("moh1.durability_12m", {"worst": RATE}, "worst").startswith("34.5 %")


def test_an_unknown_metric_stops_with_its_name_and_an_absent_project_says_so():
    text = "Returned: {{< metric moh1.return_rate estimate >}}."
    assert resolve(text, {"moh1.return_rate": RATE}) == "Returned: 34.5 %."
    with pytest.raises(ExecutionError, match="moh1.retrun_rate"):
        resolve("{{< metric moh1.retrun_rate >}}", {"moh1.return_rate": RATE}, "x.qmd")
    with pytest.raises(ExecutionError, match="no part 'median'"):
        resolve("{{< metric moh1.return_rate median >}}", {"moh1.return_rate": RATE})
    out = resolve("{{< metric moh2.return_rate >}}", {}, absent=frozenset({"moh2"}))
    assert out == "(no MOH2 result: not evaluated in this run)"


def test_a_project_without_records_or_a_withheld_metric_reads_as_such_and_typos_still_stop():
    empty = {"moh1.nothing_to_evaluate": {"reason": "no enrolments"}, "moh2.return_rate": RATE}
    assert resolve("{{< metric moh1.return_rate >}}", empty) == (
        "(no MOH1 result: no records in this data)"
    )
    assert resolve("{{< metric moh1_vs_moh2.return_rate_diff >}}", empty) == (
        "(no MOH1 result: no records in this data)"
    )
    withheld = frozenset({"moh2.durability_12m"})
    assert resolve("{{< metric moh2.durability_12m >}}", {}, withheld=withheld) == (
        "(withheld by disclosure control)"
    )
    with pytest.raises(ExecutionError, match="moh2.retrun_rate"):
        resolve("{{< metric moh2.retrun_rate >}}", empty, withheld=withheld)


def test_key_findings_withhold_small_cells():
    from evaluation import config
    from evaluation.report import key_findings as kf
    from evaluation.report.matrix import load_matrix

    cfg = config.load(ROOT / "evaluation.yml")
    metrics = {
        "enh.referral_rate": {**RATE, "n": 3, "N": 319},  # 3 people: a small cell
        "moh1.return_rate": {**RATE, "n": 145, "N": 148},  # 3 did not return: small too
        "moh2.return_rate": RATE,
    }
    table = kf.key_findings(load_matrix(), cfg, metrics, kf.load_indicator_display(), 5)
    by = dict(zip(table["Indicator"], table["Value (95 % CI)"], strict=True))
    assert by["ENH: referred to a return organisation"] == "withheld (small count)"
    assert by["MOH1: verified return"] == "withheld (small count)"
    assert by["MOH2: verified return"] == "34.5 % (27.3–42.4 %)"


# --------------------------------------------------------------------------- the real report


def _summary_html(build: Path) -> str:
    raw = (build / "report" / "index.html").read_text(encoding="utf-8")
    start = raw.index('id="sec-summary"')
    end = raw.index('id="sec-context"')
    return raw[start:end]


def _text(fragment: str) -> str:
    import html

    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def test_key_findings_table_shows_the_metrics(report_build):
    metrics = json.loads((report_build / "results" / "metrics.json").read_text())
    body = _summary_html(report_build)
    table = re.search(r"<table.*?</table>", body, re.S).group(0)
    rows = [
        [_text(c) for c in re.findall(r"<td.*?</td>", r, re.S)]
        for r in re.findall(r"<tr.*?</tr>", table, re.S)
    ]
    rows = {r[1]: r for r in rows if r}
    for key, label in [
        ("moh1.return_rate", "MOH1: verified return"),
        ("enh.referral_rate", "ENH: referred to a return organisation"),
    ]:
        m = metrics[key]
        want = f"{100 * m['estimate']:.1f} % ({100 * m['ci_low']:.1f}–{100 * m['ci_high']:.1f} %)"
        assert rows[label][2] == want
        assert rows[label][3] == f"{m['n']} of {m['N']}"


def test_no_number_is_repeated_between_summary_paragraphs(report_build):
    body = re.sub(r"<table.*?</table>", " ", _summary_html(report_build), flags=re.S)
    seen: dict[str, int] = {}
    for i, para in enumerate(re.findall(r"<p\b.*?</p>", body, re.S)):
        text = re.sub(
            r"\b(?:Sections?|Tables?|Figures?)\s+\d+(?:\.\d+)*|\b95 %|\b\d+\s+months?\b",
            " ",
            _text(para),
        )
        for number in set(re.findall(r"(?<![\w.,])\d+(?:[.,]\d+)*(?!\w)", text)):
            assert number not in seen, f"{number} is in summary paragraphs {seen[number]} and {i}"
            seen[number] = i


def test_summary_fits_two_pdf_pages_and_its_heading_is_not_alone(report_build):
    pages = pdf_pages(report_build / "report" / "evaluation.pdf")
    heading = re.compile(r"^\s*1\s+Executive summary\s*$", re.M)
    start = next(i for i, t in enumerate(pages) if heading.search(t) and "....." not in t)
    end = next(i for i, t in enumerate(pages) if re.search(r"^\s*2\s+The projects", t, re.M))
    assert end - start + 1 <= 2, f"the executive summary runs over pages {start + 1}–{end + 1}"
    after = pages[start][heading.search(pages[start]).end() :]
    assert len(after.split()) > 40, "the summary heading sits at the foot of its page"
