"""Where notebooks put what they computed: tidy CSVs and metric fragments under results/."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from evaluation.publish.export import write_csv


def save_table(df: pd.DataFrame, results_dir: str | Path, name: str) -> Path:
    """Write the tidy table behind a figure or table as results_dir/<name>.csv."""
    return write_csv(df, Path(results_dir) / f"{name}.csv")


def _plain(value: Any) -> Any:
    if hasattr(value, "as_dict"):
        return _plain(value.as_dict())
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "item"):  # numpy scalar
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def save_metrics(results_dir: str | Path, name: str, metrics: dict[str, Any]) -> Path:
    """Write a fragment metrics.<name>.json; the pipeline merges fragments into metrics.json.

    Keys are stable identifiers such as 'moh1.return_rate'; values are Rate-like objects
    (with as_dict) or plain dicts of numbers.
    """
    path = Path(results_dir) / f"metrics.{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(_plain(metrics), indent=2, sort_keys=True, ensure_ascii=False)
    path.write_text(text + "\n", encoding="utf-8")
    return path


def merge_metrics(results_root: Path) -> dict[str, Any]:
    """Merge every metrics.*.json fragment found under results_root (sorted, deterministic)."""
    merged: dict[str, Any] = {}
    for frag in sorted(results_root.rglob("metrics.*.json")):
        merged.update(json.loads(frag.read_text(encoding="utf-8")))
    return dict(sorted(merged.items()))
