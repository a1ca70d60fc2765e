"""Stage one of every run: validate the inputs, then pseudonymise them into build/data/.

A dataset that validated before (same files, same periods, same key) is not validated again.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from evaluation import hashing
from evaluation.config import Config
from evaluation.errors import ConfigError, InvalidDataError
from evaluation.pipeline.build_folder import write_json_atomic

if TYPE_CHECKING:
    from evaluation.pipeline.jobs import Progress

VALIDATION_MODULES = (
    "data/validate.py",
    "data/coerce.py",
    "data/schema_problems.py",
    "data/validation_report.py",
    "data/crosscheck.py",
    "data/rule_base.py",
    "data/rules_enrolments.py",
    "data/rules_departures.py",
    "data/rules_monitoring.py",
    "data/rules_cutoff.py",
    "data/problems.py",
    "data/membership.py",
    "data/read.py",
    "data/contract.py",
    "data/contract_holds.py",
    "data/pseudonymise.py",
    "data/hash_ahead.py",
    "data/id_codes.py",
)


# What validation's child process imports (see start_children): the modules of
# _validate_and_write and the Parquet reader pandas loads on first use.
CHILD_MODULES = (
    "evaluation.data.validate",
    "evaluation.data.crosscheck",
    "evaluation.data.read",
    "evaluation.data.hash_ahead",
    "evaluation.data.prepared",
    "pyarrow.parquet",
)


def start_children() -> None:
    """Start the process server that validation's child (and later the notebook workers) fork
    from, with CHILD_MODULES already imported in it.

    Called as a run starts: the server imports them on the second core while this process
    imports its own modules, so the child validates at once instead of importing first.
    """
    import multiprocessing as mp
    from multiprocessing import forkserver

    mp.set_forkserver_preload(["__main__", "evaluation.pipeline.prepare", *CHILD_MODULES])
    forkserver.ensure_running()


def _write_reports(build: Path, reports: list[tuple[str, object]]) -> None:
    """build/validation/report.{md,json}: every dataset's report, in one place."""
    out = build / "validation"
    out.mkdir(parents=True, exist_ok=True)
    md = []
    js = {}
    for name, rep in reports:
        md.append(f"# Validation of {name}\n\n{rep.to_markdown()}")  # type: ignore[attr-defined]
        js[name] = rep.to_dict()  # type: ignore[attr-defined]
    tmp = out / ".report.md.tmp"
    tmp.write_text("\n\n".join(md) + "\n", encoding="utf-8")
    tmp.replace(out / "report.md")
    write_json_atomic(out / "report.json", js)


def _summary(name: str, report: object, build: Path) -> str:
    problems = report.errors  # type: ignore[attr-defined]
    lines = [
        f"{name}: {len(problems)} problem(s) found; nothing was analysed and earlier "
        f"outputs are untouched. Full report: {build / 'validation' / 'report.md'}"
    ]
    for p in problems[:10]:
        lines.append(f"  - {p.message} [rule: {p.rule}]")
    if len(problems) > 10:
        lines.append(f"  … and {len(problems) - 10} more in the report")
    return "\n".join(lines)


def _warning_lines(name: str, report: object, build: Path) -> list[str]:
    """Console summary of a report's warnings: count per rule and where the full list is."""
    from collections import Counter

    warnings = report.warnings  # type: ignore[attr-defined]
    if not warnings:
        return []
    per_rule = Counter(p.rule for p in warnings)
    rules = ", ".join(f"{rule} ({n})" for rule, n in sorted(per_rule.items()))
    lines = [
        f"  {name}: {len(warnings)} validation warning(s), not errors: {rules}. "
        f"Full report: {build / 'validation' / 'report.md'}"
    ]
    lines += [f"    - {p.message}" for p in warnings[:3]]
    if len(warnings) > 3:
        lines.append(f"    … and {len(warnings) - 3} more in the report")
    return lines


def check_published(cfg: Config, build: Path, progress: Progress) -> str:
    """Validate the published-figures table; return its sha256."""
    if not cfg.published.is_file():
        raise InvalidDataError(f"published figures file {cfg.published} does not exist")
    digest = hashing.file_sha256(cfg.published)
    marker = build / "data" / f"published-{hashing.combine(digest, _validation_code_hash())[:16]}"
    if marker.exists():
        return digest
    from evaluation.data.validate import validate_published

    _, report = validate_published(cfg.published)
    if not report.ok:
        _write_reports(build, [(cfg.published.name, report)])
        raise InvalidDataError(_summary(cfg.published.name, report, build))
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(digest + "\n")
    return digest


def key_fingerprint(key: bytes) -> str:
    """A value that changes with the key but reveals nothing about it."""
    return hmac.new(key, b"evaluation-key-fingerprint", hashlib.sha256).hexdigest()[:16]


def _validation_code_hash() -> str:
    return hashing.combine(
        *(
            hashing.file_sha256(hashing.PACKAGE_DIR / m)
            for m in VALIDATION_MODULES
            if (hashing.PACKAGE_DIR / m).exists()
        ),
        hashing.tree_sha256(hashing.PACKAGE_DIR.parents[1] / "data_schemas"),
    )


def prepare_dataset(
    data_dir: Path, cfg: Config, build: Path, key: bytes, progress: Progress, coded: bool = False
) -> tuple[Path, object | None, str]:
    """Validate and pseudonymise one dataset folder into build/data/<hash>/; coded: with its
    linking identifiers as integer codes (data.id_codes), for a dataset no other joins."""
    from evaluation.data.rules_cutoff import cutoffs_of

    if not data_dir.is_dir():
        raise ConfigError(f"case data folder {data_dir} does not exist")
    content = hashing.tree_sha256(data_dir)
    dkey = hashing.combine(
        content,
        cfg.periods,
        str(cutoffs_of(cfg)),
        key_fingerprint(key),
        _validation_code_hash(),
        "ids coded" if coded else "pseudonyms",
    )
    out = build / "data" / dkey[:16]
    if (out / ".complete").exists():
        progress.say(f"  {data_dir.name}: unchanged since last validation (cached)")
        return out, None, content
    progress.say(f"  {data_dir.name}: validating every table and cross-table rule")
    # In a child process: validating national-scale data takes gigabytes that a long-lived
    # parent would keep (malloc rarely returns them) while the notebook kernels run.
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("forkserver")) as pool:
        report = pool.submit(
            _validate_and_write, data_dir, cfg.periods, cutoffs_of(cfg), key, out, dkey, coded
        ).result()
    return out, report, content


def _validate_and_write(
    data_dir: Path,
    periods: dict,
    cutoff: object,
    key: bytes,
    out: Path,
    dkey: str,
    coded: bool = False,
) -> object:
    """Validate one dataset; when clean, pseudonymise it into out/ (atomically), with its
    linking identifiers as integer codes when coded. The report."""
    from concurrent.futures import ThreadPoolExecutor

    from evaluation.data import prepared
    from evaluation.data.hash_ahead import HashAhead
    from evaluation.data.pseudonymise import all_texts, id_groups, pseudonymise, unrepeated
    from evaluation.data.validate import validate_dataset

    ahead: dict[str, object] = {}
    grouping = ThreadPoolExecutor(max_workers=1, thread_name_prefix="id-groups")

    def start_hashing(typed: dict) -> set[tuple[str, str]]:
        ahead["groups"] = groups = id_groups(typed)
        if groups:
            ahead["hashing"] = HashAhead(all_texts(groups), key)
        return unrepeated(groups)

    def hash_ahead(typed: dict) -> Callable[[], set[tuple[str, str]]]:
        """Group the identifiers (Arrow's dictionary encoding, mostly without the interpreter
        lock) in a thread while the cross-table rules run, then start hashing them in a second
        process; the id columns found free of repeats on the way, when asked."""
        return grouping.submit(start_hashing, typed).result

    try:
        try:
            tables, report = validate_dataset(data_dir, periods, cutoff=cutoff, typed=hash_ahead)
        except OSError as exc:  # validation only reads: this is an input the system cannot read
            raise InvalidDataError(
                f"cannot read {exc.filename or data_dir}: {exc.strerror or exc}; nothing was "
                "analysed and earlier outputs are untouched"
            ) from exc
        if not report.ok:
            return report
        hashing_ = ahead.get("hashing")
        prefixes = hashing_.prefixes if isinstance(hashing_, HashAhead) else None
        pseudonymised = pseudonymise(tables, key, ahead.get("groups"), prefixes)  # type: ignore[arg-type]
    finally:
        grouping.shutdown(wait=True)  # no hashing process starts after this
        if isinstance(ahead.get("hashing"), HashAhead):
            ahead["hashing"].close()  # type: ignore[union-attr]
        ahead.clear()
    del tables
    if coded:
        # every kernel and the disclosure check join, match and sort on identifiers: on codes
        # that sort as the pseudonyms do, the results are the same and, on national-scale data,
        # cheaper (hashing text costs per row ever more as the tables outgrow the caches)
        from evaluation.data.id_codes import code_ids

        pseudonymised = code_ids(pseudonymised, workers=os.cpu_count() or 1)
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    prepared.write(pseudonymised, tmp)
    (tmp / "validation.md").write_text(report.to_markdown(), encoding="utf-8")
    prepared.content_digest(tmp)  # hashed once here, read by every run's job plan
    (tmp / ".complete").write_text(dkey + "\n")
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    return report


def combine(dirs: list[Path], build: Path) -> Path:
    """One prepared folder holding the tables of several datasets (for cross-project notebooks)."""
    import pandas as pd

    from evaluation.data import prepared

    key = hashing.combine(*(d.name for d in dirs))[:16]
    out = build / "data" / f"all-{key}"
    if (out / ".complete").exists():
        return out
    parts = [prepared.load(d) for d in dirs]
    names = sorted(set().union(*(p.keys() for p in parts)))
    tables = {}
    for n in names:
        frames = [p[n] for p in parts if n in p]
        df = pd.concat(frames, ignore_index=True)
        first = df.columns[0]
        tables[n] = df.drop_duplicates(subset=[first]) if first.endswith("_id") else df
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    prepared.write(tables, tmp)
    prepared.content_digest(tmp)
    (tmp / ".complete").write_text(key + "\n")
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    return out


def prepare_all(cfg: Config, build: Path, progress: Progress) -> tuple[dict[str, Path], dict]:
    """Prepared folder per project id (plus '__all__'), and input hashes for the manifest."""
    datasets: dict[Path, list[str]] = {}
    for p in cfg.projects:
        datasets.setdefault((p.data or cfg.cases).resolve(), []).append(p.id)
    if not datasets:
        return {}, {}
    from evaluation.data.pseudonymise import load_key

    key = load_key()
    reports, failed, hashes, where = [], [], {}, {}
    # codes number one dataset's identifiers: datasets combined for the cross-project notebooks
    # keep their pseudonyms, which link them (and the per-project results stores, one row per
    # client, to the combined folder)
    coded = len(datasets) == 1
    for data_dir in datasets:
        out, report, content = prepare_dataset(data_dir, cfg, build, key, progress, coded)
        hashes[str(data_dir)] = content
        where[data_dir] = out
        if report is not None:
            reports.append((str(data_dir), report))
            if not report.ok:  # type: ignore[attr-defined]
                failed.append((str(data_dir), report))
    if reports:
        _write_reports(build, reports)
        for name, report in reports:
            if report.ok:  # type: ignore[attr-defined]
                for line in _warning_lines(Path(name).name, report, build):
                    progress.say(line)
    if failed:
        raise InvalidDataError("\n".join(_summary(n, r, build) for n, r in failed))
    result = {pid: where[d] for d, pids in datasets.items() for pid in pids}
    dirs = sorted(set(where.values()))
    if dirs:
        result["__all__"] = dirs[0] if len(dirs) == 1 else combine(dirs, build)
    return result, hashes
