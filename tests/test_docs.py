"""Documentation as tests: every console block of the walkthrough and the README runs here,
exactly as written, in a scratch copy of the repository's top folder, and must print what the
document shows (see tests/markdown_console.py for the notation)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import markdown_console as mc  # noqa: E402
from conftest import ROOT, cli_env  # noqa: E402
from textutil import html_text  # noqa: E402

# The documents' workspace starts from the default build's notebook cache: under pytest-xdist
# these tests run on the worker that builds it (an explicit group wins over conftest's).
# the README first, as a newcomer reads it (`make report`), then the walkthrough on that build
DOCS = (ROOT / "README.md", ROOT / "docs" / "walkthrough.md")
# what a top folder needs for `make <target>` and the documents' commands; the rest is linked
LINKED = ("data", "tests", "Makefile", "requirements.lock", "pyproject.toml")


def venv() -> Path | None:
    """The environment `make` and `source .venv/bin/activate` use: the clone's .venv, else
    the virtual environment running the tests."""
    for candidate in (ROOT / ".venv", Path(sys.prefix)):
        if (candidate / "bin" / "activate").is_file():
            return candidate
    return None


def workspace(folder: Path, cache: Path | None = None) -> Path:
    """A scratch top folder: its own evaluation.yml (commands edit it), the rest linked.

    cache: notebook runs to start from (a build's cache/): the keys do not depend on the
    folder, so the documents' first `make report` executes only what that build did not.
    """
    (folder / "evaluation.yml").write_text(
        (ROOT / "evaluation.yml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    for name in LINKED:
        (folder / name).symlink_to(ROOT / name)
    env_dir = venv()
    if env_dir is not None:
        (folder / ".venv").symlink_to(env_dir)
    if cache is not None and cache.is_dir():
        shutil.copytree(cache, folder / "build" / "cache", symlinks=True)
    return folder


def terminal_env() -> dict[str, str]:
    """A new terminal's environment: no virtual environment active (the documents say
    `source .venv/bin/activate`), the test pseudonymisation key, and no Quarto on PATH."""
    env = cli_env()
    # the documents show the route every clone has (the pandoc fallback): no Quarto on PATH
    path = [d for d in env.get("PATH", "").split(os.pathsep) if not (Path(d) / "quarto").exists()]
    bins = {str(Path(sys.prefix) / "bin"), str(ROOT / ".venv" / "bin")}
    env["PATH"] = os.pathsep.join(d for d in path if d not in bins)
    env.pop("VIRTUAL_ENV", None)
    return env


@pytest.fixture(scope="session")
def documented(tmp_path_factory, default_build) -> tuple[Path, dict[Path, list[mc.Result]]]:
    """Run the README, then the walkthrough, each in a new terminal, in one scratch folder
    whose build starts from the default build's notebook cache; their results by file."""
    if venv() is None:
        pytest.skip("no virtual environment with bin/activate: run the tests from .venv")
    # The scratch folder links this .venv: were it older than the lock, the documents' `make`
    # would reinstall the package into it from the scratch folder and break the environment.
    stale = subprocess.run(["make", "-q", "setup"], cwd=ROOT, capture_output=True, check=False)
    if stale.returncode != 0:
        pytest.fail(".venv is older than requirements.lock or pyproject.toml: run `make setup`")
    folder = workspace(tmp_path_factory.mktemp("docs"), default_build / "cache")
    return folder, {doc: mc.run(mc.parse(doc), folder, terminal_env()) for doc in DOCS}


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
    own = [r for r in results[doc] if not r.step.run_in]
    assert [r for r in own if not r.step.hidden], f"{doc.name} has no console block"
    assert all(r.ok for r in own), _report(own)


@pytest.mark.e2e
def test_walkthrough_build_has_moh3_worked_out_from_the_export(documented):
    """The walkthrough's run (MOH3 added by configuration alone, from the rehearsal export):
    MOH3's return rate and its comparison with MOH2, worked out from the source rows."""
    from test_extend import check_moh3_build

    folder, _ = documented
    check_moh3_build(folder / "build")


@pytest.mark.e2e
@pytest.mark.parametrize("doc", DOCS, ids=lambda d: d.name)
def test_only_steps_marked_not_run_are_left_out(documented, doc):
    """Every step ran, except those a `not run` note names (with its reason) and those of a
    `run in` block; every note names a step of its block."""
    _, results = documented
    left_out = [r.step for r in results[doc] if r.code is None]
    assert all(s.not_run or s.run_in for s in left_out)
    assert all(r.code is not None for r in results[doc] if not (r.step.not_run or r.step.run_in))
    for block in mc.parse(doc):
        assert set(block.not_run) <= {s.command for s in block.steps}, block.not_run
        assert all(reason.strip() for reason in block.not_run.values())


@pytest.mark.e2e
@pytest.mark.parametrize("doc", DOCS, ids=lambda d: d.name)
def test_commands_of_run_in_blocks_ran_there_and_matched(documented, doc):
    """A block that repeats another document's commands: each one ran there, as written
    (a trailing comment aside), and printed what that document shows."""
    _, results = documented
    for r in results[doc]:
        if not r.step.run_in:
            continue
        there = results[(doc.parent / r.step.run_in).resolve()]
        ran = [x for x in there if x.code is not None and not x.step.hidden]
        same = [x for x in ran if mc.bare(x.step.command) == mc.bare(r.step.command)]
        assert same, f"line {r.step.line}: {r.step.command!r} is not run in {r.step.run_in}"
        assert all(x.ok for x in same), _report(same)


@pytest.mark.parametrize("doc", DOCS, ids=lambda d: d.name)
def test_every_shell_block_is_a_console_block(doc):
    """Commands are shown only in console blocks (which run); notes stand before one."""
    for fence in mc.fences(doc):
        assert fence.language not in {"sh", "bash", "shell", "zsh"}, f"line {fence.line}"
        if fence.notes:
            assert fence.language == "console", f"line {fence.line}: {fence.notes}"


def test_not_run_notes_are_only_the_test_suite():
    """The README's `make test` is the one step the suite cannot run (it is the suite)."""
    notes = {c: reason for doc in DOCS for b in mc.parse(doc) for c, reason in b.not_run.items()}
    assert list(notes) == ["make test   # set up .venv if needed, then run the whole test suite"]


def _make_table() -> list[tuple[str, str]]:
    """(make call, the same `evaluation` call) for each row of the README's make table."""
    rows = []
    for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| `make ") and len(cells) == 3:
            rows.append((cells[0], cells[1]))
    return rows


def _dry_run(folder: Path, *args: str) -> list[str]:
    import subprocess

    res = subprocess.run(
        ["make", "-n", *args], cwd=folder, capture_output=True, text=True, check=False
    )
    assert res.returncode == 0, res.stderr
    return [line.strip() for line in res.stdout.splitlines()]


def test_make_table_says_what_each_target_runs(tmp_path):
    """Each row of the README's make table: the target exists, and `make -n` shows that it
    runs the `evaluation` command of its 'the same as' column (with the documented argument)."""
    if venv() is None:
        pytest.skip("no virtual environment: make would create one")
    folder = workspace(tmp_path)
    rows = _make_table()
    targets = [t for make, _ in rows for t in re.findall(r"make (\w+)", make)]
    assert {"report", "validate", "render", "verify", "synth", "dictionary", "dist"} <= set(targets)
    assert {"bench", "lint", "clean"} <= set(targets)
    for target in targets:
        _dry_run(folder, target)
    for make, same in rows:
        target = re.match(r"`make (\w+)", make).group(1)
        for command in re.findall(r"`(evaluation [^`]*)`", same):
            plain = re.sub(r"\s*\[[^]]*\]", "", command)
            assert f".venv/bin/{plain}" in _dry_run(folder, target), (target, command)
    # the documented argument of `make validate [DIR=folder]` reaches `evaluation validate`
    assert ".venv/bin/evaluation validate exports/moh3" in _dry_run(
        folder, "validate", "DIR=exports/moh3"
    )


def test_make_clean_removes_build_and_caches(tmp_path):
    """`make clean` as the table says: build/ and caches go, sources stay."""
    folder = workspace(tmp_path)
    (folder / "build" / "report").mkdir(parents=True)
    (folder / ".pytest_cache").mkdir()
    (folder / "pkg" / "__pycache__").mkdir(parents=True)
    import subprocess

    res = subprocess.run(["make", "clean"], cwd=folder, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert not (folder / "build").exists() and not (folder / ".pytest_cache").exists()
    assert not (folder / "pkg" / "__pycache__").exists() and (folder / "pkg").is_dir()
    assert (folder / "evaluation.yml").is_file()


def test_command_synopsis_matches_the_command_line():
    """The README's synopsis names every subcommand, and only options that exist."""
    from evaluation.cli import _parser

    parser = _parser()
    subs = next(a for a in parser._actions if a.dest == "command").choices
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    synopsis = [ln for ln in text.splitlines() if re.match(r"evaluation [a-z-]+( |$)", ln)]
    documented = {ln.split()[1]: ln for ln in synopsis}
    assert set(documented) == set(subs)
    for name, line in documented.items():
        options = {o for a in subs[name]._actions for o in a.option_strings}
        assert set(re.findall(r"--[a-z-]+", line)) <= options, line


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
