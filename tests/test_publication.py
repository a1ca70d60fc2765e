"""The publication step on the default build: the output-checking report, the checked cells,
and an adversary who reads only the published files."""

from __future__ import annotations

import json

import pandas as pd
from adversary import feasible_ranges


def _published(build):
    cells = pd.read_csv(build / "results" / "disclosure" / "checked_cells.csv", dtype=str)
    rel = pd.read_csv(build / "results" / "disclosure" / "relations.csv", dtype=str)
    return cells, [(w, p.split(" + ")) for w, p in zip(rel["whole"], rel["parts"], strict=True)]


def test_adversary_on_the_published_files(default_build):
    cells, sums = _published(default_build)
    counts = cells[cells["kind"] == "count"]
    shown = {k: float(v) for k, v in zip(counts["key"], counts["value"], strict=True) if v != "x"}
    withheld = set(counts.loc[counts["value"] == "x", "key"])
    named = set(cells["key"])
    unpublished = {k for w, ps in sums for k in (w, *ps) if k not in named}
    count_sums = [(w, ps) for w, ps in sums if not w.endswith("amount_eur")]
    ranges = feasible_ranges(shown, withheld, unpublished, count_sums)
    assert withheld, "the default data has small cells"
    assert {k: r for k, r in ranges.items() if r[1] - r[0] < 5} == {}
    # no small count is printed
    assert not [k for k, v in shown.items() if 1 <= v <= 4]


def test_report_lists_every_artefact_and_metrics_agree(default_build):
    rep = json.loads((default_build / "disclosure" / "report.json").read_text())
    listed = {a["artefact"] for a in rep["artefacts"]}
    assert {"metrics.json", "report:moh1", "results/summary/support_points.csv"} <= listed
    md = (default_build / "disclosure" / "report.md").read_text()
    assert all(f"`{a}`" in md for a in listed)
    cells, _ = _published(default_build)
    value = dict(zip(cells["key"], cells["value"], strict=True))
    metrics = json.loads((default_build / "results" / "metrics.json").read_text())
    for p in ("enh", "moh1", "moh2"):
        m = metrics[f"{p}.return_rate"]
        # the same people are the same number in both files (or withheld in both)
        assert value[f"{p.upper()}/returned"] in (str(m["n"]), "x")
        assert value[f"{p.upper()}/enrolled"] == str(m["N"])
    methods = (default_build / "report" / "index.html").read_text(encoding="utf-8")
    assert "disclosure/report.md" in methods


def test_report_says_how_every_results_file_is_protected(default_build):
    """The output-checking report names every results file and how it is protected; the files
    the ledger covers are among those checked cell by cell."""
    rep = json.loads((default_build / "disclosure" / "report.json").read_text())
    status = {f["file"]: f["protection"] for f in rep["results_files"]}
    results = (default_build / "results").resolve()
    on_disk = {
        f"results/{p.relative_to(results)}"
        for p in results.rglob("*")
        if p.suffix in (".csv", ".json") and p.parts[len(results.parts)] != "disclosure"
        and p.name != "metrics.json"
    }  # fmt: skip
    assert set(status) == on_disk
    for f in ("moh1/durability_bounds.csv", "enh/conversion_chain.csv",
              "enh/conversion_subgroups.csv", "moh1/conversion_cif_horizons.csv",
              "moh1/durability_km_by_country.csv", "moh2/durability_km_by_support.csv",
              "moh1/durability_score_distribution.csv", "moh2/durability_share_above.csv",
              "moh1/durability_trajectory.csv", "enh/conversion_exits.csv",
              "summary/amif.csv"):  # fmt: skip
        assert status[f"results/{f}"].startswith("checked cell by cell"), f
    assert status["results/summary/projects.csv"].startswith("no counts of people")
    md = (default_build / "disclosure" / "report.md").read_text()
    table_by_table = [f for f, s in status.items() if s.startswith("protected table by table")]
    for f in table_by_table:
        assert f"`{f}` | protected table by table" in md, f
