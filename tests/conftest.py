"""Shared fixtures: one end-to-end run of the default evaluation, reused by many tests."""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TEST_KEY = "test-key-not-secret-0123456789abcdef"


def cli_env(quarto: bool = False, **extra: str) -> dict[str, str]:
    """Environment for CLI subprocesses: a test pseudonymisation key, no user key file, and the
    pandoc fallback unless `quarto` is asked for (QUARTO_PATH names no program), so that only
    the tests that compare renderers pay for Quarto renders."""
    env = dict(os.environ)
    # under `make test` a `make` in a test would announce "Entering directory" (a sub-make)
    for var in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS", "MAKEOVERRIDES"):
        env.pop(var, None)
    env["EVALUATION_PSEUDONYM_KEY"] = TEST_KEY
    env.pop("EVALUATION_PSEUDONYM_KEY_FILE", None)
    if quarto:
        env.pop("QUARTO_PATH", None)
    else:
        env["QUARTO_PATH"] = os.devnull
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


def _renderers() -> list[str]:
    from evaluation.report.render import quarto_available

    return ["pandoc", "quarto"] if quarto_available() else ["pandoc"]


RENDERERS = _renderers()


@pytest.fixture(scope="session")
def quarto_build(default_build, tmp_path_factory) -> Path:
    """The default build rendered again with Quarto: a copy of the fallback build (its executed
    notebooks are cached), so `evaluation render` only renders."""
    if "quarto" not in RENDERERS:
        pytest.skip("quarto CLI not on PATH: only the pandoc fallback is tested")
    build = tmp_path_factory.mktemp("build-quarto")
    shutil.copytree(default_build, build, symlinks=True, dirs_exist_ok=True)
    res = run_cli("render", "--build", str(build), env=cli_env(quarto=True))
    assert res.returncode == 0, f"evaluation render (quarto) failed:\n{res.stdout}\n{res.stderr}"
    manifest = json.loads((build / "manifest.json").read_text())
    assert manifest["renderer"] == "quarto", manifest["renderer"]
    assert manifest["cache"]["misses"] == 0, "the Quarto render re-executed notebooks"
    return build


@pytest.fixture(scope="session", params=RENDERERS)
def report_build(request) -> Path:
    """The default build as rendered by each renderer available (pandoc always, Quarto when its
    CLI is on PATH); built once per renderer and shared."""
    return request.getfixturevalue("default_build" if request.param == "pandoc" else "quarto_build")


# Under pytest-xdist (`make test`: two workers, --dist loadgroup), the tests that use the
# default build (directly or through a fixture built on it) run on one worker, so that it is
# built once per suite, not once per worker; every other test, also in the same file, goes to
# whichever worker is free. (A scheduler of our own: xdist 3.8 marks its groups in a node id
# that pytest 9 no longer lets a plugin change, so `xdist_group` marks are ignored.)
SHARED_BUILD = frozenset({"default_build", "report_build", "quarto_build"})


def _fixtures_and_tests(path: Path) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """Fixture name -> its arguments, and test name -> its arguments, read from the source."""
    import ast

    fixtures: dict[str, set[str]] = {}
    tests: dict[str, set[str]] = {}
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.FunctionDef):
            continue
        args = {a.arg for a in node.args.args}
        if any("fixture" in ast.unparse(d) for d in node.decorator_list):
            fixtures[node.name] = args
        elif node.name.startswith("test"):
            tests[node.name] = args
    return fixtures, tests


@functools.cache
def shared_build_tests(test_file: str) -> frozenset[str]:
    """Names of the tests in `test_file` that need the default build, through any fixture."""
    path = ROOT / test_file
    if not path.is_file():
        return frozenset()
    fixtures, tests = _fixtures_and_tests(path)
    conftest, _ = _fixtures_and_tests(Path(__file__))
    fixtures = {**conftest, **fixtures}
    needs = set(SHARED_BUILD)
    changed = True
    while changed:
        grown = {f for f, args in fixtures.items() if args & needs}
        changed = not grown <= needs
        needs |= grown
    # (a fixture reaching the build through request.getfixturevalue is not seen: name it)
    return frozenset(t for t, args in tests.items() if args & needs)


@pytest.hookimpl(tryfirst=True)
def pytest_xdist_make_scheduler(config, log):
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class SharedBuildScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            file, _, rest = nodeid.partition("::")
            test = rest.split("[", 1)[0].split("::")[-1]
            return "default-build" if test in shared_build_tests(file) else nodeid

    return SharedBuildScheduling(config, log)
