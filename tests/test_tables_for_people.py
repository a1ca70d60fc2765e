"""Tables for people: the presentation spec turns names, codes and proportions into labels,
code labels and percentages; no table of the evaluation shows an identifier or a raw code, and
none is wider than the page (PDF: text inside the A4 page; HTML: inside the window)."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from evaluation.report.documents import OUTPUTS
from evaluation.report.presentation import present, value_labels
from evaluation.report.tables import markdown_table

# snake_case names (age_10, years_in_nl, lost_contact, n_baseline), "status = 1", three-decimal
# whole numbers ("3.000")
IDENTIFIER = re.compile(r"^[A-Za-z]+(?:_[A-Za-z0-9]+)+$|^\w+ = \d+$|^\d+\.000$")
A4_WIDTH = 595.3


def looks_raw(text: str) -> bool:
    """A header or cell that is an identifier or a code of a code list with its own label."""
    text = text.strip()
    labels = value_labels()
    is_code = text in labels and labels[text] != text and (text.islower() or text.isupper())
    return bool(IDENTIFIER.match(text)) or (is_code and text not in {"MOH", "IOM"})


def test_spec_turns_proportions_into_percentages_and_months_into_whole_months():
    df = pd.DataFrame(
        {
            "horizon_months": [3.0, 12.0],
            "estimate": [0.0063, 0.1154],
            "ci_low": [0.0013, 0.0811],
            "ci_high": [0.0213, 0.1563],
            "n": [2, 32],
            "N": [319, 319],
            "at_risk": [293, 127],
            "method": ["Aalen–Johansen", "Aalen–Johansen"],
        }
    )
    out = present(df)
    # 0.0063 -> 0.6 %, 0.1154 -> 11.5 %; 3.0 -> "3"; the constant method column goes
    assert list(out["Returned (%)"]) == ["0.6", "11.5"]
    assert list(out["Month"]) == ["3", "12"]
    assert "method" not in out.columns and "Aalen–Johansen" not in markdown_table(df)
    # the interval in one column, in percent: 0.0013–0.0213 -> 0.1–2.1, 0.0811–0.1563 -> 8.1–15.6
    assert list(out["95 % CI (%)"]) == ["0.1–2.1", "8.1–15.6"]
    assert list(out.columns) == [
        "Month",
        "Returned (%)",
        "95 % CI (%)",
        "Returned (n)",
        "Enrolled (N)",
        "Still followed",
    ]


def test_codes_become_labels_from_the_code_lists():
    df = pd.DataFrame({"ended by": ["lost_contact", "coa", "AFG", "sp03"], "n": [9, 8, 7, 6]})
    out = present(df)
    # labels as written in presentation.yaml and data_schemas/codes.yaml
    assert list(out["Ended by"]) == [
        "Lost contact",
        "Reception centre (COA)",
        "Afghanistan",
        "Support point 03 (placeholder)",
    ]


def test_run_together_comparison_columns_become_grouped_readable_ones():
    df = pd.DataFrame(
        {
            "baseline": ["MOH1"],
            "other": ["MOH2"],
            "n_baseline": [51],
            "N_baseline": [148],
            "rate_baseline": [34.46],
            "n_other": [58],
            "N_other": [161],
            "rate_other": [36.02],
            "difference": [1.56],
            "ci_low": [-9.04],
            "ci_high": [12.06],
            "mdd_80": [15.69],
        }
    )
    out = present(df)
    assert list(out.columns) == [
        "Baseline",
        "Compared",
        "Baseline: returned",
        "Compared: returned",
        "Difference (pp)",
        "95 % CI (pp)",
        "MDD (pp)",
    ]
    assert out.iloc[0]["Baseline: returned"] == "51 of 148 (34.5 %)"
    assert out.iloc[0]["95 % CI (pp)"] == "\u22129.0 to 12.1"


def test_the_checker_flags_identifiers_and_codes():
    assert looks_raw("age_10") and looks_raw("n_baseline") and looks_raw("status = 1")
    assert looks_raw("lost_contact") and looks_raw("coa") and looks_raw("3.000")
    assert not looks_raw("Lost contact") and not looks_raw("MOH1") and not looks_raw("34.5 %")


# --------------------------------------------------------------------------- the real report


# the annex's reference part starts here: validation report, plan, data dictionary, exhibit
# list and provenance name columns, files and cell labels as they are
ANNEX_REFERENCE = 'id="sec-validation"'


def _evaluation_tables(report: Path) -> list[tuple[str, list[list[str]]]]:
    """(caption, rows of cells) of every table of results: the whole evaluation and the detailed
    results of the annex (before its reference part)."""
    annex = (report / OUTPUTS["annex"]["html"]).read_text(encoding="utf-8")
    raw = (report / OUTPUTS["index"]["html"]).read_text(encoding="utf-8")
    raw += annex[: annex.index(ANNEX_REFERENCE)]
    out = []
    for t in re.findall(r"<table.*?</table>", raw, re.S):
        cap = re.search(r"<caption.*?</caption>", t, re.S)
        cells = [
            [
                " ".join(html.unescape(re.sub(r"<[^>]+>", " ", c)).split())
                for c in re.findall(r"<t[hd]\b.*?</t[hd]>", row, re.S)
            ]
            for row in re.findall(r"<tr.*?</tr>", t, re.S)
        ]
        out.append((re.sub(r"<[^>]+>", "", cap.group(0))[:60] if cap else "", cells))
    return out


def test_no_table_shows_an_identifier_or_a_raw_code(report_build):
    tables = _evaluation_tables(report_build / "report")
    assert len(tables) > 30
    raw = [
        (caption, cell)
        for caption, rows in tables
        for row in rows
        for cell in row
        if looks_raw(cell)
    ]
    assert raw == [], f"identifiers or raw codes in tables: {raw[:10]}"


@pytest.mark.parametrize("doc", list(OUTPUTS))
def test_no_table_is_wider_than_the_pdf_page(report_build, tmp_path, doc):
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) not installed")
    bbox = tmp_path / "bbox.html"
    pdf = report_build / "report" / OUTPUTS[doc]["pdf"]
    subprocess.run(["pdftotext", "-bbox", str(pdf), str(bbox)], check=True)
    words = re.findall(r'xMax="([\d.]+)"[^>]*>([^<]*)<', bbox.read_text(encoding="utf-8"))
    outside = [(w, float(x)) for x, w in words if float(x) > A4_WIDTH - 15]
    assert outside == [], f"text past the right edge of the page: {outside[:10]}"


@pytest.mark.parametrize("doc", list(OUTPUTS))
def test_no_table_is_wider_than_the_html_page(report_build, tmp_path, doc):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("no headless Chromium to lay out the HTML")
    page = tmp_path / "index.html"
    probe = (
        "<script>window.addEventListener('load',()=>{const w=document.documentElement.clientWidth;"
        "const wide=[...document.querySelectorAll('table')].filter(t=>t.getBoundingClientRect()"
        ".right>w+1).map(t=>(t.querySelector('caption')||t).textContent.slice(0,50));"
        "document.body.setAttribute('data-wide',JSON.stringify(wide));});</script>"
    )
    page.write_text(
        (report_build / "report" / OUTPUTS[doc]["html"])
        .read_text(encoding="utf-8")
        .replace("</body>", probe + "</body>"),
        encoding="utf-8",
    )
    res = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--window-size=1024,768",
            "--virtual-time-budget=5000",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    m = re.search(r'data-wide="([^"]*)"', res.stdout)
    assert m, f"Chromium did not lay out the page: {res.stderr[-500:]}"
    assert html.unescape(m.group(1)) == "[]", f"tables wider than the page: {m.group(1)}"


def test_model_terms_read_as_words_in_the_forest_plot():
    """Forest-plot labels come from the presentation spec, not the model's variable names."""
    from evaluation.report.plots.conversion import forest

    table = pd.DataFrame(
        {
            "term": ["age_10", "household_type: couple"],
            "variable": ["age_10", "household_type"],
            "level": ["", "couple"],
            "reference": ["", "single"],
            "estimate": [1.2, 0.8],
            "ci_low": [0.9, 0.5],
            "ci_high": [1.6, 1.3],
        }
    )
    fig = forest(table, "Odds ratio")
    shown = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    # bottom to top as drawn: the first row of the table is at the top
    assert sorted(shown) == ["Age (per 10 years)", "Household: couple (vs single)"]
    assert not any(looks_raw(w) for label in shown for w in label.split())


def test_model_sentences_name_the_outcome_in_words():
    """No 'status = 1' or column name: the Cox model's outcome is the time to verified return."""
    from types import SimpleNamespace

    from evaluation.report.conversion_text import model_sentence

    cox = SimpleNamespace(
        kind="cox", outcome="status = 1", ok=False, n=134, events=48, reason="too few events",
        ratio_name="hazard ratio",
    )  # fmt: skip
    assert model_sentence(cox, "returned") == (
        "No cause-specific Cox model is reported for the time to verified return "
        "(134 clients, 48 events): too few events. The table shows descriptive rates instead."
    )
    logit = SimpleNamespace(
        kind="logistic", outcome="referred", ok=True, n=300, events=120, reason=None,
        ratio_name="odds ratio",
    )  # fmt: skip
    assert model_sentence(logit, "referred") == (
        "A logistic regression of referral to a return organisation on 300 clients (120 events) "
        "gives odds ratios with 95 % Wald intervals."
    )


def test_model_sentence_without_counts_for_a_fitted_model():
    """A fitted model whose counts are withheld (reason None) prints no count and no reason;
    an unfitted one gives its reason in words (the 10^5 bench crashed on the first case)."""
    from types import SimpleNamespace

    from evaluation.report.conversion_text import model_sentence

    cox = SimpleNamespace(
        kind="cox", outcome="status = 1", ok=True, n=9134, events=2048, reason=None,
        ratio_name="hazard ratio",
    )  # fmt: skip
    assert model_sentence(cox, "returned", counts_shown=False) == (
        "A cause-specific Cox model of the time to verified return gives hazard ratios with 95 % "
        "Wald intervals (its numbers of clients and events are withheld by the disclosure check)."
    )
    failed = SimpleNamespace(**{**vars(cox), "ok": False, "reason": "household_type = couple"})
    assert model_sentence(failed, "returned", instead="", counts_shown=False) == (
        "No cause-specific Cox model is reported for the time to verified return: Household: "
        "couple (its numbers of clients and events are withheld by the disclosure check)."
    )


def test_no_figure_whose_every_bar_is_withheld():
    """A funnel or a chart of shares where every group is below the threshold draws nothing
    (the notebook says so in a sentence); one group above it is drawn."""
    import matplotlib

    matplotlib.use("Agg")
    from evaluation.report.plots.conversion import descriptive_rates, funnel

    # 3 of 40 and 38 of 40: n or N − n below 5, withheld (worked out by hand)
    small = pd.DataFrame(
        {"step": ["Enrolled", "Referred", "Returned"], "n": [40, 3, 38], "N": [40, 40, 40],
         "estimate": [1, 3 / 40, 38 / 40], "ci_low": [1, 0.02, 0.8], "ci_high": [1, 0.2, 0.99]}
    )  # fmt: skip
    assert funnel(small, threshold=5) is None
    shown = small.assign(n=[40, 12, 38], estimate=[1, 0.3, 0.95])
    assert funnel(shown, threshold=5) is not None
    desc = pd.DataFrame(
        {"variable": ["sex", "sex"], "level": ["female", "male"], "n": [2, 3], "N": [9, 30]}
    )
    assert descriptive_rates(desc, threshold=5) is None
    fig = descriptive_rates(desc.assign(n=[2, 12]), threshold=5)
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["Sex: male"]


def test_support_points_show_published_rates_and_name_the_rest():
    """Rows with a published return rate stay; a withheld row leaves the table for a sentence
    (with its enrolments where published); an all-withheld total goes; no cell is added."""
    from evaluation.report.organisation import support_points_shown

    table = pd.DataFrame(
        {
            "Support point": ["sp01", "sp02", "sp03", "Total"],
            "Returned": [13, "x", "x", "x"],
            "Not returned": [32, "x", 5, "x"],
            "Enrolled": [45, 14, "x", "x"],
            "Return rate (%)": [28.9, "x", "x", "x"],
        }
    )
    kept, said = support_points_shown(table)
    assert kept["Support point"].tolist() == ["sp01"]
    assert "x" not in kept.astype(str).to_numpy()
    assert said == (
        "At 2 further support points the returns are withheld (too few, or they would reveal "
        "a withheld count), so the table leaves them out. Clients they enrolled: 14 at Support "
        "point 02 (placeholder). At Support point 03 (placeholder) the enrolments are withheld "
        "too."
    )
    # a published total stays, as the last row
    table.loc[3, ["Returned", "Not returned", "Enrolled", "Return rate (%)"]] = [40, 60, 100, 40.0]
    assert support_points_shown(table)[0]["Support point"].tolist() == ["sp01", "Total"]


def test_model_reasons_name_variables_in_words():
    from evaluation.report.conversion_text import readable_reason

    reason = "too few clients in one cell: household_type = family (4+) has 2 events and 6"
    # household_type is labelled "Household" in presentation.yaml
    assert readable_reason(reason) == (
        "too few clients in one cell: Household: family (4+) has 2 events and 6"
    )


def test_a_table_wider_than_the_page_narrows_its_text_columns_not_its_numbers():
    """Relative widths (pandoc reads the dashes), worked by hand. Two text columns of 30
    characters (33 with padding) and two numeric columns of 15 ('-26.4 to -5.8' + 2; 18 with
    padding) make 102 > 90: the numbers keep 18 each, the text columns share the 54 left, 27
    each. With six numeric columns (108) nothing is left: the text columns fall to their
    longest word ('explanation', 11; 14 with padding)."""
    from evaluation.report.tables import PAGE_CHARACTERS

    assert PAGE_CHARACTERS == 90
    text = "a long explanation of what was done " * 2
    interval = "−26.4 to −5.8"

    def dashes(numeric_columns):
        cols = {"Analysis": [text], "Note": [text]}
        cols |= {f"v{i}": [interval] for i in range(numeric_columns)}
        rule = markdown_table(pd.DataFrame(cols), raw=True).splitlines()[1]
        return [len(part.strip(":")) for part in rule.strip("|").split("|")]

    assert dashes(2) == [27, 27, 18, 18]
    # a value with its interval is text to pandoc but keeps its width like a number (20 + 3):
    # 33 + 23 + 33 + 18 + 18 = 125; the prose shares 90 - 59 = 31, 16 each with padding
    cols = {"Indicator": [text], "Value": ["38.6 % (33.4–44.0 %)"], "Note": [text],
            "v0": [interval], "v1": [interval]}  # fmt: skip
    rule = markdown_table(pd.DataFrame(cols), raw=True).splitlines()[1]
    assert [len(part.strip(":")) for part in rule.strip("|").split("|")] == [16, 23, 16, 18, 18]
    assert dashes(6) == [14, 14, *[18] * 6]
    # a table that fits keeps its widths: text at its length (up to 30), numbers + 2, each + 3
    small = markdown_table(pd.DataFrame({"Step": ["Enrolled"], "n": [12]}), raw=True)
    assert [len(p.strip(":")) for p in small.splitlines()[1].strip("|").split("|")] == [11, 7]


def test_sensitivity_intervals_read_as_one_range():
    from evaluation.report.estimand_text import sensitivity_table

    table = pd.DataFrame({"id": [1, 2, 3], "estimand": ["e"] * 3, "analysis": ["a"] * 3,
                          "group": ["MOH2 – MOH1"] * 3, "baseline": [0.335, "x", None],
                          "other": [0.174, "x", None], "estimate": [-0.161, "x", 0.205],
                          "ci_low": [-0.264, "x", None], "ci_high": [-0.058, "x", None],
                          "N": ["148 / 152", "x", "0 / 40"],
                          "note": ["", "", "no contrast"]})  # fmt: skip
    lines = sensitivity_table(table).splitlines()
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    assert header[5:7] == ["Estimate (% or points)", "95 % CI"] and "CI low" not in header
    cells = [[c.strip() for c in line.strip("|").split("|")] for line in lines[2:]]
    assert [row[6] for row in cells] == ["−26.4 to −5.8", "x", ""]
