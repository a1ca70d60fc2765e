"""Notebooks are stored without outputs and with a `parameters` cell papermill can fill."""

import json
from pathlib import Path

import pytest

NOTEBOOKS = sorted(Path("notebooks").glob("*.ipynb"))


def problems(path: Path) -> list[str]:
    nb = json.loads(path.read_text(encoding="utf-8"))
    out = []
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    if not any("parameters" in c.get("metadata", {}).get("tags", []) for c in code):
        out.append("no cell tagged 'parameters'")
    for i, c in enumerate(code):
        if c.get("outputs"):
            out.append(f"code cell {i} is stored with outputs")
        if c.get("execution_count") is not None:
            out.append(f"code cell {i} is stored with an execution count")
    return out


def test_there_are_notebooks():
    assert NOTEBOOKS, "notebooks/ holds no notebook"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_clean(path):
    assert problems(path) == []


def test_checker_catches_outputs_and_missing_parameters(tmp_path):
    bad = {
        "cells": [
            {
                "cell_type": "code",
                "metadata": {},
                "source": "1",
                "outputs": [{"output_type": "stream", "name": "stdout", "text": "1"}],
                "execution_count": 1,
            }
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    p = tmp_path / "bad.ipynb"
    p.write_text(json.dumps(bad))
    found = problems(p)
    assert "no cell tagged 'parameters'" in found
    assert "code cell 0 is stored with outputs" in found
