"""`evaluation run` on the default data, read back from the rendered report like a funder would,
once per renderer available (the pandoc fallback always, Quarto when its CLI is on PATH)."""

from __future__ import annotations

import json
import re
import subprocess
import zipfile

import pytest
from conftest import cli_env, run_cli
from textutil import docx_text, html_text, pdf_pages, pdf_text

from evaluation.analysis.rates import wilson

pytestmark = pytest.mark.e2e

# Worked out from the published counts: (n, N) for each headline rate.
HEADLINE = {
    "enh.referral_rate": (46 + 77, 319),
    "enh.referral_rate_moh": (46, 319),
    "enh.referral_rate_other": (77, 319),
    "moh1.return_rate": (51, 148),
}
PERCENT = {
    "enh.referral_rate": "38.6 %",
    "enh.referral_rate_moh": "14.4 %",
    "enh.referral_rate_other": "24.1 %",
    "moh1.return_rate": "34.5 %",
}


def test_outputs_exist(report_build):
    """The evaluation and its technical annex, each in HTML, Word and PDF."""
    from evaluation.report.documents import OUTPUTS

    names = [name for files in OUTPUTS.values() for name in files.values()]
    assert len(names) == 6
    for name in names:
        assert (report_build / "report" / name).stat().st_size > 10_000, name
    assert (report_build / "manifest.json").is_file()
    assert (report_build / "results" / "metrics.json").is_file()


@pytest.mark.parametrize("key", HEADLINE)
def test_headline_rate_in_metrics(default_build, key):
    metrics = json.loads((default_build / "results" / "metrics.json").read_text())
    n, N = HEADLINE[key]
    m = metrics[key]
    assert (m["n"], m["N"]) == (n, N)
    assert m["estimate"] == pytest.approx(n / N)
    ref = wilson(n, N)
    assert (m["ci_low"], m["ci_high"]) == pytest.approx((ref.ci_low, ref.ci_high))


@pytest.mark.parametrize("fmt", ["html", "docx", "pdf"])
def test_each_rate_with_interval_and_denominator_in_report(report_build, fmt):
    reader = {"html": html_text, "docx": docx_text, "pdf": pdf_text}[fmt]
    name = {"html": "index.html", "docx": "evaluation.docx", "pdf": "evaluation.pdf"}[fmt]
    text = reader(report_build / "report" / name)
    flat = " ".join(text.split())
    for key, (n, N) in HEADLINE.items():
        r = wilson(n, N)
        assert PERCENT[key] in flat, (fmt, key)
        assert f"{100 * r.ci_low:.1f}–{100 * r.ci_high:.1f} %" in flat, (fmt, key)
        assert f"{n} of {N}" in flat, (fmt, key)


def test_synthetic_banner_in_every_format(report_build):
    from evaluation.pipeline.run import SYNTHETIC_BANNER

    assert SYNTHETIC_BANNER in html_text(report_build / "report" / "index.html")
    page = (report_build / "report" / "index.html").read_text(encoding="utf-8")
    if json.loads((report_build / "manifest.json").read_text())["renderer"] == "pandoc":
        # the fallback's first line on screen, above the title and the contents
        assert page.index(SYNTHETIC_BANNER) < page.index("title-block-header")
    assert "Synthetic data" in docx_text(report_build / "report" / "evaluation.docx")
    # Word: the banner is the page header of the body's section, so on every page
    with zipfile.ZipFile(report_build / "report" / "evaluation.docx") as z:
        document = z.read("word/document.xml").decode("utf-8")
        rels = z.read("word/_rels/document.xml.rels").decode("utf-8")
        section = re.findall(r"<w:sectPr\b.*?</w:sectPr>", document, re.S)[-1]
        ref = re.search(r'<w:headerReference[^>]*w:type="default"[^>]*r:id="(\w+)"', section)
        ref = ref or re.search(r'<w:headerReference[^>]*r:id="(\w+)"[^>]*w:type="default"', section)
        assert ref, "no default page header in the Word file"
        target = re.search(rf'Id="{ref.group(1)}"[^>]*Target="([^"]+)"', rels) or re.search(
            rf'Target="([^"]+)"[^>]*Id="{ref.group(1)}"', rels
        )
        header = z.read("word/" + target.group(1)).decode("utf-8")
    assert SYNTHETIC_BANNER in re.sub(r"<[^>]+>", "", header)
    # every page carries the banner but those of the real published figures, which say so
    # (tests/test_report_structure.py checks which exhibits each page shows)
    from evaluation.report.banner import PUBLISHED_NOTICE

    pages = pdf_pages(report_build / "report" / "evaluation.pdf")
    notice = PUBLISHED_NOTICE.split(":")[0]
    assert all(("SYNTHETIC CASE DATA" in p) != (notice in p) for p in pages)
    assert 1 <= sum(notice in p for p in pages) <= 3


def test_manifest_records_inputs_parameters_versions(report_build):
    m = json.loads((report_build / "manifest.json").read_text())
    assert any(k.endswith("figures.csv") for k in m["inputs"])
    assert all(len(v) == 64 for v in m["inputs"].values())
    names = {nb["name"] for nb in m["notebooks"]}
    assert "published" in names
    assert all("parameters" in nb for nb in m["notebooks"])
    assert m["versions"]["pandas"] and m["git_commit"]
    assert set(m["timings_seconds"]) >= {"validate_prepare", "execute", "render", "total"}


def test_manifest_names_the_renderer_that_ran(report_build):
    """The renderer's own version, asked independently of the pipeline, not the version of the
    `quarto` Python package (0.1.0), which only finds the CLI."""
    import shutil

    import pypandoc

    m = json.loads((report_build / "manifest.json").read_text())
    if m["renderer"] == "quarto":
        cli = subprocess.run(
            [shutil.which("quarto"), "--version"], capture_output=True, text=True, check=True
        )
        assert m["renderer_version"] == cli.stdout.strip()
        assert m["renderer_version"] != "0.1.0"  # the wrapper's version
    else:
        assert m["renderer"] == "pandoc"
        assert m["renderer_version"].startswith(pypandoc.get_pandoc_version())


def test_rerun_with_nothing_changed_does_no_work(report_build):
    renderer = json.loads((report_build / "manifest.json").read_text())["renderer"]
    flags = ["--pandoc"] if renderer == "pandoc" else []
    res = run_cli("run", "--build", str(report_build), *flags, env=cli_env(quarto=True))
    assert res.returncode == 0, res.stderr
    assert "nothing changed" in res.stderr
