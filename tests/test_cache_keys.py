"""Notebook cache keys follow what each notebook reads of the configuration, and no folder:
a change to MOH1's block re-executes MOH1's notebooks and the cross-project ones, never MOH2's
or ENH's own; a configuration or build in another folder keeps its keys; the manifest names
paths relative to the build or the configuration, so a moved build names no old folder."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import ROOT  # noqa: E402
from test_newcomer import config_copy  # noqa: E402

from evaluation import config  # noqa: E402
from evaluation.pipeline.jobs import WHOLE_CONFIG_READERS, config_digest, job_key, plan  # noqa: E402
from evaluation.pipeline.run import absolute_parameters, portable  # noqa: E402

MOH1_END = "    end: 2018-03-31\n    funder: AMIF\n  - id: MOH2"
MOH2_END = "    end: 2020-10-31\n"


def keys(folder: Path, edit: tuple[str, str] = ("", "")) -> dict[str, str]:
    """Every job's cache key for the default configuration (with one edit) in folder."""
    folder.mkdir(parents=True, exist_ok=True)
    cfg = config.load(config_copy(folder, edit=edit))
    data = folder / "build" / "data"
    prepared = {p.id: data / "same-content" for p in cfg.projects} | {"__all__": data / "all"}
    jobs = plan(cfg, prepared, "published-hash")
    for job in jobs:
        job.params["disclosure_dir"] = str(folder / "build" / "internal" / "decision")
    return {j.name: job_key(j, "environment", config_digest(cfg, j)) for j in jobs}


def changed(a: dict[str, str], b: dict[str, str]) -> set[str]:
    assert set(a) == set(b)
    return {name for name in a if a[name] != b[name]}


def test_moh1_cutoff_reruns_moh1_and_the_cross_project_notebooks_only(tmp_path):
    base = keys(tmp_path / "a")
    own = MOH1_END.replace("AMIF\n", "AMIF\n    cutoff: 2019-06-30\n")
    moved = keys(tmp_path / "b", edit=(MOH1_END, own))
    # by hand: MOH1's two notebooks, the comparisons and efficiency (they read every return
    # project's cut-off) and the summary (the whole file); ENH's, MOH2's and published stay
    assert changed(base, moved) == {
        "conversion-moh1", "durability-moh1", "comparison", "durability_comparison",
        "efficiency", "summary",
    }  # fmt: skip


def test_moh2_period_leaves_moh1_and_enh_alone(tmp_path):
    base = keys(tmp_path / "a")
    later = keys(tmp_path / "b", edit=(MOH2_END, "    end: 2020-11-30\n"))
    assert "conversion-moh1" not in changed(base, later)
    assert {"conversion-moh2", "durability-moh2"} <= changed(base, later)
    assert not {"conversion-enh", "published"} & changed(base, later)


def test_a_shared_setting_reruns_every_notebook_that_reads_the_configuration(tmp_path):
    base = keys(tmp_path / "a")
    stricter = keys(tmp_path / "b", edit=("disclosure_min_count: 5", "disclosure_min_count: 6"))
    assert changed(base, stricter) == set(base)


def test_the_same_configuration_in_another_folder_keeps_every_key(tmp_path):
    assert keys(tmp_path / "one") == keys(tmp_path / "elsewhere" / "two")


def test_only_the_whole_config_readers_use_more_than_their_projects():
    """What config_digest assumes of the notebooks, checked on their source: a notebook that is
    not a whole-configuration reader reaches projects only through cfg.project(<its id>) and
    never hands the whole configuration to a function."""
    whole = re.compile(r"cfg\.(projects|comparisons|periods|all_periods|only)\b|[(,]\s*cfg\s*[,)]")
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        uses = [m.group(0) for m in whole.finditer(code)]
        if path.stem in WHOLE_CONFIG_READERS:
            assert uses, f"{path.name} no longer reads the whole configuration"
        else:
            assert not uses, f"{path.name} reads more than its projects: {uses}"
            ids = set(re.findall(r"cfg\.project\(([^)]*)\)", code))
            assert ids <= {"project", "i", "pid.strip("}, (path.name, ids)


def test_manifest_paths_are_relative_to_the_build_or_the_configuration(tmp_path):
    build, base = tmp_path / "build", tmp_path / "repo"
    assert portable(str(build / "data" / "abc"), build, base) == "data/abc"
    assert portable(base / "evaluation.yml", build, base) == "evaluation.yml"
    assert portable("/elsewhere/export", build, base) == "/elsewhere/export"
    assert portable("results", build, base) == "results" and portable(True, build, base) is True
    recorded = {
        "data_dir": "data/abc",
        "config_file": "evaluation.yml",
        "published_file": "data/published/figures.csv",
        "results_dir": "results",
        "project": "MOH1",
    }
    assert absolute_parameters(recorded, build, base) == {
        "data_dir": str(build / "data" / "abc"),
        "config_file": str(base / "evaluation.yml"),
        "published_file": str(base / "data" / "published" / "figures.csv"),
        "results_dir": "results",
        "project": "MOH1",
    }


def test_the_default_build_manifest_names_no_absolute_folder_of_its_own(default_build):
    """The session's build: no path in its manifest starts with the build folder or the
    repository (the configuration's folder); the data folders are named relative to build/."""
    text = (default_build / "manifest.json").read_text(encoding="utf-8")
    assert str(default_build) not in text and str(ROOT) not in text
    manifest = json.loads(text)
    assert manifest["config"]["file"] == "evaluation.yml"
    params = [nb["parameters"] for nb in manifest["notebooks"] if "data_dir" in nb["parameters"]]
    assert params and all((default_build / p["data_dir"]).is_dir() for p in params)
    assert "data/published/figures.csv" in manifest["inputs"]


def _prepared_copy(folder: Path, tables: dict) -> Path:
    from evaluation.data import prepared

    prepared.write(tables, folder)
    return folder


def test_adding_a_project_keeps_the_other_projects_notebooks_cached(tmp_path):
    """Issue 16: the prepared folder's name follows every project's periods and cut-offs; a key
    follows the tables' content. Adding MOH3 (its own export) re-prepares the shared export
    under new periods into a new folder with the same tables: by hand, ENH's, MOH1's and
    MOH2's own notebooks and the published figures keep their keys."""
    import pandas as pd
    from test_newcomer import MOH3_BLOCK

    tables = {"enrolments": pd.DataFrame({"client_id": ["a", "b"], "project": ["MOH1", "ENH"]})}
    shared_old = _prepared_copy(tmp_path / "data" / "1111aaaa", tables)
    shared_new = _prepared_copy(tmp_path / "data" / "2222bbbb", tables)  # same tables
    moh3 = _prepared_copy(tmp_path / "data" / "3333cccc", {"enrolments": tables["enrolments"][:1]})

    def keyed(cfg, prepared) -> dict[str, str]:
        jobs = plan(cfg, prepared, "published-hash")
        return {j.name: job_key(j, "environment", config_digest(cfg, j)) for j in jobs}

    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    before_cfg = config.load(config_copy(tmp_path / "a"))
    before = keyed(
        before_cfg, {p.id: shared_old for p in before_cfg.projects} | {"__all__": shared_old}
    )
    after_cfg = config.load(config_copy(tmp_path / "b", extra_project=MOH3_BLOCK))
    after = keyed(
        after_cfg,
        {p.id: shared_new for p in after_cfg.projects} | {"MOH3": moh3, "__all__": moh3},
    )
    kept = {n for n in before if before[n] == after.get(n)}
    assert kept == {
        "published", "conversion-enh", "conversion-moh1", "durability-moh1",
        "conversion-moh2", "durability-moh2",
    }  # fmt: skip
    # different tables under the same folder name are another key
    _prepared_copy(tmp_path / "data" / "4444dddd", {"enrolments": tables["enrolments"][1:]})
    other = keyed(
        before_cfg,
        {p.id: tmp_path / "data" / "4444dddd" for p in before_cfg.projects}
        | {"__all__": shared_old},
    )
    assert other["conversion-moh1"] != before["conversion-moh1"]
