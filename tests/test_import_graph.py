"""The package's layout is its flow: data → analysis → publish → report → pipeline → cli.

A module may import its own stage, an earlier stage or the shared foundation (config, errors,
hashing); never a later stage, and no module may be part of an import cycle. Imports inside
functions count: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "src" / "evaluation"
ORDER = ["foundation", "data", "analysis", "publish", "report", "pipeline", "cli"]
FOUNDATION = {"config", "errors", "hashing", "__init__"}


def _module(path: Path) -> str:
    rel = path.relative_to(PKG).with_suffix("")
    parts = [p for p in rel.parts if p != "__init__"]
    return ".".join(["evaluation", *parts])


def _stage(module: str) -> str:
    parts = module.split(".")[1:]
    if not parts or parts[0] in FOUNDATION:
        return "foundation"
    if parts[0] in ("cli", "__main__"):
        return "cli"
    return parts[0]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("evaluation")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.startswith("evaluation"):
                for a in node.names:
                    sub = f"{node.module}.{a.name}"
                    out.add(
                        sub
                        if (PKG / sub.split(".", 1)[1].replace(".", "/")).exists()
                        or (PKG / (sub.split(".", 1)[1].replace(".", "/") + ".py")).exists()
                        else node.module
                    )
    return out


GRAPH = {_module(p): _imports(p) for p in PKG.rglob("*.py") if "__pycache__" not in p.parts}


def test_every_module_sits_in_a_known_stage():
    stages = {_stage(m) for m in GRAPH}
    assert stages <= set(ORDER), stages - set(ORDER)
    top = {p.stem for p in PKG.glob("*.py")}
    assert top <= FOUNDATION | {"cli", "__main__"}, f"modules outside a stage folder: {top}"


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_no_module_imports_a_later_stage(module):
    own = ORDER.index(_stage(module))
    later = sorted(i for i in GRAPH[module] if ORDER.index(_stage(i)) > own)
    assert not later, f"{module} ({_stage(module)}) imports later stage(s): {later}"


def test_no_import_cycles():
    edges = {m: {i for i in deps if i in GRAPH and i != m} for m, deps in GRAPH.items()}
    seen: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> list[str] | None:
        seen[m] = 1
        stack.append(m)
        for n in sorted(edges[m]):
            if seen.get(n) == 1:
                return stack[stack.index(n) :] + [n]
            if n not in seen and (cycle := visit(n)):
                return cycle
        stack.pop()
        seen[m] = 2
        return None

    for m in sorted(edges):
        if m not in seen and (cycle := visit(m)):
            pytest.fail("import cycle: " + " → ".join(cycle))


def test_the_checker_sees_a_planted_violation(tmp_path):
    """The rule can fail: an analysis module importing the report stage is caught."""
    bad = tmp_path / "bad.py"
    bad.write_text("from evaluation.report import tables\n")
    deps = _imports(bad)
    assert "evaluation.report.tables" in deps
    assert ORDER.index(_stage("evaluation.report.tables")) > ORDER.index("analysis")


def test_no_module_over_500_lines():
    long = {
        str(p.relative_to(PKG)): n
        for p in PKG.rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > 550
    }
    assert not long, f"modules over ~500 lines: {long}"
