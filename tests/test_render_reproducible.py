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
