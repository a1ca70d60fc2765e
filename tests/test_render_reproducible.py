"""Identical inputs give identical files: rendering the same results again, from another staging
folder and at another wall-clock time, gives byte-identical files, all six of them (the
evaluation and its annex in HTML, Word and PDF), dated by the data cut-off. Runs once per
renderer available (the pandoc fallback always, Quarto when its CLI is on PATH)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from evaluation import config
from evaluation.pipeline.run import SYNTHETIC_BANNER, cutoff_epoch, stage_report
from evaluation.report import render
from evaluation.report.documents import OUTPUTS

ROOT = Path(__file__).resolve().parents[1]


def test_cutoff_epoch_is_midnight_utc_of_the_cutoff():
    cfg = config.load(ROOT / "evaluation.yml")
    # 2020-12-31T00:00:00Z, worked out by hand: 18627 days after 1970-01-01
    assert cfg.cutoff.isoformat() == "2020-12-31"
    assert cutoff_epoch(cfg) == 18627 * 86400


def test_a_second_render_gives_identical_files(report_build, tmp_path):
    """The build's own render (staged in the build folder, at the time of the run) against a
    second one staged elsewhere now: a temporary path or a clock time in any file differs."""
    cfg = config.load(ROOT / "evaluation.yml")
    run_dir = (report_build / "results").resolve().parent
    manifest = json.loads((report_build / "manifest.json").read_text(encoding="utf-8"))
    stage = tmp_path / "elsewhere" / "stage"
    stage_report(cfg, run_dir, stage)
    out = tmp_path / "out"
    res = render.render(
        stage,
        out,
        ("html", "docx", "pdf"),
        banner=SYNTHETIC_BANNER if cfg.synthetic else None,
        force_pandoc=manifest["renderer"] == "pandoc",
        say=lambda _: None,
        epoch=cutoff_epoch(cfg),
    )
    assert res.renderer == manifest["renderer"]
    names = [name for files in OUTPUTS.values() for name in files.values()]
    assert len(names) == 6
    differ = [
        name
        for name in names
        if (out / name).read_bytes() != (report_build / "report" / name).read_bytes()
    ]
    assert differ == [], f"{res.renderer}: {differ} differ between two renders of the same inputs"
    for name in ("evaluation.docx", "annex.docx"):
        with zipfile.ZipFile(out / name) as z:
            core = z.read("docProps/core.xml").decode("utf-8")
        assert "2020-12-31" in core, f"{name} is not dated by the data cut-off"


def test_a_pdf_stamped_at_two_times_is_the_same_file_once_dated_by_the_epoch(tmp_path):
    """What Quarto's typst does (the wall-clock time as creation date, an identifier from it),
    made here with two timestamps; dated by the cut-off, both become one file and still read."""
    import datetime as dt

    import typst
    from pypdf import PdfReader

    from evaluation.report.reproducible import pdf_dated

    src = tmp_path / "doc.typ"
    src.write_text("= Heading\n\nSome text.\n#pagebreak()\nPage two.\n", encoding="utf-8")
    a, b = tmp_path / "a.pdf", tmp_path / "b.pdf"
    typst.compile(str(src), output=str(a), timestamp=1_700_000_000)
    typst.compile(str(src), output=str(b), timestamp=1_764_000_000)
    assert a.read_bytes() != b.read_bytes()
    epoch = 18627 * 86400  # 2020-12-31
    pdf_dated(a, epoch)
    pdf_dated(b, epoch)
    assert a.read_bytes() == b.read_bytes()
    reader = PdfReader(a)
    assert len(reader.pages) == 2
    assert reader.metadata.creation_date == dt.datetime(2020, 12, 31, tzinfo=dt.UTC)


def test_staged_notebooks_lose_run_times_and_counts_but_keep_outputs_and_tags(tmp_path):
    from evaluation.report.reproducible import strip_run_metadata

    nb = {
        "metadata": {"papermill": {"start_time": "2026-11-30T05:04:21"}, "kernelspec": {}},
        "cells": [
            {
                "cell_type": "code",
                "execution_count": 4,
                "metadata": {"papermill": {"duration": 0.25}, "tags": []},
                "outputs": [{"output_type": "execute_result", "execution_count": 4, "data": {}}],
                "source": "#| label: tbl-x\n1",
            },
            {
                "cell_type": "code",
                "execution_count": 1,
                "metadata": {"tags": ["parameters"]},
                "outputs": [],
                "source": "x = 1",
            },  # fmt: skip
        ],
    }
    path = tmp_path / "n" / "a.ipynb"
    path.parent.mkdir()
    path.write_text(json.dumps(nb), encoding="utf-8")
    strip_run_metadata(tmp_path / "n")
    out = json.loads(path.read_text(encoding="utf-8"))
    assert out["metadata"] == {"kernelspec": {}}
    first, second = out["cells"]
    assert first["metadata"] == {} and first["execution_count"] is None
    assert first["outputs"] == [{"output_type": "execute_result", "execution_count": None,
                                 "data": {}}]  # fmt: skip
    assert second["metadata"] == {"tags": ["parameters"]}
    assert first["source"] == "#| label: tbl-x\n1"
