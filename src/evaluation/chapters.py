"""Report parts that depend on the configuration: one section per project, the exhibit list
and the provenance appendix. Written into the staged project's reports/_generated/ at render
time, as ordinary Quarto Markdown with `{{< embed >}}` shortcodes."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from evaluation.config import Config
from evaluation.embed import read_notebook
from evaluation.present import markdown_table

NB_REL = "../../build/notebooks"  # from reports/_generated/ to the staged notebooks


def _embeds(nb_path: Path, rel: str) -> list[str]:
    if not nb_path.is_file():
        return []
    nb = read_notebook(nb_path)
    return [f"{{{{< embed {rel}#{label} >}}}}" for label, cell in nb.cells.items() if cell.outputs]


def _project_sections(cfg: Config, run_dir: Path, notebook: str, title: str) -> str:
    parts = []
    for p in cfg.projects:
        if notebook not in p.notebooks:
            continue
        nb = run_dir / "notebooks" / p.key / f"{notebook}.ipynb"
        embeds = _embeds(nb, f"{NB_REL}/{p.key}/{notebook}.ipynb")
        if not embeds:
            continue
        parts.append(f"## {p.id}: {p.name} {{#sec-{notebook}-{p.key}}}\n")
        parts.append(f"{title} for {p.id}, {p.start:%B %Y} to {p.end:%B %Y}.\n")
        parts.append("\n\n".join(embeds) + "\n")
    return "\n".join(parts) if parts else "_No project in the configuration has this analysis._\n"


def _comparison(run_dir: Path) -> str:
    parts = []
    for nb in ("comparison", "durability_comparison"):
        parts += _embeds(run_dir / "notebooks" / "comparison" / f"{nb}.ipynb",
                         f"{NB_REL}/comparison/{nb}.ipynb")
    return "\n\n".join(parts) + "\n" if parts else "_Fewer than two return projects: no comparison._\n"


def exhibit_list(run_dir: Path) -> pd.DataFrame:
    """Each figure and table -> notebook, cell label and the results files that notebook wrote."""
    rows = []
    for nb_path in sorted((run_dir / "notebooks").rglob("*.ipynb")):
        group = nb_path.parent.name
        nb = read_notebook(nb_path)
        files = sorted(p.name for p in (run_dir / "results" / group).glob("*.csv"))
        for label in nb.cells:
            if label.startswith(("fig-", "tbl-")):
                rows.append({
                    "Exhibit": f"@{label}",
                    "Notebook": f"notebooks/{nb_path.name} ({group})",
                    "Cell label": f"`{label}`",
                    "Results files": ", ".join(f"`results/{group}/{f}`" for f in files[:6])
                    + (" …" if len(files) > 6 else ""),
                })
    return pd.DataFrame(rows)


def write_generated(cfg: Config, out: Path, run_dir: Path) -> None:
    """Write the configuration-dependent report parts into out/."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "conversion.qmd").write_text(
        _project_sections(cfg, run_dir, "conversion", "Conversion"), encoding="utf-8")
    (out / "durability.qmd").write_text(
        _project_sections(cfg, run_dir, "durability", "Durability of reintegration"),
        encoding="utf-8")
    (out / "comparison.qmd").write_text(_comparison(run_dir), encoding="utf-8")
    ex = exhibit_list(run_dir)
    (out / "exhibits.qmd").write_text(
        markdown_table(ex) + "\n\n: Exhibit list: every figure and table, the notebook and cell "
        "that made it, and the tidy results files behind it. {#tbl-exhibits}\n"
        if not ex.empty else "_No exhibits._\n",
        encoding="utf-8",
    )
    meta = {
        "projects": [{"id": p.id, "start": str(p.start), "end": str(p.end)} for p in cfg.projects],
        "synthetic": cfg.synthetic,
    }
    (out / "projects.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
