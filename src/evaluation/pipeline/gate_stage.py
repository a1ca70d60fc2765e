"""The results files through the joint decision (publish.gate), each notebook's as soon as it has
run: in a thread of the run process, while the other notebooks run, so that the run does not
pass every file through the decision on one core after the last notebook."""

from __future__ import annotations

import os
import shutil
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from evaluation.config import Config
from evaluation.pipeline.check_stage import Deciding
from evaluation.pipeline.jobs import Job


class ResultsGate:
    """Published copies of the jobs' results files in a staging folder of the run, with their
    entries of the output-checking record. The first file waits for the joint decision."""

    def __init__(self, cfg: Config, deciding: Deciding, build: Path) -> None:
        self.groups = {p.key: p.id for p in cfg.projects}
        self.groups["summary"] = ",".join(p.id for p in cfg.projects if p.kind == "return")
        self.deciding = deciding
        self.staging = build / f".stage-{os.getpid()}-gated"
        shutil.rmtree(self.staging, ignore_errors=True)
        self._view = None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gate")
        self._done: dict[str, Future] = {}

    def add(self, job: Job, cache: Path) -> None:
        """Start publishing the results files of a job that has run (its cache folder)."""
        if job.name not in self._done:
            self._done[job.name] = self._pool.submit(self._publish, cache / job.key, job.group)

    def finish(self, jobs: list[Job], cache: Path) -> dict[Path, dict[str, Any]]:
        """Every job's files published (those not added yet now); the record entries by path
        under results/. Raises what publishing a file raised."""
        for job in jobs:
            self.add(job, cache)
        entries: dict[Path, dict[str, Any]] = {}
        try:
            for job in jobs:
                entries.update(self._done[job.name].result())
        finally:
            self._pool.shutdown(wait=True, cancel_futures=True)
        return entries

    def close(self) -> None:
        """Stop (a failed run) and remove the staging folder."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        shutil.rmtree(self.staging, ignore_errors=True)

    def _publish(self, folder: Path, group: str) -> dict[Path, dict[str, Any]]:
        from evaluation.publish import gate, view

        if self._view is None:
            self._view = view.load(str(self.deciding.wait()))
        results = folder / "results"
        project = self.groups.get(group, "")
        entries = {}
        for path in sorted(results.rglob("*")) if results.is_dir() else []:
            if path.is_file():
                rel = Path(group) / path.relative_to(results)
                entries[rel] = gate.publish_file(path, rel, self.staging / rel, self._view, project)
        return entries
