"""Identical inputs give identical files: two renders of the same staged report (pandoc fallback)
at different wall-clock times give byte-identical DOCX and PDF, dated by the data cut-off."""

from __future__ import annotations

import time
import zipfile
from pathlib import Path

from evaluation import config
from evaluation.pipeline.run import cutoff_epoch, stage_report
from evaluation.report import render

ROOT = Path(__file__).resolve().parents[1]


def test_cutoff_epoch_is_midnight_utc_of_the_cutoff():
    cfg = config.load(ROOT / "evaluation.yml")
    # 2020-12-31T00:00:00Z, worked out by hand: 18627 days after 1970-01-01
    assert cfg.cutoff.isoformat() == "2020-12-31"
    assert cutoff_epoch(cfg) == 18627 * 86400


def test_two_renders_give_identical_docx_and_pdf(default_build, tmp_path):
    cfg = config.load(ROOT / "evaluation.yml")
    run_dir = (default_build / "results").resolve().parent
    outputs = []
    for i in range(2):
        stage = tmp_path / f"stage{i}"
        stage_report(cfg, run_dir, stage)
        out = tmp_path / f"out{i}"
        render.render_pandoc(stage, out, ("docx", "pdf"), epoch=cutoff_epoch(cfg))
        outputs.append(out)
        time.sleep(1.1)  # a timestamp taken from the clock would differ between the renders
    for name in ("evaluation.docx", "evaluation.pdf"):
        a, b = (outputs[0] / name).read_bytes(), (outputs[1] / name).read_bytes()
        assert a == b, f"{name} differs between two renders of the same inputs"
    with zipfile.ZipFile(outputs[0] / "evaluation.docx") as z:
        core = z.read("docProps/core.xml").decode("utf-8")
    assert "2020-12-31" in core, "the Word file is not dated by the data cut-off"
