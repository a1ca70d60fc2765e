"""analysis_plan.yaml: parsed into a typed object, hashed into the manifest and into the cache
keys of exactly the notebooks that read it; shown in every report format."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from textutil import docx_text, html_text, pdf_text

from evaluation import config
from evaluation.analysis.plan import DEFAULT_PLAN, load_plan, plan_path
from evaluation.errors import ConfigError
from evaluation.pipeline import jobs
from evaluation.pipeline.run import analysis_plan_record

ROOT = Path(__file__).resolve().parents[1]


def test_the_repository_plan_declares_the_primary_estimand():
    plan = load_plan()
    assert plan.version == "1.0.0"
    r = plan.return_
    assert r.horizons == (3.0, 6.0, 12.0) and r.primary_horizon == 6.0
    assert r.withdrawal_handling == "competing" and r.other_withdrawal_handling == "censored"
    assert {"withdrew", "lost_contact"} <= set(r.exits_competing())
    assert not {"withdrew", "lost_contact"} & set(r.exits_competing("censored"))
    assert plan.inference.equivalence_margin == pytest.approx(0.10)
    assert [(c.baseline, c.other) for c in plan.contrasts] == [("MOH1", "MOH2")]
    assert plan.durability.follow_up_options == {"grace_days": 60, "deaths_leave": True}


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("withdrawal_and_lost_contact: competing", "withdrawal_and_lost_contact: maybe",
         "withdrawal_and_lost_contact is 'maybe'; expected one of competing, censored"),
        ("primary_horizon_months: 6", "primary_horizon_months: 9",
         "primary_horizon_months is 9; expected one of horizons_months (3, 6, 12)"),
        ("version: 1.0.0", "nothing: 1", "version is missing"),
    ],
)  # fmt: skip
def test_plan_mistakes_name_the_key(tmp_path, old, new, message):
    text = DEFAULT_PLAN.read_text(encoding="utf-8")
    assert old in text
    bad = tmp_path / "analysis_plan.yaml"
    bad.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_plan(bad)


def _keys(cfg) -> dict[str, str]:
    prepared = {p.id: Path("/x/prep-abc") for p in cfg.projects} | {"__all__": Path("/x/all")}
    out = {}
    for j in jobs.plan(cfg, prepared, "published-hash"):
        out[j.name] = jobs.job_key(j, "env", "cfg")
    return out


def test_changing_the_plan_reruns_its_readers_and_nothing_else(tmp_path):
    shutil.copy2(ROOT / "evaluation.yml", tmp_path / "evaluation.yml")
    shutil.copy2(DEFAULT_PLAN, tmp_path / "analysis_plan.yaml")
    cfg = config.load(tmp_path / "evaluation.yml", root=ROOT)
    assert plan_path(cfg.path) == tmp_path / "analysis_plan.yaml"
    before, record = _keys(cfg), analysis_plan_record(cfg)
    plan_file = tmp_path / "analysis_plan.yaml"
    text = plan_file.read_text(encoding="utf-8")
    plan_file.write_text(
        text.replace("equivalence_margin_points: 10", "equivalence_margin_points: 5")
    )
    after, changed = _keys(cfg), analysis_plan_record(cfg)
    assert changed["sha256"] != record["sha256"]
    rerun = {name for name in before if before[name] != after[name]}
    # the conversion notebooks read the plan's exits and horizons (issue 13)
    assert rerun == {
        "comparison",
        "durability_comparison",
        "summary",
        "durability-moh1",
        "durability-moh2",
        "conversion-enh",
        "conversion-moh1",
        "conversion-moh2",
    }
    assert {"published", "efficiency"} <= set(before) - rerun


def test_manifest_records_the_plan(default_build):
    import json

    m = json.loads((default_build / "manifest.json").read_text(encoding="utf-8"))
    from evaluation.hashing import file_sha256

    assert m["analysis_plan"]["sha256"] == file_sha256(DEFAULT_PLAN)
    assert m["analysis_plan"]["version"] == load_plan().version


def test_plan_appendix_sensitivity_and_contrasts_in_every_format(default_build):
    """The plan and the sensitivity analyses are in the technical annex; the contrasts in the
    evaluation."""
    from evaluation.report.documents import OUTPUTS

    report = default_build / "report"
    read = {"html": html_text, "docx": docx_text, "pdf": pdf_text}
    texts = {
        fmt: read[fmt](report / OUTPUTS["index"][fmt])
        + "\n"
        + read[fmt](report / OUTPUTS["annex"][fmt])
        for fmt in read
    }
    version = f"Analysis plan version {load_plan().version}"
    for fmt, text in texts.items():
        flat = " ".join(text.split())
        assert version in flat, fmt
        assert "Sensitivity analyses of each primary estimand" in flat, fmt
        assert "Primary estimand: cumulative incidence of verified return" in flat, fmt
        assert "Potential follow-up of each half-year enrolment cohort" in flat, fmt
        assert "The data are compatible with differences from" in flat, fmt
        assert "do not show a difference" not in flat, fmt
