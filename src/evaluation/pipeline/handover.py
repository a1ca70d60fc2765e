"""`evaluation export DEST`: one archive for a funder or a replicator (an AEA-style package).

It holds what may leave the build and nothing else, chosen by a list of what to include
(never by excluding): the rendered report, the public results, the manifest, the validation
and output-checking reports, the configuration, the licence and citation, a short README and
SHA256SUMS over every file. Never build/data (pseudonymised records), keys, logs, caches or
internal full-precision tables.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import zipfile
from pathlib import Path

from evaluation.errors import ConfigError
from evaluation.pipeline.jobs import REPO_ROOT

# (where in the build, name in the archive); folders are taken whole, files one by one
FROM_BUILD = (
    ("report", "report"),
    ("results", "results"),
    ("manifest.json", "manifest.json"),
    ("validation/report.md", "checks/validation-report.md"),
    ("disclosure/report.md", "checks/output-checking.md"),
    ("disclosure/report.json", "checks/output-checking.json"),
)
FROM_REPO = ("LICENSE", "CITATION.cff")
# A fixed time stamp: the same build gives a byte-identical archive.
EPOCH = (1980, 1, 1, 0, 0, 0)

README = """\
# Evaluation of VluchtelingenWerk Nederland's return projects: handover package

Run {run_key}, commit {commit}{synthetic}.

- `report/`: the evaluation, as `index.html` (opens offline), `evaluation.docx` and
  `evaluation.pdf`, and its technical annex as `annex.html`, `annex.docx` and `annex.pdf`.
- `results/`: the tidy table behind every figure and table; `results/metrics.json` holds the
  headline numbers, each with its interval, n and N.
- `manifest.json`: inputs (SHA-256), parameters of every notebook run, package versions, the
  renderer, the git commit and timings.
- `checks/`: what validation of the input data found{checks}.
- `config/evaluation.yml`: the configuration of the run (projects, periods, cut-offs,
  thresholds).
- `LICENSE`, `CITATION.cff`: the licence (MIT) and how to cite.
- `SHA256SUMS`: checksums of every file; check them with `sha256sum -c SHA256SUMS` here.

Only aggregates are included; counts below the disclosure threshold are suppressed. No
case-level records, pseudonyms, keys or logs are part of this package.

To reproduce: check out commit {commit} of the repository, put the same inputs in place
(`manifest.json` lists their SHA-256 hashes), run `make report`; `evaluation verify` compares a
rerun with the recorded results.
"""


def _published(build: Path) -> Path:
    """The folder of the last published run; a plain sentence when there is none."""
    report = build / "report"
    if not (build / "manifest.json").is_file() or not report.is_dir():
        raise ConfigError(
            f"{build} holds no finished run to export; run `make report` (or `evaluation run "
            f"--build {build}`) first"
        )
    return report.resolve().parent


def collect(build: Path, config: Path | None = None) -> dict[str, bytes]:
    """Archive path -> content, for everything the handover package holds (except checksums)."""
    _published(build)
    files: dict[str, bytes] = {}
    for src_name, dest in FROM_BUILD:
        src = build / src_name
        if src.is_file():
            files[dest] = src.read_bytes()
        elif src.is_dir():
            for f in sorted(src.resolve().rglob("*")):
                rel = f.relative_to(src.resolve())
                if f.is_file() and not any(part.startswith(".") for part in rel.parts):
                    files[f"{dest}/{rel.as_posix()}"] = f.read_bytes()
    for name in FROM_REPO:
        if (REPO_ROOT / name).is_file():
            files[name] = (REPO_ROOT / name).read_bytes()
    if config is not None and Path(config).is_file():
        files["config/evaluation.yml"] = Path(config).read_bytes()
    manifest = json.loads(files["manifest.json"])
    checks = sorted({k.split("/")[1] for k in files if k.startswith("checks/")})
    files["README.md"] = README.format(
        run_key=manifest.get("run_key", "?"),
        commit=manifest.get("git_commit", "?"),
        synthetic=", on SYNTHETIC case data (describes no real person)"
        if manifest.get("synthetic")
        else "",
        checks=(" and the output check of every published cell" if len(checks) > 1 else ""),
    ).encode("utf-8")
    return files


def checksums(files: dict[str, bytes]) -> bytes:
    """SHA256SUMS in the format `sha256sum -c` reads."""
    lines = [f"{hashlib.sha256(d).hexdigest()}  {name}\n" for name, d in sorted(files.items())]
    return "".join(lines).encode("utf-8")


def _archive_path(dest: Path, run_key: str) -> Path:
    name = dest.name.lower()
    if name.endswith((".zip", ".tar.gz", ".tgz")):
        return dest
    return dest / f"evaluation-handover-{run_key}.zip"


def write_bundle(build: Path, dest: Path, config: Path | None = None) -> tuple[Path, list[str]]:
    """Write the handover archive (.zip, or .tar.gz by its name); return it and its members.

    DEST may be an archive name or a folder (then evaluation-handover-<run key>.zip in it).
    The archive is written beside its final name and renamed, so a failure leaves no half file.
    """
    build = Path(build)
    files = collect(build, config)
    files["SHA256SUMS"] = checksums(files)
    run_key = json.loads(files["manifest.json"]).get("run_key", "run")
    archive = _archive_path(Path(dest), run_key)
    top = archive.name.removesuffix(".zip").removesuffix(".tar.gz").removesuffix(".tgz")
    archive.parent.mkdir(parents=True, exist_ok=True)
    tmp = archive.with_name(f".{archive.name}.tmp-{os.getpid()}")
    try:
        if archive.name.endswith(".zip"):
            with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
                for name, data in sorted(files.items()):
                    info = zipfile.ZipInfo(f"{top}/{name}", date_time=EPOCH)
                    info.compress_type = zipfile.ZIP_DEFLATED
                    info.external_attr = 0o644 << 16
                    zf.writestr(info, data)
        else:
            with tarfile.open(tmp, "w:gz") as tf:
                for name, data in sorted(files.items()):
                    info = tarfile.TarInfo(f"{top}/{name}")
                    info.size, info.mode, info.mtime = len(data), 0o644, 315532800
                    tf.addfile(info, io.BytesIO(data))
        os.replace(tmp, archive)
    finally:
        tmp.unlink(missing_ok=True)
    return archive, sorted(files)


__all__ = ["collect", "checksums", "write_bundle"]
