"""Papermill injects into each notebook only what the notebook declares: a parameter it does
not know is a warning in every notebook log ("Passed unknown parameter") and a variable the
notebook never reads."""

from pathlib import Path

import papermill as pm

from evaluation import config
from evaluation.pipeline import jobs

ROOT = Path(__file__).resolve().parents[1]


def _planned(tmp_path: Path) -> list[jobs.Job]:
    cfg = config.load(ROOT / "evaluation.yml")
    prepared = {p.id: tmp_path / "p" for p in cfg.projects} | {"__all__": tmp_path / "all"}
    planned = jobs.plan(cfg, prepared, "published-hash")
    for job in planned:  # as pipeline.run adds it
        job.params["disclosure_dir"] = str(tmp_path / "decision")
    return planned


def test_every_injected_parameter_is_declared_by_its_notebook(tmp_path):
    planned = _planned(tmp_path)
    assert len(planned) == 10  # by hand: 3 conversion, 2 durability, 5 cross-project runs
    for job in planned:
        declared = set(pm.inspect_notebook(str(job.notebook)))
        injected = set(jobs.notebook_parameters(job))
        assert injected <= declared, (job.name, sorted(injected - declared))


def test_the_decision_folder_reaches_the_kernel_by_environment_not_injection(tmp_path):
    for job in _planned(tmp_path):
        assert "disclosure_dir" not in jobs.notebook_parameters(job)
        assert job.params["disclosure_dir"] == str(tmp_path / "decision")  # still in the key


def test_papermill_reads_the_summary_projects_parameter():
    # a comment holding '=' made papermill skip the line and call `projects` unknown
    declared = pm.inspect_notebook(str(ROOT / "notebooks" / "summary.ipynb"))
    assert declared["projects"]["default"] == '""'
