"""Render the report: the Quarto CLI when it is on PATH, otherwise pandoc (pypandoc-binary).

Both read the same `_quarto.yml` and `reports/*.qmd`. The fallback resolves includes and
embeds, numbers sections, figures and tables and resolves `@sec-`/`@fig-`/`@tbl-` references
the way Quarto does, then writes HTML (self-contained), DOCX and PDF (pandoc → typst → typst),
A4 with numbered headings like Quarto's. Quarto runs as a subprocess, so that its exit status
and its own error messages reach the user.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from html import escape as html_escape
from pathlib import Path

from evaluation.errors import ExecutionError
from evaluation.report.banner import link_section_headers, reference_docx, typst_page_setup
from evaluation.report.documents import OUTPUTS
from evaluation.report.embed import check_targets, expand_includes
from evaluation.report.fallback_style import CSS
from evaluation.report.numbering import document_numbers, resolve_markdown  # noqa: F401 - run.py
from evaluation.report.quarto_cli import (  # noqa: F401 - quarto_available: tests and the CLI
    clean,
    quarto_available,
    quarto_errors,
    quarto_path,
    quarto_version,
    stage_copy,
)
from evaluation.report.reproducible import (
    normalise_docx,
    pdf_dated,
    source_date,
    without_stage_paths,
)

OUTPUT_NAMES = OUTPUTS["index"]
QUARTO_FORMATS = {"html": "html", "docx": "docx", "pdf": "typst"}
# typst numbers headings like "1.1.1" (Quarto's HTML and Word, and our number-sections)
SECTION_NUMBERING = "1.1.1"
LINKS = ["--lua-filter", "../reports/_filters/document-links.lua"]


@dataclass(frozen=True)
class Renderer:
    """The renderer a run uses: its name ('quarto' or 'pandoc'), version and executable."""

    name: str
    version: str
    executable: str

    @property
    def key(self) -> str:
        """What goes into the run key: a change of renderer or version renders again."""
        return f"{self.name} {self.version}"


@dataclass
class RenderResult:
    """What a render produced and how."""

    renderer: str
    outputs: dict[str, Path]
    warnings: list[str] = field(default_factory=list)
    version: str = ""


def pandoc_version() -> str:
    """Versions behind the fallback: pandoc (pypandoc-binary) and typst (typst package)."""
    from importlib.metadata import PackageNotFoundError, version

    import pypandoc

    try:
        typst_version = version("typst")
    except PackageNotFoundError:
        typst_version = "not installed"
    return f"{pypandoc.get_pandoc_version()} (typst {typst_version})"


def choose_renderer(force_pandoc: bool = False) -> Renderer:
    """Quarto when its CLI is available (and not refused), else the pandoc fallback."""
    if not force_pandoc and quarto_available():
        exe = shutil.which(quarto_path() or "quarto") or "quarto"
        return Renderer("quarto", quarto_version(exe), exe)
    import pypandoc

    return Renderer("pandoc", pandoc_version(), pypandoc.get_pandoc_path())


def documents(stage: Path) -> list[str]:
    """The .qmd stems of the staged report, the evaluation first."""
    return [stem for stem in OUTPUTS if (stage / "reports" / f"{stem}.qmd").is_file()]


def _pandoc(md: str, to: str, out: Path, extra: list[str], cwd: Path) -> None:
    """pandoc (pypandoc-binary's) in its own working directory: the formats render in parallel
    threads, and pypandoc's `cworkdir` changes the whole process's directory (os.chdir)."""
    import pypandoc

    cmd = [pypandoc.get_pandoc_path(), "--from=markdown", f"--to={to}", f"--output={out}", *extra]
    res = subprocess.run(
        cmd, input=md, text=True, encoding="utf-8", capture_output=True, cwd=cwd, check=False
    )
    if res.returncode != 0:
        raise RuntimeError(f"pandoc failed (exit {res.returncode}): {res.stderr.strip()}")


def _typst_pdf(
    md: str, stage: Path, out: Path, banner: str | None, meta: dict, epoch: int | None = None
) -> None:
    """Markdown → typst (pandoc) → PDF (typst), with our numbering and the synthetic header."""
    import typst

    src = stage / f"{out.stem}.typ"
    numbering = (
        ["--number-sections", "--variable", f"section-numbering={SECTION_NUMBERING}"]
        if meta.get("number-sections", True)
        else []
    )
    args = ["--standalone", "--toc", "--variable", "papersize=a4", *LINKS] + numbering
    _pandoc(md, "typst", src, args + _meta_args(meta), stage)
    text = src.read_text(encoding="utf-8")
    # captions already carry "Figure N:"/"Table N:" as in HTML and Word; typst would also
    # count uncaptioned tables and drift from the numbers the text refers to
    block = "#set figure(numbering: none)\n" + typst_page_setup(banner)
    # after the template's own set-up, so ours wins
    marker = "#show: doc => conf("
    i = text.find(marker)
    text = text[:i] + block + text[i:] if i != -1 else block + text
    src.write_text(text, encoding="utf-8")
    typst.compile(str(src), output=str(out), root=str(stage), timestamp=epoch)


def _meta_args(meta: dict) -> list[str]:
    args = []
    for key in ("title", "subtitle", "date"):
        if meta.get(key):
            args += ["--metadata", f"{key}={meta[key]}"]
    if meta.get("author"):
        authors = meta["author"] if isinstance(meta["author"], list) else [meta["author"]]
        for a in authors:
            args += ["--metadata", f"author={a if isinstance(a, str) else a.get('name', '')}"]
    return args


def render_pandoc(
    stage: Path,
    out_dir: Path,
    formats: tuple[str, ...],
    banner: str | None = None,
    epoch: int | None = None,
    stems: tuple[str, ...] | None = None,
) -> RenderResult:
    """Render the staged documents (stage/reports/index.qmd and annex.qmd, or those of `stems`)
    with pandoc into out_dir."""
    with source_date(epoch):
        return _render_pandoc(stage, out_dir, formats, banner, epoch, stems)


def _render_pandoc(
    stage: Path,
    out_dir: Path,
    formats: tuple[str, ...],
    banner: str | None,
    epoch: int | None,
    stems: tuple[str, ...] | None = None,
) -> RenderResult:
    outputs: dict[str, Path] = {}
    warnings: list[str] = []
    for stem in [s for s in documents(stage) if stems is None or s in stems]:
        done, said = _render_document(stage, stem, out_dir, formats, banner, epoch)
        # the evaluation's files under the format's name, the annex's as "<format>:annex"
        outputs.update({f if stem == "index" else f"{f}:{stem}": path for f, path in done.items()})
        warnings += said
    return RenderResult("pandoc", outputs, warnings, pandoc_version())


def _render_document(
    stage: Path,
    stem: str,
    out_dir: Path,
    formats: tuple[str, ...],
    banner: str | None,
    epoch: int | None,
) -> tuple[dict[str, Path], list[str]]:
    """One document of the report (reports/<stem>.qmd) in each format."""
    names = OUTPUTS[stem]
    work = stage / "_pandoc"
    work.mkdir(parents=True, exist_ok=True)
    meta, body, warnings = resolve_markdown(stage / "reports" / f"{stem}.qmd", work / "media")
    (work / f"{stem}.md").write_text(body, encoding="utf-8")
    out_dir.mkdir(parents=True, exist_ok=True)
    common = _meta_args(meta) + (["--number-sections"] if meta.get("number-sections", True) else [])

    def html(target: Path) -> None:
        (work / "style.css").write_text(CSS, encoding="utf-8")
        # sections as <section> elements, as Quarto's: a chapter's notice stays on screen in its own
        args = [
            "--standalone",
            "--embed-resources",
            "--toc",
            "--section-divs",
            "--css",
            "style.css",
        ]
        if banner:  # the first thing on the page, above the title and the contents
            div = f'<div class="synthetic-banner">{html_escape(banner)}</div>\n'
            (work / "banner.html").write_text(div, encoding="utf-8")
            args += ["--include-before-body", "banner.html"]
        _pandoc(body, "html5", target, args + ["--metadata", "lang=en"] + common, work)

    def docx(target: Path) -> None:
        # A4, and the banner in the page header of every page, as Quarto gets them
        (work / "reference.docx").write_bytes(reference_docx(banner))
        args = ["--toc", "--reference-doc", "reference.docx", *LINKS] + common
        _pandoc(body, "docx", target, args, work)

    def pdf(target: Path) -> None:
        _typst_pdf(body, work, target, banner, meta, epoch)

    writers = {"html": html, "docx": docx, "pdf": pdf}
    outputs = {f: out_dir / names[f] for f in writers if f in formats}
    # the formats are independent: pandoc and typst run side by side (one job per core)
    with ThreadPoolExecutor(max_workers=min(len(outputs), os.cpu_count() or 1) or 1) as pool:
        for done in [pool.submit(writers[f], t.resolve()) for f, t in outputs.items()]:
            done.result()
    return outputs, warnings


def render_quarto(
    stage: Path,
    out_dir: Path,
    formats: tuple[str, ...],
    renderer: Renderer | None = None,
    epoch: int | None = None,
) -> RenderResult:
    """Render the staged project with the Quarto CLI (one process per format, side by side).

    Quarto runs as a subprocess: a non-zero exit stops the run with Quarto's own message.
    """
    renderer = renderer or choose_renderer()
    for stem in documents(stage):
        qmd = stage / "reports" / f"{stem}.qmd"
        problems = check_targets(expand_includes(qmd), qmd.parent)
        if problems:
            raise ExecutionError("cannot render: " + "; ".join(problems))
    shutil.rmtree(stage / "build" / "report", ignore_errors=True)
    # one Quarto process per format (`--to` takes one), each in its own copy of the stage so
    # that they can run side by side; a single format renders in the stage itself
    places = {f: stage if len(formats) == 1 else stage_copy(stage, f) for f in formats}
    env = dict(os.environ, QUARTO_PRINT_STACK="false")

    def quarto(f: str) -> subprocess.CompletedProcess:
        cmd = [renderer.executable, "render", str(places[f]), "--no-execute"]
        cmd += ["--to", QUARTO_FORMATS[f]]
        try:
            return subprocess.run(cmd, cwd=places[f], capture_output=True, text=True, env=env)
        except OSError as exc:
            raise ExecutionError(
                f"Quarto could not be started ({renderer.executable}): {exc}"
            ) from exc

    try:
        with ThreadPoolExecutor(max_workers=len(formats)) as pool:
            runs = dict(zip(formats, pool.map(quarto, formats), strict=True))
        log = ""
        for f in formats:
            log += clean(runs[f].stderr) + "\n" + clean(runs[f].stdout) + "\n"
        for f in formats:
            if runs[f].returncode != 0:
                own = clean(runs[f].stderr) + "\n" + clean(runs[f].stdout)
                raise ExecutionError(
                    f"Quarto {renderer.version} failed (exit {runs[f].returncode}):\n"
                    + quarto_errors(own)
                )
        out_dir.mkdir(parents=True, exist_ok=True)
        outputs = {}
        for stem in documents(stage):
            for f in formats:
                name = OUTPUTS[stem][f]
                hits = sorted((places[f] / "build" / "report").rglob(name))
                if not hits:
                    raise ExecutionError(
                        f"Quarto {renderer.version} exited without error but did not produce "
                        f"{name}; its messages:\n" + quarto_errors(log)
                    )
                shutil.copy2(hits[0], out_dir / name)
                if f == "html":
                    without_stage_paths(out_dir / name, places[f])
                if f == "pdf" and epoch is not None:
                    pdf_dated(out_dir / name, epoch)
                outputs[f if stem == "index" else f"{f}:{stem}"] = out_dir / name
    finally:
        for place in places.values():
            if place != stage:
                shutil.rmtree(place, ignore_errors=True)
    warnings = [ln.strip() for ln in log.splitlines() if ln.strip().startswith("WARN")]
    return RenderResult("quarto", outputs, warnings, renderer.version)


def render(
    stage: Path,
    out_dir: Path,
    formats: tuple[str, ...] = ("html", "docx", "pdf"),
    banner: str | None = None,
    force_pandoc: bool = False,
    say=print,
    renderer: Renderer | None = None,
    epoch: int | None = None,
) -> RenderResult:
    """Render the staged project: Quarto if available, else the pandoc fallback (said once).

    `epoch` (seconds, e.g. the data cut-off) stands for "now" in every output, as
    SOURCE_DATE_EPOCH, so that identical inputs give byte-identical DOCX and PDF files.
    """
    with source_date(epoch):
        res = _render(stage, out_dir, formats, banner, force_pandoc, say, renderer, epoch)
    for key, path in res.outputs.items():
        if key.split(":")[0] == "docx":
            # the section breaks name the reference document's header ids; pandoc may renumber
            link_section_headers(path)
            if epoch is not None:
                normalise_docx(path, epoch)
    return res


def _render(stage, out_dir, formats, banner, force_pandoc, say, renderer, epoch) -> RenderResult:
    try:
        renderer = renderer or choose_renderer(force_pandoc)
        if renderer.name == "quarto":
            return render_quarto(stage, out_dir, formats, renderer, epoch)
        if not force_pandoc:
            say(
                "quarto CLI not found on PATH: rendering with the pandoc fallback (pypandoc-binary)"
            )
        return render_pandoc(stage, out_dir, formats, banner, epoch)
    except ExecutionError:
        raise
    except Exception as exc:  # noqa: BLE001 - any renderer failure becomes exit code 3
        print(f"render failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        raise ExecutionError(f"rendering failed: {exc}") from exc
