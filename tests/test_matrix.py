"""The evaluation matrix: every question has an exhibit, every exhibit answers a question."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from textutil import html_text

from evaluation import config
from evaluation.errors import ConfigError
from evaluation.report.matrix import (
    coverage_problems,
    expand_exhibits,
    expand_indicators,
    load_matrix,
    notebook_exhibits,
)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def matrix():
    return load_matrix()


@pytest.fixture(scope="module")
def exhibits():
    return notebook_exhibits(ROOT / "notebooks")


def test_matrix_covers_every_exhibit_both_ways(matrix, exhibits):
    assert len(exhibits) > 30  # the notebooks' figure and table cells were found
    assert coverage_problems(matrix, exhibits) == []


def test_a_question_without_exhibit_is_caught(matrix, exhibits):
    q = dataclasses.replace(matrix.questions[0], exhibits=())
    bad = dataclasses.replace(matrix, questions=(q, *matrix.questions[1:]))
    problems = coverage_problems(bad, exhibits)
    assert f"{q.id} has no exhibit" in problems
    # its exhibits now answer nothing
    assert any(p.endswith("answers no question") for p in problems)


def test_an_exhibit_answering_nothing_is_caught(matrix, exhibits):
    assert coverage_problems(matrix, exhibits | {"conversion#tbl-new-table"}) == [
        "conversion#tbl-new-table answers no question"
    ]


def test_an_unknown_exhibit_is_caught(matrix, exhibits):
    q = dataclasses.replace(matrix.questions[0], exhibits=("durability#fig-nowhere",))
    bad = dataclasses.replace(matrix, questions=(q,))
    assert "Q1 names durability#fig-nowhere, which no notebook makes" in coverage_problems(
        bad, exhibits
    )


def test_every_dac_criterion_has_a_question(matrix):
    assert {q.criterion for q in matrix.questions} == set(matrix.criteria)


def test_per_project_exhibits_expand_to_the_report_labels(matrix):
    cfg = config.load(ROOT / "evaluation.yml")
    q7 = next(q for q in matrix.questions if q.id == "Q7")
    labels = expand_exhibits(q7, cfg)
    # durability runs for the two return projects only
    assert "tbl-durability-bounds-moh1" in labels and "tbl-durability-bounds-moh2" in labels
    assert not any(x.endswith("-enh") for x in labels)
    q5 = next(q for q in matrix.questions if q.id == "Q5")
    assert expand_indicators(q5, cfg) == ["moh1_vs_moh2.return_rate_diff"]


def test_wrong_criterion_names_the_question(tmp_path):
    text = (ROOT / "evaluation_questions.yaml").read_text(encoding="utf-8")
    bad = tmp_path / "m.yaml"
    bad.write_text(text.replace("criterion: relevance", "criterion: relevant", 1), "utf-8")
    with pytest.raises(ConfigError, match=r"questions\[0\] \(Q1\): criterion 'relevant'"):
        load_matrix(bad)


@pytest.mark.e2e
def test_indicators_exist_and_matrix_is_in_the_report(default_build, matrix):
    cfg = config.load(ROOT / "evaluation.yml")
    metrics = json.loads((default_build / "results" / "metrics.json").read_text())
    keys = [k for q in matrix.questions for k in expand_indicators(q, cfg)]
    # an indicator is published, or the joint disclosure check dropped it (recorded internally)
    gate = json.loads((default_build / "internal" / "gate.json").read_text())
    dropped = set(gate["metrics_dropped"])
    assert keys and [k for k in keys if k not in metrics and k not in dropped] == []
    assert not any(k in metrics for k in dropped)
    raw = (default_build / "report" / "index.html").read_text(encoding="utf-8")
    assert 'id="tbl-matrix"' in raw
    text = html_text(default_build / "report" / "index.html").replace("’", "'")
    for q in matrix.questions:
        assert f"{q.id}. {q.question}" in text
