"""Shared fixtures: one end-to-end run of the default evaluation, reused by many tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TEST_KEY = "test-key-not-secret-0123456789abcdef"


def cli_env(**extra: str) -> dict[str, str]:
    """Environment for CLI subprocesses: a test pseudonymisation key, no user key file."""
    env = dict(os.environ)
    env["EVALUATION_PSEUDONYM_KEY"] = TEST_KEY
    env.pop("EVALUATION_PSEUDONYM_KEY_FILE", None)
    env.update(extra)
    return env


def run_cli(*args: str, cwd: Path = ROOT, env: dict | None = None, timeout: int = 900):
    """Run `python -m evaluation ARGS`, capturing output."""
    return subprocess.run(
        [sys.executable, "-m", "evaluation", *args],
        cwd=cwd,
        env=env or cli_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="session")
def default_build(tmp_path_factory) -> Path:
    """`evaluation run` on the default data into a temporary build folder (once per session)."""
    build = tmp_path_factory.mktemp("build")
    res = run_cli("run", "--build", str(build), "--pandoc")
    assert res.returncode == 0, f"evaluation run failed:\n{res.stdout}\n{res.stderr}"
    return build
