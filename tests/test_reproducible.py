"""Reruns reproduce exactly: two cold runs give byte-identical results, metrics and figures, and
`evaluation verify` reports every difference planted in a recorded build (and nothing else).

The two cold runs are the session's default build and the rerun `evaluation verify --keep` makes
into a fresh folder; the test compares them itself, independently of verify's own comparison.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
from pathlib import Path

import pytest
from conftest import ROOT, run_cli

from evaluation import config
from evaluation.pipeline.verify import compare_notebooks, compare_results, rerun_config

pytestmark = pytest.mark.e2e


def digests(root: Path) -> dict[str, str]:
    """sha256 per results file; the run record (commit, hardware; written only by a rendering
    run) describes the run rather than its results and is left out."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != "run_record.tsv"
    }


def pngs(notebooks: Path) -> dict[tuple[str, int, int], bytes]:
    """Every PNG figure inside the executed notebooks, by (notebook, cell, output)."""
    out = {}
    for path in sorted(notebooks.rglob("*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        for i, cell in enumerate(nb["cells"]):
            for j, o in enumerate(cell.get("outputs", [])):
                if "image/png" in o.get("data", {}):
                    key = (str(path.relative_to(notebooks)), i, j)
                    out[key] = base64.b64decode(o["data"]["image/png"])
    return out


def png_chunks(data: bytes) -> list[bytes]:
    """Chunk types of a PNG file, read by hand (length, type, data, crc)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, kinds = 8, []
    while pos < len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        kinds.append(data[pos + 4 : pos + 8])
        pos += 12 + length
    return kinds


def plant(build: Path) -> set[str]:
    """Spoil a copy of a good build in five ways; return the differences verify must report."""
    results = build / "results"
    changed = sorted((results / "moh1").glob("*.csv"))[0]
    changed.write_text(changed.read_text(encoding="utf-8") + "planted,row\n", encoding="utf-8")
    removed = sorted((results / "moh2").glob("*.csv"))[0]
    removed.unlink()
    (results / "planted.csv").write_text("a\n1\n", encoding="utf-8")
    metrics_file = results / "metrics.json"
    metrics = json.loads(metrics_file.read_text(encoding="utf-8"))
    metrics["moh1.return_rate"]["estimate"] += 0.01
    metrics_file.write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    nb_file = build / "notebooks" / "moh1" / "conversion.ipynb"
    nb = json.loads(nb_file.read_text(encoding="utf-8"))
    figures = [
        (c, j)
        for c in nb["cells"]
        for j, o in enumerate(c.get("outputs", []))
        if "image/png" in o.get("data", {})
    ]
    (cell, j), (other, k) = figures[0], figures[1]
    cell["outputs"][j]["data"]["image/png"] = other["outputs"][k]["data"]["image/png"]
    nb_file.write_text(json.dumps(nb, indent=1), encoding="utf-8")
    label = next(
        ln.split(":", 1)[1].strip()
        for ln in "".join(cell["source"]).splitlines()
        if ln.startswith("#| label:")
    )
    return {
        f"results/moh1/{changed.name}: content differs",
        f"results/moh2/{removed.name}: new in the rerun",
        "results/planted.csv: missing in the rerun",
        "metric moh1.return_rate",
        f"notebooks/moh1/conversion.ipynb: {label} output {j} image/png differs",
    }


@pytest.fixture(scope="module")
def verified(default_build, tmp_path_factory):
    """`evaluation verify` on a spoiled copy of the default build, keeping its cold rerun."""
    tmp = tmp_path_factory.mktemp("reproducible")
    build = tmp / "build"
    shutil.copytree(default_build, build, symlinks=True)
    expected = plant(build)
    rerun = tmp / "rerun"
    res = run_cli("verify", "--build", str(build), "--keep", str(rerun))
    return build, rerun, expected, res


def test_two_cold_runs_give_identical_results_and_metrics(default_build, verified):
    rerun = verified[1]
    a, b = digests(default_build / "results"), digests(rerun / "results")
    assert len(a) > 20 and "metrics.json" in a
    assert a == b


def test_two_cold_runs_give_identical_figures(default_build, verified):
    rerun = verified[1]
    a, b = pngs(default_build / "notebooks"), pngs(rerun / "notebooks")
    assert len(a) >= 10
    assert a.keys() == b.keys()
    assert [k for k in a if a[k] != b[k]] == []
    # no time stamp can sneak in: no tIME chunk, no text chunk (Software, dates)
    assert {c for png in a.values() for c in png_chunks(png)} <= {
        b"IHDR",
        b"pHYs",
        b"IDAT",
        b"IEND",
        b"PLTE",
        b"tRNS",
        b"sRGB",
        b"gAMA",
    }


def test_two_cold_runs_give_identical_notebook_outputs(default_build, verified):
    rerun = verified[1]
    assert compare_notebooks(default_build / "notebooks", rerun / "notebooks") == []


def test_verify_reports_every_planted_difference_and_nothing_else(verified):
    _, _, expected, res = verified
    assert res.returncode == 3, res.stderr
    reported = [ln[4:] for ln in res.stderr.splitlines() if ln.startswith("  - ")]
    matched = {e for e in expected for r in reported if r.startswith(e)}
    assert matched == expected
    assert len(reported) == len(expected), reported
    assert "Traceback" not in res.stderr


def test_compare_identical_trees_finds_nothing(default_build, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(default_build / "results", copy / "results")
    shutil.copytree(default_build / "notebooks", copy / "notebooks")
    assert compare_results(default_build / "results", copy / "results") == []
    assert compare_notebooks(default_build / "notebooks", copy / "notebooks") == []
    (copy / "results" / "metrics.json").write_text("{}")
    keys = json.loads((default_build / "results" / "metrics.json").read_text())
    diffs = compare_results(default_build / "results", copy / "results")
    assert len(diffs) == len(keys) and all(d.endswith("→ null") for d in diffs)


def test_rerun_config_follows_the_manifest(tmp_path):
    """A run made with --data and --project is re-run with that data and those projects only."""
    data = tmp_path / "export"
    data.mkdir()
    cfg = config.load(ROOT / "evaluation.yml")
    recorded = {
        "config": {"file": str(cfg.path)},
        "synthetic": False,
        "inputs": {str(cfg.published.resolve()): "x", str(data): "y"},
        "notebooks": [
            {"name": "conversion-moh1", "parameters": {"project": "MOH1"}},
            {"name": "published", "parameters": {}},
        ],
    }
    again = rerun_config(cfg, recorded)
    assert again.cases == data and again.synthetic is False
    assert [p.id for p in again.projects] == ["MOH1"]
    recorded["inputs"] = {str(cfg.cases.resolve()): "z"}
    recorded["notebooks"] = []
    same = rerun_config(cfg, recorded)
    assert same.cases == cfg.cases and [p.id for p in same.projects] == ["ENH", "MOH1", "MOH2"]
