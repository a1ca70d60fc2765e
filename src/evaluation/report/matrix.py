"""The evaluation matrix (evaluation_questions.yaml): question, criterion, indicators, exhibits."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from evaluation.config import Config, read_yaml
from evaluation.errors import ConfigError
from evaluation.report.documents import exhibit_ref

MATRIX_FILE = Path(__file__).resolve().parents[3] / "evaluation_questions.yaml"
CRITERIA = ("relevance", "coherence", "effectiveness", "efficiency", "impact", "sustainability")
PER_PROJECT = {"conversion", "durability"}  # notebooks whose labels carry the project suffix


@dataclass(frozen=True)
class Question:
    """One evaluation question and what answers it."""

    id: str
    criterion: str
    question: str
    indicators: tuple[str, ...]
    projects: tuple[str, ...]  # project kinds the per-project parts apply to
    exhibits: tuple[str, ...]  # notebook#label
    source: str
    judgement: str


@dataclass(frozen=True)
class Matrix:
    """The whole matrix with the criteria's wording and the annex exhibits."""

    version: int
    criteria: dict[str, str]
    questions: tuple[Question, ...]
    annex_exhibits: tuple[str, ...]


def load_matrix(path: Path = MATRIX_FILE) -> Matrix:
    """Parse and check the matrix file; errors name the question and the key."""
    try:
        raw = read_yaml(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read the evaluation matrix ({exc})") from exc
    criteria = raw.get("criteria", {})
    if set(criteria) != set(CRITERIA):
        raise ConfigError(f"{path}: criteria must be exactly {', '.join(CRITERIA)}")
    questions = []
    for i, q in enumerate(raw.get("questions", [])):
        where = f"{path}: questions[{i}] ({q.get('id', '?')})"
        missing = {"id", "criterion", "question", "exhibits", "source", "judgement"} - set(q)
        if missing:
            raise ConfigError(f"{where} lacks {', '.join(sorted(missing))}")
        if q["criterion"] not in CRITERIA:
            raise ConfigError(f"{where}: criterion {q['criterion']!r} is not a DAC criterion")
        for ex in q["exhibits"]:
            if "#" not in ex:
                raise ConfigError(f"{where}: exhibit {ex!r} is not notebook#label")
        questions.append(
            Question(
                id=str(q["id"]),
                criterion=q["criterion"],
                question=" ".join(str(q["question"]).split()),
                indicators=tuple(q.get("indicators") or ()),
                projects=tuple(q.get("projects") or ()),
                exhibits=tuple(q["exhibits"]),
                source=str(q["source"]),
                judgement=" ".join(str(q["judgement"]).split()),
            )
        )
    return Matrix(
        int(raw.get("version", 1)), criteria, tuple(questions), tuple(raw.get("annex_exhibits", ()))
    )


def expand_indicators(q: Question, cfg: Config) -> list[str]:
    """Metric keys with {project} (and {baseline}) filled in for the configured projects."""
    out: list[str] = []
    for key in q.indicators:
        if "{project}" not in key:
            out.append(key)
            continue
        for p in cfg.projects:
            if p.kind not in q.projects:
                continue
            if "{baseline}" in key:
                base = next((b for b, pp in cfg.comparisons() if pp.id == p.id), None)
                if base is not None:
                    out.append(key.format(project=p.key, baseline=base.key))
            else:
                out.append(key.format(project=p.key))
    return out


def expand_exhibits(q: Question, cfg: Config) -> list[str]:
    """Report labels: per-project notebook labels get each matching project's suffix."""
    out: list[str] = []
    for ex in q.exhibits:
        nb, label = ex.split("#", 1)
        if nb in PER_PROJECT:
            out += [
                f"{label}-{p.key}"
                for p in cfg.projects
                if p.kind in q.projects and nb in p.notebooks
            ]
        else:
            out.append(label)
    return out


def matrix_table(m: Matrix, cfg: Config, shown: set[str] | None = None) -> pd.DataFrame:
    """The matrix as the report shows it: one row per question, exhibits as cross-references."""
    rows = []
    keys = tuple(p.key for p in cfg.projects)
    for q in m.questions:
        labels = [x for x in expand_exhibits(q, cfg) if shown is None or x in shown]
        rows.append(
            {
                "Criterion": q.criterion.capitalize(),
                "Question": f"{q.id}. {q.question}",
                "Judged by": q.judgement,
                "Exhibits": ", ".join(exhibit_ref(x, keys) for x in labels) or "none shown",
            }
        )
    return pd.DataFrame(rows)


_LABEL = re.compile(r"^#\|\s*label:\s*([\w-]+)", re.M)


def notebook_exhibits(notebook_dir: Path) -> set[str]:
    """notebook#label of every figure and table cell in the stored notebooks."""
    out = set()
    for nb in sorted(notebook_dir.glob("*.ipynb")):
        cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
        for c in cells:
            src = "".join(c["source"]) if c["cell_type"] == "code" else ""
            out |= {f"{nb.stem}#{x}" for x in _LABEL.findall(src) if x.startswith(("fig-", "tbl-"))}
    return out


def coverage_problems(m: Matrix, exhibits: set[str]) -> list[str]:
    """Questions without an exhibit, unknown exhibits, and exhibits that answer no question."""
    problems = [f"{q.id} has no exhibit" for q in m.questions if not q.exhibits]
    named = {ex for q in m.questions for ex in q.exhibits}
    problems += [
        f"{q.id} names {ex}, which no notebook makes"
        for q in m.questions
        for ex in q.exhibits
        if ex not in exhibits
    ]
    problems += [
        f"{ex} answers no question" for ex in sorted(exhibits - named - set(m.annex_exhibits))
    ]
    return problems
