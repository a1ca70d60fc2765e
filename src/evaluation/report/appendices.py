"""The report's appendices: the data dictionary, the validation details, the projects and the
provenance of the run (input hashes, parameters, versions)."""

from __future__ import annotations

import platform
import re
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from evaluation.hashing import file_sha256

PACKAGES = (
    "pandas",
    "numpy",
    "scipy",
    "statsmodels",
    "matplotlib",
    "pandera",
    "papermill",
    "nbformat",
    "pyarrow",
    "pyyaml",
)

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*$")


def demote_headings(markdown: str) -> str:
    """Drop a leading H1 and turn other headings into bold lines, so an embedded document
    adds no sections (and no section numbers) to the report."""
    lines = markdown.strip().splitlines()
    if lines and lines[0].startswith("# "):
        lines = lines[1:]
    out = []
    for line in lines:
        m = _HEADING.match(line)
        out.append(f"**{m.group(2)}**" if m else line)
    return "\n".join(out).strip()


def dictionary_for_report() -> str:
    """The generated data dictionary, headings demoted, for the appendix."""
    from evaluation.report.dictionary import dictionary_markdown

    return demote_headings(dictionary_markdown())


def validation_details(data_dir: str | Path) -> str:
    """The prepare step's validation report without its title and row-count table (shown
    separately in the validation summary table)."""
    report = Path(data_dir) / "validation.md"
    if not report.is_file():
        return "_No validation report was found next to the prepared data._"
    kept = [
        ln
        for ln in report.read_text(encoding="utf-8").splitlines()
        if not ln.lstrip().startswith("|")
    ]
    return demote_headings("\n".join(kept))


def projects_table(cfg) -> pd.DataFrame:
    """The configured projects and their periods (so years in the report come from results)."""
    return pd.DataFrame(
        [
            {
                "id": p.id,
                "name": p.name,
                "kind": p.kind,
                "start": str(p.start),
                "end": str(p.end),
                "start_year": p.start.year,
                "end_year": p.end.year,
            }
            for p in cfg.projects
        ]
    )


def provenance(inputs: Mapping[str, Path], parameters: Mapping[str, object]) -> pd.DataFrame:
    """What this evaluation was computed from: input hashes, parameters, versions, platform."""
    from importlib.metadata import PackageNotFoundError, version

    rows = []
    for name, path in inputs.items():
        files = [Path(path)]
        if Path(path).is_dir():
            files = sorted(
                p for p in Path(path).glob("*") if p.is_file() and not p.name.startswith(".")
            )
        for f in files:
            label = f"{name}/{f.name}" if Path(path).is_dir() else name
            rows.append(
                {"Section": "input (sha256, first 16)", "Item": label, "Value": file_sha256(f)[:16]}
            )
    for k, v in parameters.items():
        rows.append({"Section": "parameter", "Item": k, "Value": str(v)})
    rows.append({"Section": "version", "Item": "python", "Value": platform.python_version()})
    for pkg in PACKAGES:
        try:
            v = version(pkg)
        except PackageNotFoundError:
            v = "not installed"
        rows.append({"Section": "version", "Item": pkg, "Value": v})
    rows.append(
        {
            "Section": "platform",
            "Item": "system",
            "Value": f"{platform.system()} {platform.machine()}",
        }
    )
    return pd.DataFrame(rows)
