"""Each analysis once: per-project notebooks store typed results, the cross-project notebooks
read them, and the job plan orders and keys the readers by those results' content."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import ROOT  # noqa: E402

from evaluation import config  # noqa: E402
from evaluation.analysis.attrition import Bounds  # noqa: E402
from evaluation.analysis.contrasts import Arm, CifDifference  # noqa: E402
from evaluation.analysis.durability import DurabilitySummary  # noqa: E402
from evaluation.analysis.rates import Rate, wilson  # noqa: E402
from evaluation.pipeline import jobs, schedule  # noqa: E402
from evaluation.publish import store  # noqa: E402


def test_typed_results_come_back_exactly(tmp_path):
    # values chosen by hand: a Wilson rate, a missing rate, an infinite bound, NaN, 1/3
    rate = wilson(3, 7)
    bounds = Bounds("m12", rate, None, Rate(7, 7, 1.0, 0.6456, 1.0), 3, 1, 3, 0, 7)
    frame = pd.DataFrame(
        {"window": pd.Categorical(["m6", "m12"]), "n": [4, 3], "share": [1 / 3, float("nan")]}
    )
    diff = CifDifference(
        Arm("MOH1", 0.5, 0.079, 40, 20, 20), Arm("MOH2", 0.0, 0.0, 40, 0, 40),
        6.0, -0.5, 0.079, -0.655, -0.345, 0.95, "aalen-johansen", 0.1, 1.0,
        math.inf, 0.22, 0.8,
    )  # fmt: skip
    summary = DurabilitySummary("MOH1", 12, frame, frame, {"m12": bounds}, {"mean": None, "n": 0})
    store.save(tmp_path, "x", {"diff": [diff], "summary": summary, "nan": float("nan")})
    back = store.load(tmp_path, "x")
    assert back["diff"] == [diff]
    assert back["summary"].bounds == {"m12": bounds}
    assert back["summary"].bounds["m12"].complete.estimate == rate.estimate  # not approximately
    assert back["summary"].returnees == 12
    assert back["summary"].composite_12m == {"mean": None, "n": 0}
    pd.testing.assert_frame_equal(back["summary"].completeness, frame, check_exact=True)
    assert math.isnan(back["nan"])


def test_a_missing_result_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="holds no 'durability'"):
        store.load(tmp_path / "durability-moh1", "durability")


def test_the_store_keeps_only_evaluation_types(tmp_path):
    from dataclasses import make_dataclass

    alien = make_dataclass("Alien", [("x", int)])(1)
    with pytest.raises(TypeError):
        store.save(tmp_path, "bad", {"a": alien})
    (tmp_path / "forged.json").write_text(json.dumps({"__type__": "os:system"}))
    with pytest.raises(ValueError, match="unknown type"):
        store.load(tmp_path, "forged")


def _plan(folder: Path) -> list[jobs.Job]:
    cfg = config.load(ROOT / "evaluation.yml")
    prepared = {p.id: folder / "data" / "p" for p in cfg.projects} | {"__all__": folder / "all"}
    return jobs.plan(cfg, prepared, "published-hash")


def test_the_plan_declares_what_each_cross_project_notebook_reads(tmp_path):
    reads = {j.name: j.reads for j in _plan(tmp_path)}
    # by hand from evaluation.yml: ENH (counselling: conversion only), MOH1 and MOH2 (return:
    # conversion and durability); the summary also reads the comparison's contrasts
    assert reads["durability_comparison"] == ("durability-moh1", "durability-moh2")
    assert set(reads["summary"]) == {
        "conversion-enh", "conversion-moh1", "durability-moh1", "conversion-moh2",
        "durability-moh2", "comparison",
    }  # fmt: skip
    assert set(reads["comparison"]) == {
        "conversion-moh1", "durability-moh1", "conversion-moh2", "durability-moh2",
    }  # fmt: skip
    assert reads["efficiency"] == ("conversion-moh1", "conversion-moh2")
    readers = {"durability_comparison", "summary", "comparison", "efficiency"}
    assert all(not r for n, r in reads.items() if n not in readers)


def _key(job: jobs.Job) -> str:
    return jobs.job_key(job, "environment", "config")


def _resolved(tmp_path: Path, moh2_value: float | None) -> dict[str, str]:
    """Keys of every job, with the per-project jobs 'executed' into the cache; MOH2's durability
    store holds moh2_value (None: its notebook has not run)."""
    plan = _plan(tmp_path)
    cache = tmp_path / "cache"
    for j in plan:
        if not j.reads:
            j.key = _key(j)
    for j in plan:  # the per-project notebooks have run, but for MOH2's durability maybe
        if not j.reads and not (j.name == "durability-moh2" and moh2_value is None):
            value = moh2_value if j.name == "durability-moh2" else 0.5
            store.save(cache / j.key / jobs.STORE, "x", {"estimate": value})
    schedule.resolve_keys(plan, cache, tmp_path / "stores", _key)
    for j in plan:  # and so have the cross-project ones that could start
        if j.key and j.reads:
            store.save(cache / j.key / jobs.STORE, "x", {"estimate": 0.5})
    schedule.resolve_keys(plan, cache, tmp_path / "stores", _key)
    return {j.name: j.key for j in plan}


def test_readers_wait_for_and_are_keyed_by_the_results_they_read(tmp_path):
    waiting = _resolved(tmp_path / "a", None)
    assert waiting["durability_comparison"] == waiting["comparison"] == waiting["summary"] == ""
    assert waiting["efficiency"] != ""  # reads the conversion notebooks only
    same, again = _resolved(tmp_path / "b", 0.25), _resolved(tmp_path / "c", 0.25)
    assert same == again  # same results, same keys, in whatever folder
    moved = _resolved(tmp_path / "d", 0.75)
    changed = {n for n in same if same[n] != moved[n]}
    assert changed == {"durability_comparison", "comparison", "summary"}


def test_a_reader_sees_the_stores_it_reads(tmp_path):
    plan = {j.name: j for j in _plan(tmp_path)}
    cache = tmp_path / "cache"
    for name in ("durability-moh1", "durability-moh2"):
        plan[name].key = name + "-key"
        store.save(cache / plan[name].key / jobs.STORE, "durability", {"project": name})
    reader = plan["durability_comparison"]
    assert schedule.resolve_stores(reader, plan, cache, tmp_path / "stores")
    got = store.load(store.upstream(reader.params["stores_dir"], "durability-moh2"), "durability")
    assert got == {"project": "durability-moh2"}


def test_the_summary_reads_what_it_used_to_recompute(default_build):
    """Second method: the headlines, crude differences and contrasts the summary read from the
    pipeline's results store equal the recomputation from the prepared case data."""
    from evaluation.analysis.plan import load_plan
    from evaluation.data import prepared
    from evaluation.report import summary as sm

    manifest = json.loads((default_build / "manifest.json").read_text(encoding="utf-8"))
    params = next(n["parameters"] for n in manifest["notebooks"] if n["name"] == "summary")
    stores, data = default_build / params["stores_dir"], default_build / params["data_dir"]
    cfg = config.load(ROOT / "evaluation.yml")
    plan = load_plan()
    tables = prepared.load(data)
    for p in cfg.projects:
        conv = store.load(store.upstream(stores, f"conversion-{p.key}"), "conversion")
        dur = (
            store.load(store.upstream(stores, f"durability-{p.key}"), "durability")
            if "durability" in p.notebooks
            else None
        )
        again = sm.headline(
            tables, p.id, p.kind, cutoff=p.cutoff, **plan.durability.follow_up_options
        )
        assert sm.headline_from_results(p.id, p.kind, conv, dur) == again
    compared = store.load(store.upstream(stores, "comparison"), "comparison")
    pairs = [(b.id, p.id) for b, p in cfg.comparisons()]
    enrolled = set(tables["enrolments"]["project"])
    assert sm.declared_differences(compared["comparisons"], pairs, enrolled) == sm.comparisons(
        tables, pairs, plan.return_.carry_over
    )
    assert repr(compared["contrasts"]) == repr(sm.primary_contrasts(tables, cfg, plan))


def test_a_notebook_loads_only_the_tables_and_columns_it_names(tmp_path):
    from evaluation.data import prepared

    enrolments = pd.DataFrame({"client_id": ["a", "b"], "project": ["MOH1", "MOH2"]})
    clients = pd.DataFrame({"client_id": ["a", "b"], "sex": ["female", "male"]})
    prepared.write({"enrolments": enrolments, "clients": clients}, tmp_path)
    got = prepared.load(tmp_path, ["enrolments", "sessions"])  # sessions: optional, absent
    assert list(got) == ["enrolments"]
    pd.testing.assert_frame_equal(got["enrolments"], enrolments)
    narrow = prepared.load(tmp_path, columns={"clients": ["sex"]})
    assert list(narrow) == ["clients", "enrolments"] and list(narrow["clients"]) == ["sex"]
    with pytest.raises(FileNotFoundError, match="no prepared tables"):
        prepared.load(tmp_path, ["monitoring"])
