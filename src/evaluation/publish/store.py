"""The run's results store: typed results a notebook computed, for the notebooks that read them.

A per-project notebook saves what the cross-project notebooks need (rates, bounds,
differences as the dataclasses the estimators return; frames as Parquet) into its store
folder; the pipeline hands those folders to the cross-project notebooks, which load them
instead of recomputing the analysis. The store is internal: nothing in it is published, and
the cross-project notebooks publish only what passes the joint disclosure check.

JSON keeps every float exactly (shortest round-trip repr), so a value read back is the value
that was computed.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

TYPE = "__type__"
FRAME = "__frame__"
FLOAT = "__float__"


def _encode(value: Any, folder: Path, name: str) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        cls = type(value)
        if not cls.__module__.startswith("evaluation."):
            raise TypeError(f"the results store keeps evaluation's own types, not {cls!r}")
        fields = {
            f.name: _encode(getattr(value, f.name), folder, f"{name}.{f.name}")
            for f in dataclasses.fields(value)
        }
        return {TYPE: f"{cls.__module__}:{cls.__qualname__}", **fields}
    if isinstance(value, pd.DataFrame):
        file = f"{name}.parquet"
        value.to_parquet(folder / file, index=True)
        return {FRAME: file}
    if isinstance(value, dict):
        return {str(k): _encode(v, folder, f"{name}.{k}") for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_encode(v, folder, f"{name}.{i}") for i, v in enumerate(value)]
    if hasattr(value, "item") and not isinstance(value, str):  # numpy scalar
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return {FLOAT: repr(value)}
    return value


def _decode(value: Any, folder: Path) -> Any:
    if isinstance(value, list):
        return [_decode(v, folder) for v in value]
    if not isinstance(value, dict):
        return value
    if FLOAT in value:
        return float(value[FLOAT])
    if FRAME in value:
        return pd.read_parquet(folder / value[FRAME])
    fields = {k: _decode(v, folder) for k, v in value.items() if k != TYPE}
    if TYPE not in value:
        return fields
    module, _, qualname = value[TYPE].partition(":")
    if not module.startswith("evaluation."):
        raise ValueError(f"results store {folder}: unknown type {value[TYPE]!r}")
    cls = importlib.import_module(module)
    for part in qualname.split("."):
        cls = getattr(cls, part)
    return cls(**fields)


def save(store_dir: str | Path, name: str, value: Any) -> Path:
    """Write value (dataclasses, frames, dicts and lists of them) as store_dir/<name>.json."""
    folder = Path(store_dir)
    folder.mkdir(parents=True, exist_ok=True)
    encoded = _encode(value, folder, name)
    path = folder / f"{name}.json"
    path.write_text(json.dumps(encoded, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return path


def load(store_dir: str | Path, name: str) -> Any:
    """Read back what save wrote under name, as the types that were saved."""
    folder = Path(store_dir)
    path = folder / f"{name}.json"
    if not path.is_file():
        raise FileNotFoundError(
            f"the results store {folder} holds no {name!r}: the notebook that computes it has "
            "not run (cross-project notebooks read what the per-project notebooks stored)"
        )
    return _decode(json.loads(path.read_text(encoding="utf-8")), folder)


def upstream(stores_dir: str | Path, job: str) -> Path:
    """The store folder of an upstream job (e.g. 'durability-moh1') in a cross-project run."""
    return Path(stores_dir) / job
