"""Run the ```console blocks of a Markdown file and compare what they print with what it shows.

A block holds `$ command` lines, each followed by the output the reader should see (stdout and
stderr together, as a terminal shows them). In the expected output `…` matches any text
within a line, and a line holding only `…` matches any number of lines. An HTML comment
`<!-- doctest: $ command -->` just before a block runs a command the reader does by hand (for
example editing a file) without showing it; `<!-- doctest: skip -->` leaves a block out.
Commands run with bash in one working folder, in the order of the file, so that each sees
what the previous ones did; `$?` is the exit code of the previous command.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

FENCE = re.compile(r"^(\s*)```console\s*$")
HIDDEN = re.compile(r"<!--\s*doctest:\s*(.*?)\s*-->")


@dataclass
class Step:
    """One `$ command` with the output the document shows after it."""

    command: str
    expected: list[str]
    line: int  # where the command is in the document (1-based)
    hidden: bool = False


@dataclass
class Block:
    """One console block (or a hidden setup command) and where it starts."""

    line: int
    steps: list[Step] = field(default_factory=list)
    skip: bool = False


def parse(path: Path) -> list[Block]:
    """Every console block of the file, in order, with the hidden commands before it."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    pending: list[Step] = []
    skip = False
    i = 0
    while i < len(lines):
        for note in HIDDEN.findall(lines[i]):
            if note == "skip":
                skip = True
            elif note.startswith("$ "):
                pending.append(Step(note[2:], [], i + 1, hidden=True))
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent = len(m.group(1))
        block = Block(i + 1, list(pending), skip)
        pending, skip = [], False
        i += 1
        while i < len(lines) and lines[i].strip() != "```":
            text = lines[i][indent:]
            if text.startswith("$ "):
                block.steps.append(Step(text[2:], [], i + 1))
            elif block.steps:
                block.steps[-1].expected.append(text.rstrip())
            i += 1
        blocks.append(block)
        i += 1
    return blocks


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
    """What one step printed and whether it matched."""

    step: Step
    output: str
    code: int

    @property
    def ok(self) -> bool:
        return self.step.hidden or bool(pattern(self.step.expected).fullmatch(self.output))


def run(blocks: list[Block], cwd: Path, env: dict[str, str], timeout: int = 900) -> list[Result]:
    """Run every step of every block that is not skipped, in order."""
    results: list[Result] = []
    code = 0
    for block in blocks:
        if block.skip:
            continue
        for step in block.steps:
            proc = subprocess.run(
                ["bash", "-c", f"(exit {code}); {step.command}"],
                cwd=cwd,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                timeout=timeout,
                check=False,
            )
            code = proc.returncode
            results.append(Result(step, normalise(proc.stdout), code))
    return results
