"""Run the ```console blocks of a Markdown file and compare what they print with what it shows.

A block holds `$ command` lines, each followed by the output the reader should see (stdout and
stderr together, as a terminal shows them). In the expected output `…` matches any text
within a line, and a line holding only `…` matches any number of lines. Commands run with bash
in one working folder, in the order of the file, so that each sees what the previous ones did,
as in one terminal: `$?` is the exit code of the previous command and the environment a
command leaves (`source .venv/bin/activate`, `export X=1`) is the next one's.

HTML comments just before a block (the reader does not see them) say more:

- `<!-- doctest: $ command -->` runs a command the reader does by hand (for example editing a
  file) without showing it;
- `<!-- doctest: not run: COMMAND — REASON -->` leaves out the block's step `$ COMMAND` (and
  only it), for a reason that must be given (`make test` cannot run inside the test suite);
- `<!-- doctest: run in FILE -->` says the block repeats commands that FILE runs: each of its
  commands (without a trailing `# comment`) must be one that FILE's blocks run and that
  printed what FILE shows; the block itself is not run again.

Nothing else leaves a step out: a test checks that every step of a document ran, or is named
by a `not run` note with its reason, or is in a `run in` block whose commands the other
document ran.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

FENCE = re.compile(r"^(\s*)```(\S*)\s*$")
HIDDEN = re.compile(r"<!--\s*doctest:\s*(.*?)\s*-->")
NOT_RUN = re.compile(r"not run:\s*(.+?)\s+—\s+(\S.*)")
RUN_IN = re.compile(r"run in\s+(\S+)")
# what bash itself sets in every shell: not part of the state one command hands the next
_SHELL_OWN = frozenset({"_", "SHLVL", "PWD", "OLDPWD"})


@dataclass
class Step:
    """One `$ command` with the output the document shows after it."""

    command: str
    expected: list[str]
    line: int  # where the command is in the document (1-based)
    hidden: bool = False
    not_run: str = ""  # the reason given in a `not run` note; empty: the step runs
    run_in: str = ""  # the document that runs this command (a `run in` block)


@dataclass
class Block:
    """One console block (or a hidden setup command) and where it starts."""

    line: int
    steps: list[Step] = field(default_factory=list)
    run_in: str = ""  # another document that runs this block's commands
    not_run: dict[str, str] = field(default_factory=dict)  # notes: command -> reason


@dataclass
class Fence:
    """Any fenced block: its language tag (empty for none) and first line."""

    language: str
    line: int
    notes: list[str]


def fences(path: Path) -> list[Fence]:
    """Every fenced block of the file with the doctest notes just before it."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found, notes, inside = [], [], False
    for i, line in enumerate(lines):
        m = FENCE.match(line)
        if inside:
            inside = not (m and not m.group(2))
            continue
        notes += HIDDEN.findall(line)
        if m:
            found.append(Fence(m.group(2), i + 1, notes))
            notes, inside = [], True
        elif line.strip() and not HIDDEN.search(line):
            notes = []
    return found


def parse(path: Path) -> list[Block]:
    """Every console block of the file, in order, with the hidden commands before it."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    pending: list[Step] = []
    not_run: dict[str, str] = {}
    run_in = ""
    i = 0
    while i < len(lines):
        for note in HIDDEN.findall(lines[i]):
            if note.startswith("$ "):
                pending.append(Step(note[2:], [], i + 1, hidden=True))
            elif m := NOT_RUN.fullmatch(note):
                not_run[m.group(1)] = m.group(2)
            elif m := RUN_IN.fullmatch(note):
                run_in = m.group(1)
            else:
                raise ValueError(f"{path.name} line {i + 1}: unknown doctest note {note!r}")
        m = FENCE.match(lines[i])
        if not m or m.group(2) != "console":
            i += 1
            continue
        indent = len(m.group(1))
        block = Block(i + 1, list(pending), run_in, dict(not_run))
        i += 1
        while i < len(lines) and lines[i].strip() != "```":
            text = lines[i][indent:]
            if text.startswith("$ "):
                command = text[2:]
                reason = block.not_run.get(command, "")
                block.steps.append(Step(command, [], i + 1, not_run=reason, run_in=run_in))
            elif block.steps:
                block.steps[-1].expected.append(text.rstrip())
            i += 1
        blocks.append(block)
        pending, not_run, run_in = [], {}, ""
        i += 1
    return blocks


def bare(command: str) -> str:
    """The command without a trailing `# comment` (as the shell runs it)."""
    return re.sub(r"\s+#[^'\"]*$", "", command).strip()


def pattern(expected: list[str]) -> re.Pattern[str]:
    """The expected output as a regular expression ('…' is a wildcard)."""
    parts = []
    for line in expected:
        if line.strip() == "…":
            parts.append(r"(?:[^\n]*\n)*?")
        else:
            parts.append(".*?".join(re.escape(p) for p in line.split("…")) + r"\n")
    return re.compile("".join(parts))


def normalise(output: str) -> str:
    """Output as the document would show it: no trailing blanks, one final newline."""
    lines = [line.rstrip() for line in output.rstrip("\n").splitlines()]
    return "\n".join(lines) + "\n" if lines else ""


@dataclass
class Result:
    """What one step printed and whether it matched (a step not run has code None; a `run in`
    step is judged by the run of the other document, not here)."""

    step: Step
    output: str
    code: int | None

    @property
    def ok(self) -> bool:
        if self.code is None:
            return bool(self.step.not_run)
        return self.step.hidden or bool(pattern(self.step.expected).fullmatch(self.output))


def _read_env(path: Path) -> dict[str, str]:
    """The environment `env -0` wrote, without what bash sets by itself."""
    out = {}
    for item in path.read_bytes().decode("utf-8", "replace").split("\0"):
        name, sep, value = item.partition("=")
        if sep and name not in _SHELL_OWN:
            out[name] = value
    return out


def run(blocks: list[Block], cwd: Path, env: dict[str, str], timeout: int = 900) -> list[Result]:
    """Run every step of every block in order, as in one terminal; `run in` blocks and steps
    named by a `not run` note are recorded with code None."""
    results: list[Result] = []
    code = 0
    env = dict(env)
    fd, name = tempfile.mkstemp(prefix="doctest-env-")
    os.close(fd)
    state = Path(name)
    try:
        for block in blocks:
            for step in block.steps:
                if step.run_in or step.not_run:
                    results.append(Result(step, "", None))
                    continue
                script = f"(exit {code}); {step.command}\n__rc=$?; env -0 > '{state}'; exit $__rc"
                state.write_bytes(b"")
                proc = subprocess.run(
                    ["bash", "-c", script],
                    cwd=cwd,
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                    timeout=timeout,
                    check=False,
                )
                code = proc.returncode
                if state.stat().st_size:
                    env = _read_env(state)
                results.append(Result(step, normalise(proc.stdout), code))
    finally:
        state.unlink(missing_ok=True)
    return results
