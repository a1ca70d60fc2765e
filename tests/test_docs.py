"""Documentation as tests: every console block of the walkthrough and the README runs here,
exactly as written, in a scratch copy of the repository's top folder, and must print what the
document shows (see tests/markdown_console.py for the notation)."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import markdown_console as mc  # noqa: E402
from conftest import ROOT, cli_env  # noqa: E402
from textutil import html_text  # noqa: E402

DOCS = (ROOT / "docs" / "walkthrough.md", ROOT / "README.md")


def workspace(folder: Path) -> Path:
    """A scratch top folder: its own evaluation.yml (commands edit it), the rest linked."""
    (folder / "evaluation.yml").write_text(
        (ROOT / "evaluation.yml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    for name in ("data", "tests", ".venv"):
        if (ROOT / name).exists():
            (folder / name).symlink_to(ROOT / name)
    return folder


def activated_env() -> dict[str, str]:
    """What `source .venv/bin/activate` gives: this environment's bin/ first on PATH."""
    env = cli_env()
    # the documents show the route every clone has (the pandoc fallback): no Quarto on PATH
    path = [d for d in env.get("PATH", "").split(os.pathsep) if not (Path(d) / "quarto").exists()]
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), *path])
    env["VIRTUAL_ENV"] = sys.prefix
    return env


@pytest.fixture(scope="session")
def documented(tmp_path_factory) -> tuple[Path, dict[Path, list[mc.Result]]]:
    """Run the walkthrough, then the README, in one scratch folder; their results by file."""
    folder = workspace(tmp_path_factory.mktemp("docs"))
    env = activated_env()
    return folder, {doc: mc.run(mc.parse(doc), folder, env) for doc in DOCS}


def _report(results: list[mc.Result]) -> str:
    bad = [r for r in results if not r.ok]
    return "\n\n".join(
        f"line {r.step.line}: $ {r.step.command}\n--- expected\n"
        + "\n".join(r.step.expected)
        + f"\n--- got (exit {r.code})\n{r.output}"
        for r in bad
    )


@pytest.mark.e2e
@pytest.mark.parametrize("doc", DOCS, ids=lambda d: d.name)
def test_every_console_block_prints_what_the_document_shows(documented, doc):
    _, results = documented
    shown = [r for r in results[doc] if not r.step.hidden]
    assert shown, f"{doc.name} has no console block"
    assert all(r.ok for r in results[doc]), _report(results[doc])


@pytest.mark.e2e
def test_quoted_comparison_sentence_is_the_reports(documented):
    """The walkthrough's quoted sentence (a block quote) appears word for word in the report."""
    folder, _ = documented
    text = (ROOT / "docs" / "walkthrough.md").read_text(encoding="utf-8")
    quote = " ".join(line[2:].strip() for line in text.splitlines() if line.startswith("> "))
    assert "MOH3" in quote
    report = " ".join(html_text(folder / "build" / "report" / "index.html").split())
    assert " ".join(quote.split()) in report


def test_the_notation_matches_and_rejects():
    """The matcher itself: wildcards within a line and over lines, and a real mismatch."""
    assert mc.pattern(["a … c", "…", "z"]).fullmatch("a bb c\nx\ny\nz\n")
    assert mc.pattern(["a … c", "…", "z"]).fullmatch("a  c\nz\n")
    assert not mc.pattern(["a … c", "z"]).fullmatch("a b c\nx\nz\n")
    assert not mc.pattern(["exit 1"]).fullmatch("exit 2\n")


def test_rehearsal_folder_is_git_ignored():
    """The walkthrough writes exports/moh3 in the top folder: git must not show it."""
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8").split()
    assert "/exports/" in ignored or "exports/" in ignored
    assert re.search(r"exports/moh3", (ROOT / "docs" / "walkthrough.md").read_text("utf-8"))


@pytest.mark.e2e
def test_adding_moh3_with_its_own_cutoff_leaves_moh2_unchanged(documented, default_build):
    """The walkthrough adds MOH3 with cut-off 2023-12-31; MOH2 keeps 2020-12-31, so every
    MOH2 results file and metric equals the default run's byte for byte / value for value.
    (With one shared cut-off MOH2's 12-month worst case fell from 59.5 % to 37.9 %.)"""
    import json

    folder, _ = documented
    ours, base = folder / "build" / "results", default_build / "results"
    files = sorted(p.name for p in (base / "moh2").iterdir())
    assert files and files == sorted(p.name for p in (ours / "moh2").iterdir())
    for name in files:
        assert (ours / "moh2" / name).read_bytes() == (base / "moh2" / name).read_bytes(), name
    m_ours = json.loads((ours / "metrics.json").read_text(encoding="utf-8"))
    m_base = json.loads((base / "metrics.json").read_text(encoding="utf-8"))
    keys = sorted(k for k in m_base if k.startswith("moh2."))
    assert keys and {k: m_ours[k] for k in keys} == {k: m_base[k] for k in keys}
    assert "moh3.return_rate" in m_ours and "moh3.return_rate" not in m_base
