"""The ledger's per-project cells built on two cores (publish.ledger_split): the ledger must be
the one a single process builds, whatever the split."""

from __future__ import annotations

import pytest
from conftest import ROOT

from evaluation.publish import ledger_split
from evaluation.publish.ledger import Ledger, LedgerError


def _whole(ledger: Ledger) -> tuple:
    cells = [(c.key, c.value, c.population, c.numerator, c.denominator, c.dims,
              sorted(c.artefacts), c.public, c.kind, c.contributions, c.headline)
             for c in ledger.cells.values()]  # fmt: skip
    derived = [(d.key, d.depends, sorted(d.artefacts), d.what) for d in ledger.derived.values()]
    return cells, list(ledger.relations), derived


def test_merge_records_the_other_ledger_after_this_one():
    """Worked by hand: x is met in both (artefacts joined, place kept), y is new (after x), the
    relation met twice is recorded once, the derived statistic keeps its first dependencies
    first and takes the other's description."""
    mine, theirs = Ledger(), Ledger()
    mine.count("x", 7, population="p", numerator="n", artefact="a")
    mine.count("z", 3, population="p", numerator="n")
    mine.count("w", 4, population="p", numerator="n")
    mine.relate("x", ["z", "w"], "x = z + w")
    mine.derive("r", ["x", "z"], artefact="a", what="rate")
    theirs.count("y", 2, population="q", numerator="m", artefact="b", public=True)
    theirs.count("x", 7, population="p", numerator="n", artefact="b")
    theirs.count("z", 3, population="p", numerator="n")
    theirs.count("w", 4, population="p", numerator="n")
    theirs.relate("x", ["z", "w"], "x = z + w")
    theirs.derive("r", ["y", "x"], artefact="b", what="share")
    mine.merge(theirs)
    assert list(mine.cells) == ["x", "z", "w", "y"]
    assert mine.cells["x"].artefacts == {"a", "b"} and mine.cells["y"].public
    assert len(mine.relations) == 1
    assert mine.derived["r"].depends == ("x", "z", "y")
    assert (
        mine.derived["r"].artefacts == frozenset({"a", "b"}) and mine.derived["r"].what == "share"
    )
    other = Ledger()
    other.count("x", 8, population="p", numerator="n")
    with pytest.raises(LedgerError, match="two artefacts count the same people differently"):
        mine.merge(other)


def test_a_split_build_is_the_single_process_build(monkeypatch):
    """Second method: the same build in one process. The synthetic data have three projects:
    the last one's cells come from the forked child (counted)."""
    import pandas as pd

    from evaluation import config
    from evaluation.analysis.plan import load_plan
    from evaluation.data import synthetic
    from evaluation.publish import ledger_build

    cfg, plan = config.load(ROOT / "evaluation.yml"), load_plan()
    tables = synthetic.generate(seed=11)

    def build() -> Ledger:
        return ledger_build.build(
            tables, [(p.id, p.kind) for p in cfg.projects], pd.read_csv(cfg.published),
            {p.id: p.cutoff or cfg.cutoff for p in cfg.projects},
            plan.durability.follow_up_options, plan.return_, {p.id: p.end for p in cfg.projects},
            plan.durability.landmark_months, min_cell=cfg.disclosure_min_count, plan=plan,
        )  # fmt: skip

    monkeypatch.setattr(ledger_split, "SPLIT_ROWS", 10**12)
    one = build()
    monkeypatch.setattr(ledger_split, "SPLIT_ROWS", 0)
    forked = []
    real = ledger_split.each_project

    def counting(ledger, jobs, split):
        forked.append((len(jobs), split))
        return real(ledger, jobs, split)

    monkeypatch.setattr(ledger_split, "each_project", counting)
    split = build()
    assert forked == [(3, True)]
    assert len(split.cells) > 500 and _whole(split) == _whole(one)


def test_the_split_only_starts_from_an_empty_ledger_and_passes_on_errors():
    ledger = Ledger()
    ledger.count("x", 1, population="p", numerator="n")

    def fine(led: Ledger) -> int:
        return 1

    with pytest.raises(ValueError, match="only an empty ledger"):
        ledger_split.each_project(ledger, [fine, fine], split=True)

    def failing(led: Ledger) -> int:
        raise LedgerError("planted in the child")

    with pytest.raises(LedgerError, match="planted in the child"):
        ledger_split.each_project(Ledger(), [fine, failing], split=True)
