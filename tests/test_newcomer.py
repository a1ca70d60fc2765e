"""A newcomer's everyday mistakes and needs: the build lock, exit codes for the machine,
configuration errors that say where, `validate` apart from the last run, `--project` with any
set of projects, per-project cut-offs, the handover archive and Ctrl-C."""

from __future__ import annotations

import csv
import errno
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import ROOT, cli_env, run_cli  # noqa: E402

from evaluation import cli, config  # noqa: E402
from evaluation.errors import ConfigError  # noqa: E402
from evaluation.pipeline.lock import build_lock  # noqa: E402


def config_copy(folder: Path, extra_project: str = "", edit: tuple[str, str] = ("", "")) -> Path:
    """evaluation.yml in folder with absolute data paths, optionally one more project block."""
    text = (ROOT / "evaluation.yml").read_text(encoding="utf-8")
    text = text.replace("published: data/", f"published: {ROOT}/data/")
    text = text.replace("cases: data/", f"cases: {ROOT}/data/")
    if extra_project:
        text = text.replace("\nthresholds:", f"\n{extra_project}\n\nthresholds:")
    if edit[0]:
        assert text.count(edit[0]) == 1
        text = text.replace(*edit)
    path = folder / "evaluation.yml"
    path.write_text(text, encoding="utf-8")
    return path


MOH3_BLOCK = (
    "  - {id: MOH3, name: MOH3, kind: return, start: 2020-11-01, end: 2023-10-31,\n"
    "     data: no-such-export, baseline: MOH2, cutoff: 2023-12-31}"
)


# ------------------------------------------------------------------------------ the lock


def test_second_run_on_the_same_build_folder_stops_with_a_sentence(tmp_path):
    """While one process holds build/.lock, `run` exits 4 naming the folder and the holder."""
    build = tmp_path / "build"
    with build_lock(build, "evaluation run"):
        res = run_cli("run", "--build", str(build), "--no-render")
    assert res.returncode == 4, res.stderr
    assert f"the build folder {build} is in use by process {os.getpid()} (evaluation run" in (
        res.stderr
    )
    assert "--build DIR" in res.stderr and "Traceback" not in res.stderr
    assert sorted(p.name for p in build.iterdir()) == [".lock"]  # nothing else was touched
    # released: the lock can be taken again at once, by another process too
    code = (
        "import sys; from pathlib import Path; from evaluation.pipeline.lock import build_lock\n"
        f"with build_lock(Path({str(build)!r})): print('held')"
    )
    again = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert again.stdout.strip() == "held", again.stderr


def test_lock_waits_when_asked(tmp_path):
    """With wait > 0 the second holder waits for the first instead of stopping."""
    build = tmp_path / "build"
    code = (
        "import time; from pathlib import Path; from evaluation.pipeline.lock import build_lock\n"
        f"with build_lock(Path({str(build)!r})):\n    print('held', flush=True); time.sleep(1.5)"
    )
    first = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert first.stdout.readline().strip() == "held"
    t0 = time.monotonic()
    with build_lock(build, wait=30):
        waited = time.monotonic() - t0
    first.wait(timeout=30)
    assert 0.3 < waited < 30


# ------------------------------------------------------------------------ exit codes


@pytest.mark.parametrize(
    "code,expected",
    [
        (errno.EROFS, "the file system is read-only"),
        (errno.ENOSPC, "the disk is full"),
        (errno.EACCES, "permission denied"),
    ],
)
def test_io_failures_exit_4_naming_the_path(monkeypatch, capsys, tmp_path, code, expected):
    """Read-only, full disk, permission: exit 4 (not 3), the path and what to do."""
    from evaluation.pipeline import run as run_module

    where = tmp_path / "build" / "results" / "metrics.json"

    def fail(cfg, opts):
        raise OSError(code, os.strerror(code), str(where))

    monkeypatch.setattr(run_module, "run", fail)
    assert cli.main(["run", "--build", str(tmp_path / "build"), "--quiet"]) == 4
    err = capsys.readouterr().err
    assert f"cannot write or read {where} ({os.strerror(code)}): {expected}" in err
    assert "earlier outputs are untouched" in err
    assert "--build DIR" in err or "free some space" in err


def test_a_file_in_the_way_of_the_build_folder_exits_4(tmp_path):
    """A real failure of the file system, end to end: `run` and `validate` both exit 4."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    res = run_cli("run", "--build", str(blocker / "build"), "--no-render")
    assert res.returncode == 4, res.stderr
    assert f"cannot write or read {blocker / 'build'}" in res.stderr
    assert "Traceback" not in res.stderr
    res = run_cli("validate", "--out", str(blocker / "v"))
    assert res.returncode == 4, res.stderr
    assert str(blocker) in res.stderr and "Traceback" not in res.stderr


def test_every_exit_code_is_documented_in_readme_and_help():
    """0-4 in the README, in `evaluation --help` and in the errors' classes."""
    from evaluation import errors

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for code in ("`0` ok", "`1` invalid input data", "`2` usage", "`3` a notebook", "`4`"):
        assert code in readme
    res = run_cli("--help")
    assert "4 a folder could not be written" in res.stdout.replace("\n", " ").replace("  ", " ")
    codes = {c.exit_code for c in vars(errors).values() if isinstance(c, type)
             and issubclass(c, errors.EvaluationError)}  # fmt: skip
    assert codes == {1, 2, 3, 4}


# ---------------------------------------------------------------- configuration errors


def test_missing_configuration_names_full_path_and_suggests_config(tmp_path):
    """Run from another folder: the full path that was looked for, and --config."""
    res = run_cli("validate", cwd=tmp_path)
    assert res.returncode == 2
    assert f"configuration file {tmp_path / 'evaluation.yml'} does not exist" in res.stderr
    assert "--config PATH/TO/evaluation.yml" in res.stderr


def test_yaml_syntax_error_names_path_line_and_column(tmp_path):
    """A wrongly indented key: the file's full path, its line and column, no PyYAML dump."""
    cfg = config_copy(tmp_path, edit=("    kind: return\n    start: 2018-04-01",
                                      "    kind: return\n   start: 2018-04-01"))  # fmt: skip
    lines = cfg.read_text(encoding="utf-8").splitlines()
    bad_line = next(i for i, line in enumerate(lines, 1) if line.startswith("   start: 2018"))
    with pytest.raises(ConfigError) as err:
        config.load(cfg)
    text = str(err.value)
    assert text.startswith(f"{cfg.resolve()} is not valid YAML at line {bad_line}, column 4:")
    assert 'in "<unicode string>"' not in text  # PyYAML's raw dump is gone


# --------------------------------------------------------------- validate in its own place


def test_validate_never_touches_the_published_validation_report(tmp_path):
    """`validate` writes build/validation-only/ (or --out); build/validation/ stays byte-equal."""
    build = tmp_path / "build"
    published = build / "validation" / "report.md"
    published.parent.mkdir(parents=True)
    published.write_text("the last run's report\n", encoding="utf-8")
    res = run_cli("validate", "--build", str(build))
    assert res.returncode == 0, res.stderr
    assert published.read_text(encoding="utf-8") == "the last run's report\n"
    own = json.loads((build / "validation-only" / "report.json").read_text(encoding="utf-8"))
    # every client row of data/synthetic/default/clients.csv, counted here
    with open(ROOT / "data" / "synthetic" / "default" / "clients.csv", encoding="utf-8") as f:
        n_clients = sum(1 for _ in csv.DictReader(f))
    assert own["ok"] is True
    assert own["row_counts"]["clients"] == n_clients
    res = run_cli("validate", "--build", str(build), "--out", str(tmp_path / "elsewhere"))
    assert (tmp_path / "elsewhere" / "report.md").is_file()
    assert "Report written to " + str(tmp_path / "elsewhere" / "report.md") in res.stderr


# --------------------------------------------------- per-project cut-off, --project subsets


def test_cutoff_is_per_project(tmp_path):
    """One project's cut-off is its own; the others keep data.cutoff."""
    import datetime as dt

    moh1_end = "    end: 2018-03-31\n    funder: AMIF\n  - id: MOH2"

    def with_moh1_cutoff(day: str) -> Path:
        own = moh1_end.replace("AMIF\n", f"AMIF\n    cutoff: {day}\n")
        return config_copy(tmp_path, edit=(moh1_end, own))

    cfg = config.load(with_moh1_cutoff("2019-06-30"))
    assert cfg.project("MOH1").cutoff == dt.date(2019, 6, 30)
    assert cfg.project("MOH2").cutoff == cfg.cutoff == dt.date(2020, 12, 31)
    assert cfg.project("ENH").cutoff == dt.date(2020, 12, 31)
    with pytest.raises(ConfigError, match=r"projects\[MOH1\].cutoff \(2015-01-01\) is before"):
        config.load(with_moh1_cutoff("2015-01-01"))


def test_cutoff_of_one_project_leaves_anothers_analysis_alone():
    """At library level: MOH2's durability follow-up with its own cut-off, whatever MOH1's.

    The walkthrough's old failure: one shared cut-off moved to 2023-12-31 made MOH2's windows
    due that were not due at 2020-12-31. With MOH2's own cut-off, its counts do not move.
    """
    import datetime as dt
    from dataclasses import replace

    from evaluation.analysis import monitoring_windows
    from evaluation.data.validate import validate_dataset

    cfg = config.load(ROOT / "evaluation.yml")
    tables, _ = validate_dataset(ROOT / "data" / "synthetic" / "default", cfg.periods)
    moved = replace(cfg, projects=tuple(
        replace(p, cutoff=dt.date(2023, 12, 31)) if p.id == "MOH1" else p for p in cfg.projects
    ))  # fmt: skip
    ret = monitoring_windows.returnees(tables, "MOH2")

    def follow(c):
        return monitoring_windows.follow_up(
            tables["monitoring"], ret, cutoff=c.project("MOH2").cutoff
        )

    assert follow(cfg).equals(follow(moved))
    # and the cut-off matters at all: a shared later cut-off would have changed MOH2's rows
    late = monitoring_windows.follow_up(tables["monitoring"], ret, cutoff=dt.date(2023, 12, 31))
    assert not follow(cfg).equals(late)


@pytest.mark.e2e
def test_project_option_runs_any_subset(tmp_path):
    """`run --data DIR --project MOH2` with an extra MOH3 block configured: exit 0, MOH2 only.

    The summary used to iterate every configured project and failed on MOH3's absent data.
    """
    cfg = config_copy(tmp_path, extra_project=MOH3_BLOCK)
    build = tmp_path / "build"
    data = ROOT / "data" / "synthetic" / "default"
    res = run_cli("run", "--config", str(cfg), "--build", str(build), "--data", str(data),
                  "--project", "MOH2", "--no-render", "--quiet")  # fmt: skip
    assert res.returncode == 0, res.stderr
    # per-project folders for MOH2 only; the cross-project ones (disclosure, efficiency,
    # published, summary) are always there
    assert sorted(p.name for p in (build / "results").iterdir() if p.is_dir()) == [
        "disclosure", "efficiency", "moh2", "published", "summary"]  # fmt: skip
    metrics = json.loads((build / "results" / "metrics.json").read_text(encoding="utf-8"))
    assert not [k for k in metrics if k.startswith(("moh1.", "moh3.", "enh.", "summary.moh3"))]
    # MOH2's return rate from the source rows: verified independent departures / enrolled
    with open(data / "enrolments.csv", encoding="utf-8") as f:
        enrolled = {r["client_id"]: r["enrolment_id"] for r in csv.DictReader(f)
                    if r["project"] == "MOH2"}  # fmt: skip
    with open(data / "departures.csv", encoding="utf-8") as f:
        returned = {r["client_id"] for r in csv.DictReader(f)
                    if r["enrolment_id"] in set(enrolled.values())
                    and r["departure_type"] == "independent_verified"
                    and r["verification"] != "unverified"}  # fmt: skip
    rate = metrics["moh2.return_rate"]
    assert (rate["n"], rate["N"]) == (len(returned), len(enrolled))


# ------------------------------------------------------------------- the handover archive


def _identifiers() -> set[str]:
    with open(ROOT / "data" / "synthetic" / "default" / "clients.csv", encoding="utf-8") as f:
        return {r["client_id"] for r in csv.DictReader(f)}


@pytest.mark.e2e
@pytest.mark.parametrize("name", ["handover.zip", "handover.tar.gz"])
def test_export_writes_one_archive_with_public_outputs_only(default_build, tmp_path, name):
    """Report, public results, manifest, checks, licence, citation, README and SHA256SUMS;
    nothing from build/data, no logs, no cache, no key, no client identifier anywhere."""
    dest = tmp_path / name
    res = run_cli("export", str(dest), "--build", str(default_build))
    assert res.returncode == 0, res.stderr
    if name.endswith(".zip"):
        with zipfile.ZipFile(dest) as zf:
            members = {n: zf.read(n) for n in zf.namelist()}
    else:
        with tarfile.open(dest) as tf:
            members = {m.name: tf.extractfile(m).read() for m in tf.getmembers() if m.isfile()}
    top = {n.split("/", 1)[0] for n in members}
    assert top == {"handover"}
    files = {n.split("/", 1)[1]: data for n, data in members.items()}
    for need in ("report/index.html", "report/evaluation.docx", "report/evaluation.pdf",
                 "results/metrics.json", "manifest.json", "checks/validation-report.md",
                 "checks/output-checking.md", "checks/output-checking.json",
                 "report/annex.html", "report/annex.pdf",
                 "LICENSE", "CITATION.cff", "README.md", "SHA256SUMS",
                 "config/evaluation.yml"):  # fmt: skip
        assert need in files, sorted(files)
    # every public results file is in, byte for byte, and nothing else from the build
    results = (default_build / "results").resolve()
    public = {f"results/{p.relative_to(results).as_posix()}" for p in results.rglob("*")
              if p.is_file()}  # fmt: skip
    assert {n for n in files if n.startswith("results/")} == public
    assert files["results/metrics.json"] == (results / "metrics.json").read_bytes()
    allowed = ("report/", "results/", "checks/", "config/")
    assert all(n.startswith(allowed) or "/" not in n for n in files)
    assert not [n for n in files if n.startswith(("data/", "cache/", "logs/", "notebooks/"))]
    assert not [n for n in files if "key" in n.lower() or n.endswith((".log", ".parquet"))]
    # checksums recomputed here agree with SHA256SUMS, which lists every other file
    sums = dict(reversed(line.split("  ", 1)) for line in files["SHA256SUMS"].decode().splitlines())
    assert set(sums) == set(files) - {"SHA256SUMS"}
    assert all(hashlib.sha256(files[n]).hexdigest() == h for n, h in sums.items())
    # no client identifier of the input reaches the archive (text and binary members alike)
    blob = b"\n".join(files.values())
    ids = _identifiers()
    assert len(ids) > 100  # 577 synthetic clients
    # as a whole token: an id such as c000295 is also hex, and may occur inside a cache key
    # of the manifest ("…9fc0002953101b…"), which is no identifier
    tokens = set(re.findall(rb"[0-9A-Za-z]+", blob))
    leaked = [i for i in ids if i.encode() in tokens]
    assert leaked == []
    assert b"SYNTHETIC" in files["README.md"]


def test_export_without_a_run_says_what_to_do(tmp_path):
    res = run_cli("export", str(tmp_path / "x.zip"), "--build", str(tmp_path / "empty"))
    assert res.returncode == 2
    assert "holds no finished run to export; run `make report`" in res.stderr
    assert not (tmp_path / "x.zip").exists()


# ------------------------------------------------------------------------------- Ctrl-C


@pytest.mark.e2e
def test_ctrl_c_ends_every_kernel_and_leaves_no_temporary_files(tmp_path):
    """SIGINT to the run's process group (what Ctrl-C does) while notebooks execute: exit 130,
    no worker or kernel left running, no temporary file in build/, no connection file."""
    import psutil

    def executing(build: Path) -> bool:
        return (build / "cache").is_dir() and any((build / "cache").glob("*.tmp-*"))

    build = tmp_path / "build"
    proc = subprocess.Popen(
        [sys.executable, "-m", "evaluation", "run", "--build", str(build), "--no-render",
         "--jobs", "2"],
        cwd=ROOT, env=cli_env(), stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        deadline, kernels, tree = time.monotonic() + 300, [], []
        # kernels start (and warm) during validation: wait for a notebook to be executing
        while time.monotonic() < deadline and not (kernels and executing(build)):
            time.sleep(0.2)
            tree, kernels = psutil.Process(proc.pid).children(recursive=True), []
            for p in tree:
                try:
                    if any("ipykernel" in a for a in p.cmdline()):
                        kernels.append(p)
                except psutil.Error:
                    pass
        assert kernels, "no notebook kernel started"
        connection = [Path(a[i + 1]) for a in (k.cmdline() for k in kernels)
                      for i, x in enumerate(a) if x == "-f"]  # fmt: skip
        sockets = [s for c in connection for s in c.parent.glob(f"{c.stem}-ipc-*")]
        time.sleep(1.0)
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, err
    assert "interrupted: earlier outputs are untouched" in err
    _, alive = psutil.wait_procs(tree, timeout=15)
    assert [p.pid for p in alive] == []
    assert connection and not [c for c in connection if c.exists()]
    assert sockets and not [s for s in sockets if s.exists()]  # the kernels' IPC sockets
    debris = [p for p in build.rglob("*")
              if ".tmp" in p.name or p.name.startswith(".stage-") or ".new-" in p.name]  # fmt: skip
    assert debris == []
    assert not (build / "results").exists()
    # a notebook that finished before the interrupt keeps its cache entry, whole (the next run
    # reuses it); none is half-written
    for entry in (build / "cache").iterdir():
        assert re.fullmatch("[0-9a-f]{64}", entry.name), entry
        nb = nbformat.read(entry / "notebook.ipynb", as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
        assert code and all(c.execution_count for c in code), entry


# ------------------------------------------------------------------ the generated sentence


def test_equal_rates_read_the_same_as_not_the_same_than():
    """58 of 161 against 58 of 161: 'was the same as MOH2's', and a real gap keeps 'than'."""
    from evaluation.analysis.comparison import compare
    from evaluation.analysis.rates import wilson

    (same,) = compare({"MOH2": wilson(58, 161), "MOH3": wilson(58, 161)}, baseline="MOH2")
    assert "MOH3's return rate (36.0 % (95 % CI 29.0–43.7 %; 58 of 161)) was the same as " \
        "MOH2's (36.0 %" in same.sentence()  # fmt: skip
    assert "than" not in same.sentence().split(";")[0]
    # 51/148 = 34.46 %, 58/161 = 36.02 %: 1.6 points higher, worked out by hand
    (up,) = compare({"MOH1": wilson(51, 148), "MOH3": wilson(58, 161)}, baseline="MOH1")
    assert "was 1.6 percentage points higher than MOH1's (34.5 %" in up.sentence()
