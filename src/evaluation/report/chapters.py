"""Report parts that depend on the configuration or the run: one section per project, the
exhibit list and the run record of the provenance appendix. Written into the staged project's
reports/_generated/ at render time, as ordinary Quarto Markdown with `{{< embed >}}` shortcodes.
"""

from __future__ import annotations

import json
import os
import platform
import re
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from evaluation.config import Config, Project, read_yaml
from evaluation.report.documents import in_annex, moved_topics
from evaluation.report.embed import EMBED, expand_includes, read_notebook
from evaluation.report.matrix import load_matrix, matrix_table
from evaluation.report.tables import markdown_table

# from reports/ to the staged notebooks: Quarto pastes included chapters into reports/index.qmd,
# so embed paths in reports/_generated/*.qmd resolve from reports/, not from _generated/
NB_REL = "../build/notebooks"
SAVE = re.compile(r"save_table\([^,]+,\s*[^,]+,\s*[\"']([\w.-]+)[\"']")
# words of a cell label that name a results file differently (label word -> file word)
ALIASES = {
    "survival": "km",
    "scores": "score_distribution",
    "shares": "share_above",
    "return": "return_rates",
    "cif": "cif",
}
RUN_RECORD = "run_record.tsv"
# Exhibit, Notebook, Cell label (breaks at hyphens), Results files: relative widths in %
EXHIBIT_WIDTHS = (11, 28, 23, 38)
# Question, Indicator, Value (95 % CI), n of N, What it means
KEY_FINDINGS_WIDTHS = (10, 21, 27, 12, 30)

INTRO = {
    "conversion": (
        "{id} ({name}) ran from {start:%B %Y} to {end:%B %Y}. This section follows every "
        "client enrolled in {id} from enrolment to {outcome}: the funnel and its half-year "
        "cohorts, the time to return with competing exits counted as such, the shares by "
        "subgroup, and the pre-specified regression models, which are only reported when the "
        "number of events allows."
    ),
    "durability": (
        "This section follows the people who returned through {id} after arrival, at the "
        "monitoring windows up to a year: how many partners reached, whether returnees were "
        "still in the country of return (three ways, because those not reached cannot be "
        "assumed to have stayed), and their reintegration scores."
    ),
}


def _embeds(nb_path: Path, rel: str, annex: bool | None = False, suffix: str = "") -> list[str]:
    """Embeds of a notebook's cells with outputs: those of the evaluation (annex False), those
    of the annex (True), or all (None)."""
    if not nb_path.is_file():
        return []
    nb = read_notebook(nb_path)
    return [
        f"{{{{< embed {rel}#{label} >}}}}"
        for label, cell in nb.cells.items()
        if cell.outputs and (annex is None or in_annex(label, suffix) == annex)
    ]


def _moved(nb_path: Path, suffix: str = "") -> list[str]:
    """What the annex shows of a notebook: its annex cells that show an exhibit or a text."""
    if not nb_path.is_file():
        return []
    cells = read_notebook(nb_path).cells
    shown = [
        label
        for label, c in cells.items()
        if in_annex(label, suffix) and (shows_exhibit(label, c.outputs) or label.startswith("txt-"))
    ]
    return moved_topics(shown, suffix)


def _pointer(topics: list[str], section: str) -> str:
    """The evaluation's sentence that sends the reader to the annex for the rest."""
    listed = topics[0] if len(topics) == 1 else ", ".join(topics[:-1]) + " and " + topics[-1]
    ref = f"{{{{< xref annex {section} >}}}}"
    return f"Further detail — {listed} — is in the technical annex ({ref}).\n"


def _intro(notebook: str, p: Project) -> str:
    outcome = (
        "referral to a return organisation and verified return"
        if p.kind == "counselling"
        else "verified return"
    )
    return INTRO[notebook].format(id=p.id, name=p.name, start=p.start, end=p.end, outcome=outcome)


def _project_embeds(
    cfg: Config, run_dir: Path, notebook: str, annex: bool
) -> Iterator[tuple[Project, Path, list[str]]]:
    """Each project that has the analysis, with its run notebook and the embeds of its cells
    for the evaluation (annex False) or the annex (True)."""
    for p in cfg.projects:
        if notebook in p.notebooks:
            nb = run_dir / "notebooks" / p.key / f"{notebook}.ipynb"
            rel = f"{NB_REL}/{p.key}/{notebook}.ipynb"
            yield p, nb, _embeds(nb, rel, annex=annex, suffix=p.key)


def _project_sections(cfg: Config, run_dir: Path, notebook: str) -> str:
    parts = []
    for p, nb, embeds in _project_embeds(cfg, run_dir, notebook, annex=False):
        if not embeds:
            continue
        parts.append(f"## {p.id}: {p.name} {{#sec-{notebook}-{p.key}}}\n")
        parts.append(_intro(notebook, p) + "\n")
        parts.append("\n\n".join(embeds) + "\n")
        topics = _moved(nb, p.key)
        if topics:
            parts.append(_pointer(topics, f"sec-annex-{notebook}-{p.key}"))
    return "\n".join(parts) if parts else "_No project in the configuration has this analysis._\n"


ANNEX_HEADINGS = {"conversion": "conversion", "durability": "durability of reintegration"}


def annex_project_sections(cfg: Config, run_dir: Path, notebook: str) -> str:
    """The annex's detailed results of one analysis: a section per project that has any."""
    parts = []
    for p, nb, embeds in _project_embeds(cfg, run_dir, notebook, annex=True):
        if not _moved(nb, p.key):
            continue
        parts.append(f"## {p.id}: {ANNEX_HEADINGS[notebook]} {{#sec-annex-{notebook}-{p.key}}}\n")
        parts.append(
            f"The detail behind {{{{< xref evaluation sec-{notebook}-{p.key} >}}}} of the "
            "evaluation.\n"
        )
        parts.append("\n\n".join(embeds) + "\n")
    return "\n".join(parts) + "\n" if parts else ""


COMPARISON_NOTEBOOKS = ("comparison", "durability_comparison")


def _comparison(run_dir: Path) -> str:
    parts = []
    topics: list[str] = []
    for nb in COMPARISON_NOTEBOOKS:
        path = run_dir / "notebooks" / "comparison" / f"{nb}.ipynb"
        parts += _embeds(path, f"{NB_REL}/comparison/{nb}.ipynb", annex=False)
        topics += [t for t in _moved(path) if t not in topics]
    if not parts:
        return "_Fewer than two return projects: no comparison._\n"
    pointer = "\n" + _pointer(topics, "sec-annex-comparison") if topics else ""
    return "\n\n".join(parts) + "\n" + pointer


def annex_comparison(run_dir: Path) -> str:
    """The annex's detail of the comparison of projects, if any."""
    parts = []
    for nb in COMPARISON_NOTEBOOKS:
        path = run_dir / "notebooks" / "comparison" / f"{nb}.ipynb"
        if _moved(path):
            parts += _embeds(path, f"{NB_REL}/comparison/{nb}.ipynb", annex=True)
    if not parts:
        return ""
    return (
        "## Comparison of projects {#sec-annex-comparison}\n\n"
        "The detail behind {{< xref evaluation sec-comparison >}} of the evaluation.\n\n"
        + "\n\n".join(parts)
        + "\n"
    )


def _efficiency(run_dir: Path) -> str:
    nb = run_dir / "notebooks" / "efficiency" / "efficiency.ipynb"
    parts = _embeds(nb, f"{NB_REL}/efficiency/efficiency.ipynb")
    if not parts:
        return "_No return project in the configuration: no efficiency analysis._\n"
    return "\n\n".join(parts) + "\n"


def _matrix(cfg: Config, run_dir: Path) -> str:
    shown = set()
    for nb_path in (run_dir / "notebooks").rglob("*.ipynb"):
        cells = read_notebook(nb_path).cells
        shown |= {label for label, c in cells.items() if shows_exhibit(label, c.outputs)}
    table = matrix_table(load_matrix(), cfg, shown)
    return (
        markdown_table(table)
        + "\n\n: Evaluation matrix: each evaluation question, its OECD-DAC criterion, the "
        "criterion it is judged by and the exhibits that answer it "
        "(`evaluation_questions.yaml`). {#tbl-matrix}\n"
    )


def _key_findings(cfg: Config, run_dir: Path) -> str:
    from evaluation.report import key_findings as kf

    path = run_dir / "results" / "metrics.json"
    metrics = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    m = load_matrix()
    table = kf.key_findings(m, cfg, metrics, kf.load_indicator_display(), cfg.disclosure_min_count)
    if table.empty:
        return "_No headline indicator was computed in this run._\n"
    return (
        with_widths(markdown_table(table), KEY_FINDINGS_WIDTHS)
        + "\n\n: Key findings: the headline indicator of each evaluation question (@tbl-matrix), "
        "with its 95 % interval and the number of people it rests on (n of N). "
        "{#tbl-key-findings}\n\n" + kf.criterion_findings(m, table) + "\n"
    )


def shows_exhibit(label: str, outputs: list[dict]) -> bool:
    """A fig- cell that drew an image, or a tbl- cell that emitted a pipe table (a withheld or
    not-applicable table emits a note instead and gets no number, so it is not an exhibit)."""
    for out in outputs:
        data = out.get("data", {})
        if label.startswith("fig-") and "image/png" in data:
            return True
        md = "".join(data.get("text/markdown", ""))
        if label.startswith("tbl-") and any(ln.lstrip().startswith("|") for ln in md.splitlines()):
            return True
    return False


CAPTION_OPTION = re.compile(r"^#\|\s*(?:fig|tbl)-(?:cap|alt|subcap)\s*:")


def demote_non_exhibits(notebooks: Path, reports: Path) -> dict[str, str]:
    """In a staged project: relabel each fig-/tbl- cell that showed a note instead of its
    figure or table ('Not applicable…', 'Table withheld…') as note-…, drop its caption, and
    point the embeds in reports/ at the new label. Quarto numbers every fig-/tbl- cell, the
    fallback only those that show one: this way both number the same exhibits.

    Returns old label -> new label.
    """
    renamed: dict[Path, dict[str, str]] = {}
    for nb_path in sorted(notebooks.rglob("*.ipynb")):
        nb = json.loads(nb_path.read_text(encoding="utf-8"))
        changes: dict[str, str] = {}
        for cell in nb.get("cells", []):
            if cell.get("cell_type") != "code" or not cell.get("outputs"):
                continue
            src = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
            label = _cell_label(src)
            if not label or not label.startswith(("fig-", "tbl-")):
                continue
            if shows_exhibit(label, cell["outputs"]):
                continue
            changes[label] = "note-" + label[4:]
            lines = [
                ln.replace(label, changes[label]) if _cell_label(ln) == label else ln
                for ln in src.splitlines(keepends=True)
                if not CAPTION_OPTION.match(ln)
            ]
            cell["source"] = "".join(lines)
        if changes:
            nb_path.write_text(json.dumps(nb, indent=1, ensure_ascii=False), encoding="utf-8")
            renamed[nb_path.resolve()] = changes

    def repoint(m: re.Match) -> str:
        new = renamed.get((reports / m.group(1)).resolve(), {}).get(m.group(2))
        return m.group(0).replace(f"#{m.group(2)}", f"#{new}") if new else m.group(0)

    for qmd in sorted(reports.rglob("*.qmd")):
        text = qmd.read_text(encoding="utf-8")
        changed = EMBED.sub(repoint, text)
        if changed != text:
            qmd.write_text(changed, encoding="utf-8")
    return {old: new for changes in renamed.values() for old, new in changes.items()}


def _cell_label(src: str) -> str | None:
    m = re.search(r"^#\|\s*label:\s*([\w-]+)", src, re.M)
    return m.group(1) if m else None


def results_for_cells(nb_path: Path, files: list[str], suffix: str) -> dict[str, list[str]]:
    """Label -> the results files behind that cell: files saved in the cell itself, else files
    whose name holds every word of the label, else those saved by the last unlabelled cell."""
    nb = json.loads(nb_path.read_text(encoding="utf-8"))
    stems = {Path(f).stem: f for f in files}
    out: dict[str, list[str]] = {}
    pending: list[str] = []
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        src = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        saved = [stems[s] for s in SAVE.findall(src) if s in stems]
        label = _cell_label(src)
        if label is None:
            pending = saved or pending
            continue
        words = label.split("-", 1)[-1]
        if suffix and words.endswith(f"-{suffix}"):
            words = words[: -len(suffix) - 1]
        want = {ALIASES.get(w, w) for w in words.split("-")}
        named = [f for s, f in stems.items() if all(w in s for w in want)]
        out[label] = saved or named or pending
    return out


def exhibit_list(
    run_dir: Path, order: list[str] | None = None, evaluation: frozenset[str] = frozenset()
) -> pd.DataFrame:
    """Each figure and table shown -> notebook, cell label and the results files behind it,
    in the order the report shows them (as in an AEA replication README). The list sits in the
    annex: an exhibit of the evaluation (a label in `evaluation`) is referred to across."""
    rows = []
    for nb_path in sorted((run_dir / "notebooks").rglob("*.ipynb")):
        group = nb_path.parent.name
        nb = read_notebook(nb_path)
        files = sorted(p.name for p in (run_dir / "results" / group).glob("*.csv"))
        behind = results_for_cells(nb_path, files, group)
        for label, cell in nb.cells.items():
            if not label.startswith(("fig-", "tbl-")) or not shows_exhibit(label, cell.outputs):
                continue
            used = behind.get(label) or []
            rows.append(
                {
                    "Exhibit": (
                        f"{{{{< xref evaluation {label} >}}}}"
                        if label in evaluation
                        else f"@{label}"
                    ),
                    # plain text and file names only (the folder is results/<group>/): code
                    # spans and full paths cannot wrap and ran past the margin of the PDF
                    "Notebook": f"{nb_path.name} ({group})",
                    "Cell label": label,
                    "Results files": ", ".join(used) or "metrics.json",
                    "_label": label,
                }
            )
    df = pd.DataFrame(
        rows, columns=["Exhibit", "Notebook", "Cell label", "Results files", "_label"]
    )
    if order:
        rank = {label: i for i, label in enumerate(order)}
        df = df[df["_label"].isin(rank)]
        df = df.assign(_rank=df["_label"].map(rank)).sort_values("_rank")
    return df.drop(columns=[c for c in ("_label", "_rank") if c in df.columns]).reset_index(
        drop=True
    )


def with_widths(table: str, widths: tuple[int, ...]) -> str:
    """A pipe table with relative column widths (in %) set by its rule line, so that unbreakable
    names (notebook and file names) get the room they need in the PDF and in Word."""
    lines = table.splitlines()
    cells = lines[1].strip("|").split("|")
    rule = [
        (":" if c.startswith(":") else "") + "-" * w + (":" if c.endswith(":") else "")
        for c, w in zip(cells, widths, strict=True)
    ]
    return "\n".join([lines[0], "|" + "|".join(rule) + "|", *lines[2:]])


def report_order(index_qmd: Path) -> list[str]:
    """fig-/tbl- labels in the order the (expanded) report embeds them."""
    text = expand_includes(index_qmd)
    return [label for _, label in EMBED.findall(text) if label.startswith(("fig-", "tbl-"))]


def run_record(cfg: Config, run_dir: Path) -> pd.DataFrame:
    """Commit and hardware of the run. Run times are left to build/manifest.json: they differ
    on every run, and `evaluation verify` compares every results file byte for byte."""
    from evaluation.hashing import git_commit

    return pd.DataFrame(
        [
            {"Item": "git commit", "Value": git_commit()},
            {"Item": "version (short commit)", "Value": git_commit()[:7]},
            {
                "Item": "hardware",
                "Value": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs",
            },
            {"Item": "configuration", "Value": cfg.path.name},
            {
                "Item": "notebooks executed",
                "Value": str(len(list((run_dir / "notebooks").rglob("*.ipynb")))),
            },
        ]
    )


def title_block(cfg: Config, index_qmd: Path, commit: str) -> str:
    """Commissioning organisation, evaluator, version (commit), date (data cut-off) and how to
    cite, from the front matter of index.qmd; also dates the staged index.qmd with the cut-off."""
    meta = _dated_front_matter(cfg, index_qmd)
    version = commit[:7] if commit and commit != "unknown" else "unversioned"
    evaluator = meta.get("evaluator") or meta.get("author") or "the evaluator"
    title = meta.get("title", cfg.title)
    return (
        "::: {.title-block}\n"
        f"**Commissioned by** {meta.get('commissioned-by', 'the commissioning organisation')}. "
        f"**Evaluator:** {evaluator}. **Version** {version}, data cut-off "
        f"{cfg.cutoff.isoformat()}.\n\n"
        f"**How to cite:** {evaluator} ({cfg.cutoff.year}). *{title}*. Version {version}, data "
        f"cut-off {cfg.cutoff.isoformat()}.\n\n"
        "The **technical annex** is a separate document (`annex.html`, `annex.docx`, "
        "`annex.pdf`): detailed tables per project, the analysis plan, the validation report, "
        "the data dictionary, the exhibit list and the provenance of every number "
        "({{< xref annex sec-annex-results >}} onwards).\n:::\n"
    )


def _dated_front_matter(cfg: Config, qmd: Path) -> dict:
    """The front matter of a staged .qmd, dated with the data cut-off if it has no date."""

    text = qmd.read_text(encoding="utf-8")
    end = text.find("\n---", 3)
    meta = read_yaml(text[3:end]) or {}
    if "date" not in meta:
        qmd.write_text(
            text[:end] + f'\ndate: "{cfg.cutoff.isoformat()}"' + text[end:], encoding="utf-8"
        )
    return meta


def annex_title_block(cfg: Config, annex_qmd: Path, commit: str) -> str:
    """Which evaluation the annex belongs to: its version and data cut-off."""
    meta = _dated_front_matter(cfg, annex_qmd)
    version = commit[:7] if commit and commit != "unknown" else "unversioned"
    return (
        "::: {.title-block}\n"
        f"Technical annex to *{meta.get('evaluation-title', cfg.title)}* "
        f"(`index.html`, `evaluation.docx`, `evaluation.pdf`). **Version** {version}, data "
        f"cut-off {cfg.cutoff.isoformat()}. References to the evaluation read "
        '"Evaluation Section …", "Evaluation Table …".\n:::\n'
    )


def write_generated(cfg: Config, out: Path, run_dir: Path) -> None:
    """Write the configuration- and run-dependent report parts into out/."""
    from evaluation.hashing import git_commit

    out.mkdir(parents=True, exist_ok=True)
    index = out.parent / "index.qmd"
    if index.is_file():
        (out / "title_block.qmd").write_text(
            title_block(cfg, index, git_commit()), encoding="utf-8"
        )
    if (out.parent / "annex.qmd").is_file():
        (out / "annex_title_block.qmd").write_text(
            annex_title_block(cfg, out.parent / "annex.qmd", git_commit()), encoding="utf-8"
        )
    (out / "conversion.qmd").write_text(
        _project_sections(cfg, run_dir, "conversion"), encoding="utf-8"
    )
    (out / "durability.qmd").write_text(
        _project_sections(cfg, run_dir, "durability"), encoding="utf-8"
    )
    (out / "comparison.qmd").write_text(_comparison(run_dir), encoding="utf-8")
    (out / "efficiency.qmd").write_text(_efficiency(run_dir), encoding="utf-8")
    (out / "matrix.qmd").write_text(_matrix(cfg, run_dir), encoding="utf-8")
    (out / "key_findings.qmd").write_text(_key_findings(cfg, run_dir), encoding="utf-8")
    record = run_record(cfg, run_dir)
    summary_results = run_dir / "results" / "summary"
    summary_results.mkdir(parents=True, exist_ok=True)
    record.to_csv(summary_results / RUN_RECORD, sep="\t", index=False)
    (out / "run_record.qmd").write_text(
        markdown_table(record, raw=True) + "\n\n: Run record: commit and hardware of this run "
        f"(`results/summary/{RUN_RECORD}`; run times are in `build/manifest.json`). "
        "{#tbl-run-record}\n",
        encoding="utf-8",
    )
    (out / "exhibits.qmd").write_text("_Exhibit list pending._\n", encoding="utf-8")
    (out / "annex_conversion.qmd").write_text(
        annex_project_sections(cfg, run_dir, "conversion"), encoding="utf-8"
    )
    (out / "annex_durability.qmd").write_text(
        annex_project_sections(cfg, run_dir, "durability"), encoding="utf-8"
    )
    (out / "annex_comparison.qmd").write_text(annex_comparison(run_dir), encoding="utf-8")
    index, annex = out.parent / "index.qmd", out.parent / "annex.qmd"
    main_order = report_order(index) if index.is_file() else []
    order = main_order + (report_order(annex) if annex.is_file() else [])
    ex = exhibit_list(run_dir, order or None, frozenset(main_order))
    (out / "exhibits.qmd").write_text(
        with_widths(markdown_table(ex, raw=True), EXHIBIT_WIDTHS)
        + "\n\n: Exhibit list: every figure and table in the order shown, the notebook in "
        "`notebooks/` and the cell that made it (the project in brackets), and the tidy results "
        "files behind it, in `results/<project>/` (`metrics.json` in `results/`). {#tbl-exhibits}\n"
        if not ex.empty
        else "_No exhibits._\n",
        encoding="utf-8",
    )
    meta = {
        "projects": [{"id": p.id, "start": str(p.start), "end": str(p.end)} for p in cfg.projects],
        "synthetic": cfg.synthetic,
    }
    (out / "projects.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
