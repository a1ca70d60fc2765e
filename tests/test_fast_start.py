"""Fast start (issue 7, item 5): the CLI answers without loading the scientific stack.

No timed assertions: wall time depends on the machine. What makes `evaluation --help` fast is
that none of the heavy packages is imported, and that is what these tests check.
"""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = (
    "pandas",
    "numpy",
    "matplotlib",
    "statsmodels",
    "pandera",
    "papermill",
    "nbformat",
    "scipy",
    "pyarrow",
    "yaml",
)


def _loaded_after(code: str) -> list[str]:
    """Heavy packages present in sys.modules after running code in a fresh interpreter."""
    probe = (
        f"{code}\nimport sys, json\n"
        f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    )
    res = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    return json.loads(res.stdout.strip().splitlines()[-1])


def test_importing_the_cli_loads_no_heavy_package():
    assert _loaded_after("import evaluation.cli") == []


def test_help_of_every_command_loads_no_heavy_package():
    code = (
        "import contextlib, io, evaluation.cli as cli\n"
        "for argv in (['--help'], ['run', '--help'], ['validate', '--help'],\n"
        "             ['synth', '--help']):\n"
        "    with contextlib.redirect_stdout(io.StringIO()):\n"
        "        try:\n"
        "            cli.main(argv)\n"
        "        except SystemExit as exc:\n"
        "            assert exc.code == 0, (argv, exc.code)\n"
    )
    assert _loaded_after(code) == []


def test_help_lists_the_commands_and_exit_codes():
    res = subprocess.run(
        [sys.executable, "-m", "evaluation", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert res.returncode == 0
    for word in ("run", "validate", "synth", "render", "verify", "Exit codes"):
        assert word in res.stdout


def test_importing_the_bench_loads_no_heavy_package():
    assert _loaded_after("import evaluation.pipeline.bench") == []
