"""Run the analysis notebooks in this process, on a dataset folder, without papermill or a kernel.

Validation, pseudonymisation and every code cell of the per-project and cross-project notebooks,
with the parameters the pipeline would pass: a fast stand-in for `evaluation run` that the edge-case
and property tests call many times (a full run costs ~30 s, this a few seconds).
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KEY = b"test-key-not-secret-0123456789abcdef"


def prepare(data_dir: Path, cfg, out: Path):
    """Validate data_dir against cfg; when clean, write the prepared tables into out/."""
    from evaluation.data import prepared
    from evaluation.data.pseudonymise import pseudonymise
    from evaluation.data.rules_cutoff import cutoffs_of
    from evaluation.data.validate import validate_dataset

    tables, report = validate_dataset(data_dir, cfg.periods, cutoff=cutoffs_of(cfg))
    if report.ok:
        prepared.write(pseudonymise(tables, KEY), out)
        (out / "validation.md").write_text(report.to_markdown(), encoding="utf-8")
    return report


def _cells(notebook: Path) -> list[str]:
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]


def run_notebook(name: str, params: dict, workdir: Path) -> dict:
    """Execute notebooks/<name>.ipynb cell by cell (parameters replace the first cell)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cells = _cells(ROOT / "notebooks" / f"{name}.ipynb")
    ns: dict = {"__name__": f"nb_{name}"}
    exec(compile(cells[0], f"{name}[0]", "exec"), ns)  # defaults, as papermill keeps them
    ns.update(params)
    workdir.mkdir(parents=True, exist_ok=True)
    import IPython.display

    def display(*objs, **kwargs) -> None:  # Markdown outputs as their text, like a report
        for obj in objs:
            print(getattr(obj, "data", obj))

    shown = IPython.display.display
    IPython.display.display = display
    with (
        contextlib.chdir(workdir),
        contextlib.redirect_stdout(io.StringIO()) as out,
        contextlib.ExitStack() as undo,
    ):
        undo.callback(setattr, IPython.display, "display", shown)
        for i, src in enumerate(cells[1:], start=1):
            try:
                exec(compile(src, f"{name}[{i}]", "exec"), ns)
            except Exception as exc:
                raise AssertionError(f"{name}.ipynb code cell {i} failed: {exc!r}") from exc
            finally:
                plt.close("all")
    ns["_stdout"] = out.getvalue()
    return ns


def run_upstream(cfg, prepared_dir: Path, workdir: Path, reader: str) -> str:
    """Run the notebooks whose results stores `reader` (a job name such as 'comparison' or
    'summary') reads, and theirs in turn, as the pipeline plans them; the stores_dir to pass."""
    from evaluation.pipeline.jobs import plan

    prepared = {p.id: prepared_dir for p in cfg.projects} | {"__all__": prepared_dir}
    jobs = {j.name: j for j in plan(cfg, prepared, "published")}
    stores = workdir / "upstream" / "store"
    done: set[str] = set()

    def run(name: str) -> None:
        job = jobs[name]
        for up in job.reads:
            if up not in done:
                run(up)
        params = {**job.params, "results_dir": str(workdir / "upstream" / job.group)}
        params |= {"store_dir": str(stores / name), "stores_dir": str(stores)}
        run_notebook(job.notebook.stem, params, workdir / "upstream" / "cwd")
        done.add(name)

    for up in jobs[reader].reads:
        if up not in done:
            run(up)
    return str(stores)


def run_all(cfg, prepared_dir: Path, workdir: Path) -> dict[str, dict]:
    """Every notebook the pipeline would run for cfg, on one prepared folder; their namespaces."""
    stores = workdir / "store"  # one results store per notebook run, as the pipeline lays out
    common = {
        "data_dir": str(prepared_dir),
        "config_file": str(cfg.path),
        "synthetic": True,
        "stores_dir": str(stores),
    }
    done: dict[str, dict] = {}
    for p in cfg.projects:
        for nb in p.notebooks:
            params = {**common, "project": p.id, "results_dir": str(workdir / p.key)}
            params["store_dir"] = str(stores / f"{nb}-{p.key}")
            done[f"{nb}-{p.key}"] = run_notebook(nb, params, workdir / "cwd")
    returning = [p.id for p in cfg.projects if p.kind == "return"]
    if len(returning) >= 2:
        pairs = ",".join(f"{b.id}:{p.id}" for b, p in cfg.comparisons())
        res = str(workdir / "comparison")
        done["comparison"] = run_notebook(
            "comparison",
            {
                **common,
                "projects": ",".join(returning),
                "pairs": pairs,
                "results_dir": res,
                "store_dir": str(stores / "comparison"),
            },
            workdir / "cwd",
        )
        done["durability_comparison"] = run_notebook(
            "durability_comparison",
            {**common, "projects": ",".join(returning), "results_dir": res},
            workdir / "cwd",
        )
    if returning:
        done["efficiency"] = run_notebook(
            "efficiency",
            {**common, "projects": ",".join(returning), "results_dir": str(workdir / "eff")},
            workdir / "cwd",
        )
    done["summary"] = run_notebook(
        "summary",
        {
            **common,
            "published_file": str(cfg.published),
            "results_dir": str(workdir / "summary"),
            "projects": ",".join(p.id for p in cfg.projects),
        },
        workdir / "cwd",
    )
    return done
