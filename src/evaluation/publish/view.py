"""The joint disclosure decision as the kernels see it: is this ledger cell shown?

The pipeline runs the joint check once per build (publish.publication) and passes the folder
holding the decision to every kernel as the environment variable
``EVALUATION_DISCLOSURE_DIR`` (a path, not a secret; the job parameter ``disclosure_dir``,
which papermill does not inject, since no notebook declares it). Display
helpers and results writers then look each number up by its ledger key, so a cell withheld
anywhere is withheld everywhere. Outside a pipeline run (tests, interactive use) no view is
active and the helpers fall back to their own per-table rules.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evaluation.publish.joint import Decision

if TYPE_CHECKING:
    import pandas as pd
from evaluation.publish.ledger import make_key

ENV = "EVALUATION_DISCLOSURE_DIR"


@dataclass(frozen=True)
class View:
    """The decision plus the ledger's keys (values kept for consistency checks; internal)."""

    decision: Decision
    values: dict[str, float]
    derived: frozenset[str]
    printed: frozenset[str] | None = None  # cells some artefact prints (None: all of them)

    @property
    def threshold(self) -> int:
        return self.decision.rules.threshold

    def shown(self, key: str) -> bool:
        """A cell or derived statistic is shown only if the ledger knows it as printed and the
        check did not withhold it: a number that cannot be mapped to a published cell is never
        published (a cell the ledger keeps unprinted was audited as unknown to readers)."""
        if key in self.derived:
            return self.decision.shown(key)
        printed = self.printed is None or key in self.printed
        return key in self.values and printed and self.decision.shown(key)

    def count(self, key: str) -> int | None:
        """The count to print, or None when withheld (or unknown)."""
        return int(self.values[key]) if self.shown(key) else None

    def rate_shown(self, n_key: str, big_key: str) -> bool:
        """A rate n/N (and its interval) is shown iff n, N and N − n all are."""
        derived = f"rate:{n_key}÷{big_key}"
        if derived in self.derived:
            return self.shown(derived)
        comp = f"{big_key}~not~{n_key.split('/', 1)[1].split('|')[0]}"
        # the complement N − n follows from n and N: it must not be withheld (printed or not)
        return self.shown(n_key) and self.shown(big_key) and self.decision.shown(comp)

    def reader_range(self, key: str) -> tuple[float, float]:
        """What a reader can prove about a withheld count (safe to state by construction)."""
        return self.decision.ranges.get(key, (1.0, math.inf))


MARK = "x"  # a withheld cell, in every published table


def mask(df: pd.DataFrame, rows: Any, cols: Sequence[str]) -> None:
    """Replace the cells of `cols` (those present) in `rows` by the withheld mark, in place."""
    cols = [c for c in cols if c in df]
    for c in cols:
        if df[c].dtype != object:
            df[c] = df[c].astype(object)
    if not cols:
        return
    from pandas.api.types import is_scalar

    if is_scalar(rows) and df.index.is_unique:
        for c in cols:  # one cell at a time: far cheaper than .loc on small frames
            df.at[rows, c] = MARK
    else:
        df.loc[rows, cols] = MARK


def marks(df: pd.DataFrame) -> int:
    """How many cells of df print as the withheld mark (as ``(df.astype(str) == MARK).sum()``
    counts them): columns of numbers never do, so only the others are looked at."""
    n = 0
    for j in range(df.shape[1]):
        s = df.iloc[:, j]
        if s.dtype.kind not in "biufcmM":
            n += sum(str(v) == MARK for v in s.tolist())
    return n


def legend(threshold: int) -> str:
    """The sentence under a table whose cells the joint decision withheld."""
    return (
        "x: withheld by the one disclosure check of the whole report, so that no group of "
        f"fewer than {threshold} people can be worked out from this or any other table."
    )


def key(project: str, what: str, **dims: object) -> str:
    """Ledger key, as publish.ledger.make_key."""
    return make_key(project, what, **dims)


@lru_cache(maxsize=4)
def load(folder: str) -> View:
    """Read decision.json and ledger.json from the internal disclosure folder."""
    path = Path(folder)
    decision = Decision.from_dict(json.loads((path / "decision.json").read_text("utf-8")))
    cells = json.loads((path / "ledger.json").read_text("utf-8"))
    derived = path / "derived.json"
    keys = json.loads(derived.read_text("utf-8")) if derived.exists() else []
    printed = frozenset(c["key"] for c in cells if c.get("artefacts"))
    return View(decision, {c["key"]: c["value"] for c in cells}, frozenset(keys), printed)


def current() -> View | None:
    """The view of this pipeline run, or None outside one. While the run is still deciding
    (the check runs beside the notebooks), wait for its decision."""
    folder = os.environ.get(ENV, "")
    if not folder:
        return None
    wait_for_decision(Path(folder))
    return load(folder) if Path(folder, "decision.json").exists() else None


def pending_marker(folder: Path) -> Path:
    """Beside a decision folder while a run decides it: the deciding process's id."""
    return folder.with_name(f"{folder.name}.pending")


def failed_marker(folder: Path) -> Path:
    """Beside a decision folder whose check failed: why."""
    return folder.with_name(f"{folder.name}.failed")


def wait_for_decision(folder: Path, poll: float = 0.05) -> None:
    """Return once the decision in `folder` is written, or no run is deciding it; raise if the
    check failed or the run deciding it has gone. The deciding run writes the decision (or the
    failed marker) before it removes the pending marker, so reading the pending marker first
    and then both outcomes never misses one."""
    import time

    from evaluation.errors import ExecutionError

    while not (folder / "decision.json").exists():
        try:
            deciding = int(pending_marker(folder).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            deciding = None
        failed = failed_marker(folder)
        if failed.exists():
            raise ExecutionError(f"the disclosure check failed: {failed.read_text('utf-8')}")
        if (folder / "decision.json").exists() or deciding is None:
            return
        try:
            os.kill(deciding, 0)  # publish cannot use pipeline.build_folder.alive
        except ProcessLookupError:
            raise ExecutionError(
                f"the run deciding {folder} ended before its disclosure check did"
            ) from None
        except (PermissionError, OverflowError):
            pass  # another user's process, or no process id: not known to have gone
        time.sleep(poll)
