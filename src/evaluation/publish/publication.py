"""The publication step: fill the ledger, run the joint check once, write what it decided.

Written once per build, while the notebooks start (the decision depends only on the prepared
data, the published figures and the configuration):

* ``build/internal/disclosure/<key>/ledger.json`` and ``decision.json``: full precision, never
  published, left out of every export (the whole ``build/internal/`` folder is internal);
* ``<run>/results/disclosure/checked_cells.csv``: every ledger cell as published (withheld
  cells marked ``x``), and ``relations.csv``: which cells add up to which (structure only);
* ``<run>/disclosure/report.md`` and ``report.json``: the output-checking report.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from evaluation.publish import joint
from evaluation.publish.ledger import COUNT, Ledger

INTERNAL = "internal"  # build/internal/: full-precision tables, never published


def decide(
    tables: Mapping[str, pd.DataFrame],
    projects: Sequence[tuple[str, str]],
    figures: pd.DataFrame | None,
    cutoff: Any,
    threshold: int,
    follow_up_options: Mapping | None = None,
    return_plan: Any = None,
    ends: Mapping | None = None,
    landmark_months: float | None = None,
    plan: Any = None,
) -> tuple[Ledger, joint.Decision]:
    """Build the ledger of every published cell and decide suppression for all of it at once
    (return_plan, ends and plan: see publish.ledger_build.build)."""
    from evaluation.publish import ledger_build, ledger_durability

    ledger = ledger_build.build(
        tables,
        projects,
        figures,
        cutoff,
        follow_up_options,
        return_plan,
        ends,
        landmark_months,
        min_cell=threshold,
        plan=plan,
    )
    decision = joint.check(ledger, joint.Rules(threshold=threshold))
    # headline shares the check withholds: a safe lower bound on the numerator, if one exists
    for pid, kind in projects:
        for w in ledger_durability.WINDOWS:
            stayed = f"{pid}/stayed|window={w}"
            if kind == "return" and stayed in decision.withheld:
                bound = joint.safe_lower_bound(ledger, decision, stayed)
                if bound is not None:
                    decision.bounds[stayed] = bound
    return ledger, decision


def checked_cells(ledger: Ledger, decision: joint.Decision) -> pd.DataFrame:
    """Every published cell as a reader sees it: value, or 'x' where withheld."""
    rows = []
    for c in ledger.cells.values():
        if not c.artefacts:
            continue
        shown = decision.shown(c.key)
        value: object = (c.value if c.kind == COUNT else round(c.value, 2)) if shown else "x"
        rows.append(
            {
                "key": c.key,
                "population": c.population,
                "counts": c.numerator,
                **{f"dim_{k}": v for k, v in sorted(c.dims.items())},
                "value": value,
                "kind": c.kind,
            }
        )
    df = pd.DataFrame(
        rows, columns=["key", "population", "counts", "value", "kind"] if not rows else None
    )
    dims = sorted(c for c in df.columns if c.startswith("dim_"))
    return df[["key", "population", "counts", *dims, "value", "kind"]].sort_values("key")


def report(ledger: Ledger, decision: joint.Decision) -> dict[str, Any]:
    """The output-checking record: each artefact, the rules, each withheld cell and why."""
    lost = joint.information_lost(ledger, decision)
    artefacts = []
    for a in ledger.artefacts():
        cells = [c for c in ledger.cells.values() if a in c.artefacts]
        derived = [d for d in ledger.derived.values() if a in d.artefacts]
        artefacts.append(
            {
                "artefact": a,
                "cells": len(cells),
                "withheld": sum(not decision.shown(c.key) for c in cells),
                "derived": len(derived),
                "derived_withheld": sum(not decision.shown(d.key) for d in derived),
            }
        )
    withheld = []
    for key, rule in sorted(decision.withheld.items()):
        c = ledger.cells[key]
        lo, hi = decision.ranges.get(key, (None, None))
        withheld.append(
            {
                "cell": key,
                "rule": rule,
                "published_in": sorted(c.artefacts) or ["(not printed; derivable)"],
                "reader_can_prove": [lo, None if hi == float("inf") else hi],
            }
        )
    r = decision.rules
    return {
        "rules": {
            "primary": f"counts 1–{r.threshold - 1} withheld (threshold {r.threshold})",
            "complement": "a rate n/N also withholds n when N − n is 1–"
            f"{r.threshold - 1}; N − n is a cell of its own",
            "shared numerators": "bounds sharing a numerator are one cell",
            "linked tables": "margins, cohorts, support points, subgroups, project unions and "
            "published totals are linear relations checked together",
            "dominance": f"amounts: ({r.nk_n}, {r.nk_k:.0%}) and p-ratio {r.p_ratio:.0%}",
            "secondary": "chosen jointly until every withheld count has a feasible range at "
            f"least {r.threshold} wide under the integer program of all relations",
            "model degrees of freedom": "a model's estimates (the durability trajectory's "
            "mixed model) are shown only with residual degrees of freedom ≥ 10, ACRO's "
            "MinimumDoFCheck (acro 1.0.2, safe_dof_threshold), implemented in "
            "publish.model_rules; acro itself is not installed: it pins pandas ≤ 2.3.3",
        },
        "information_lost": lost,
        "artefacts": artefacts,
        "withheld": withheld,
        "derived_withheld": [
            {"statistic": k, "because": v} for k, v in sorted(decision.derived_withheld.items())
        ],
    }


def report_markdown(rep: dict[str, Any]) -> str:
    """report() as Markdown for build/disclosure/report.md."""
    lines = ["# Output-checking report", "", "## Rules", ""]
    lines += [f"- **{k}**: {v}" for k, v in rep["rules"].items()]
    lost = rep["information_lost"]
    lines += [
        "",
        "## Information lost",
        "",
        f"{lost['withheld_cells']} of {lost['published_cells']} published cells withheld "
        f"({100 * lost['withheld_share']:.1f} %); {lost['derived_withheld']} of "
        f"{lost['derived_statistics']} derived statistics (rates, means, curve steps) withheld. "
        f"By rule: {', '.join(f'{k} {v}' for k, v in lost['by_rule'].items())}.",
        "",
        "## Artefacts",
        "",
        "| artefact | cells | withheld | derived | derived withheld |",
        "|:--|--:|--:|--:|--:|",
    ]
    lines += [
        f"| `{a['artefact']}` | {a['cells']} | {a['withheld']} | {a['derived']} | "
        f"{a['derived_withheld']} |"
        for a in rep["artefacts"]
    ]
    lines += ["", "## Withheld cells", "", "| cell | rule | reader can prove |", "|:--|:--|:--|"]
    for w in rep["withheld"]:
        lo, hi = w["reader_can_prove"]
        lines.append(f"| `{w['cell']}` | {w['rule']} | {lo}–{'∞' if hi is None else hi} |")
    return "\n".join(lines) + "\n"


def write(
    ledger: Ledger,
    decision: joint.Decision,
    internal_dir: Path,
    results_dir: Path,
    disclosure_dir: Path,
) -> None:
    """Write the internal ledger and decision, the checked cells and the checking report."""
    from evaluation.publish.export import write_csv

    internal_dir.mkdir(parents=True, exist_ok=True)
    (internal_dir / "ledger.json").write_text(
        json.dumps(ledger.as_records(), indent=1, default=str) + "\n", encoding="utf-8"
    )
    (internal_dir / "decision.json").write_text(
        json.dumps(decision.as_dict(), indent=1, sort_keys=True) + "\n", encoding="utf-8"
    )
    (internal_dir / "derived.json").write_text(
        json.dumps(sorted(ledger.derived), indent=0) + "\n", encoding="utf-8"
    )
    write_csv(checked_cells(ledger, decision), results_dir / "checked_cells.csv")
    # the structure a reader knows anyway (which counts add up to which), no values
    write_csv(
        pd.DataFrame([{"whole": r.whole, "parts": " + ".join(r.parts)} for r in ledger.relations]),
        results_dir / "relations.csv",
    )
    disclosure_dir.mkdir(parents=True, exist_ok=True)
    rep = report(ledger, decision)
    (disclosure_dir / "report.json").write_text(
        json.dumps(rep, indent=1, sort_keys=True, default=str) + "\n", encoding="utf-8"
    )
    (disclosure_dir / "report.md").write_text(report_markdown(rep), encoding="utf-8")


def add_files(disclosure_dir: Path, files: Mapping[str, str]) -> None:
    """Add how each results file of the run is protected (publish.gate.file_status) to the
    output-checking report, so that it lists every artefact, also those outside the ledger."""
    path = disclosure_dir / "report.json"
    rep = json.loads(path.read_text(encoding="utf-8"))
    rep["results_files"] = [{"file": f"results/{k}", "protection": v} for k, v in files.items()]
    path.write_text(json.dumps(rep, indent=1, sort_keys=True, default=str) + "\n", "utf-8")
    lines = ["", "## Results files", "", "| file | protection |", "|:--|:--|"]
    lines += [f"| `results/{k}` | {v} |" for k, v in sorted(files.items())]
    md = disclosure_dir / "report.md"
    md.write_text(md.read_text(encoding="utf-8") + "\n".join(lines) + "\n", encoding="utf-8")
