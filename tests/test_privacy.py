"""No personal data leaks: canaries planted in the input never reach any file under build/.

One run of the whole pipeline (validate → execute → render HTML, DOCX, PDF) on a copy of the
default data with distinctive values planted in every identifier and free-text column the
contract allows; then every file under the build folder is searched for them. The key used for
pseudonymisation is searched for too, in build/ and in git.
"""

from __future__ import annotations

import csv
import json
import re
import secrets
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from conftest import ROOT, cli_env, run_cli
from textutil import pdf_text

from evaluation.data.pseudonymise import pseudonym

pytestmark = pytest.mark.e2e

DEFAULT_DATA = ROOT / "data" / "synthetic" / "default"
ID_COLUMNS = {
    "clients": "client_id",
    "enrolments": "enrolment_id",
    "sessions": "session_id",
    "referrals": "referral_id",
    "departures": "departure_id",
    "support": "support_id",
    "monitoring": "contact_id",
}
SPECIAL = ("medical_needs", "vulnerability_note")
FREE_TEXT = ("counsellor_note",)
PSEUDONYM = re.compile(r"p_[0-9a-f]{16}")


def _read(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames or []), list(reader)


def _write(path: Path, fields: list[str], rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


def plant_canaries(src: Path, dst: Path) -> dict[str, list[str]]:
    """Copy the dataset src to dst with canaries planted; return them by class.

    Classes: client ids (three clients: one returned with support and monitoring, one in ENH
    only, one in MOH2), record ids (every enrolment, session, referral, departure, support and
    monitoring row of those clients), names and free text (vulnerability and counsellor notes).
    """
    shutil.copytree(src, dst)
    tables = {p.stem: _read(p) for p in sorted(dst.glob("*.csv"))}
    enrol = tables["enrolments"][1]
    support_clients = [r["client_id"] for r in tables["support"][1]]
    monitored = {r["client_id"] for r in tables["monitoring"][1]}
    returned = next(c for c in support_clients if c in monitored)
    by_project: dict[str, list[str]] = {}
    for r in enrol:
        by_project.setdefault(r["project"], []).append(r["client_id"])
    enh_only = next(c for c in by_project["ENH"] if sum(c == e["client_id"] for e in enrol) == 1)
    moh2 = next(c for c in by_project["MOH2"] if c not in (returned, enh_only))
    clients = {old: f"CANARY-ID-{7731 + i}" for i, old in enumerate((returned, enh_only, moh2))}

    canaries: dict[str, list[str]] = {
        "client ids": list(clients.values()),
        "record ids": [],
        "names and free text": [],
    }
    enrolments = {r["enrolment_id"] for r in enrol if r["client_id"] in clients}
    renamed: dict[str, dict[str, str]] = {}
    for name, (_, rows) in tables.items():
        own = ID_COLUMNS[name]
        mine = [
            r for r in rows if r.get("client_id") in clients or r.get("enrolment_id") in enrolments
        ]
        if name != "clients":
            tag = name[:3].upper()
            renamed[own] = {r[own]: f"CANARY-{tag}-{i:04d}" for i, r in enumerate(mine)}
            canaries["record ids"] += list(renamed[own].values())
    for name, (_, rows) in tables.items():
        for r in rows:
            if r.get("client_id") in clients:
                r["client_id"] = clients[r["client_id"]]
            for col in ("enrolment_id", ID_COLUMNS[name]):
                if col in r and r[col] in renamed.get(col, {}):
                    r[col] = renamed[col][r[col]]
    for i, r in enumerate(tables["clients"][1][:40]):
        text = f"Canary Jansen-{i:02d}, Kanariestraat {i + 1}, diagnosis CANARY-VUL-{i:04d}"
        r["vulnerability_note"] = text
        r["medical_needs"] = "true"
        canaries["names and free text"] += [f"Canary Jansen-{i:02d}", f"CANARY-VUL-{i:04d}"]
    for i, r in enumerate(tables["sessions"][1][::50]):
        r["counsellor_note"] = f'Canary de Vries-{i:02d} said "CANARY-NOTE-{i:04d}", phone 0612'
        canaries["names and free text"] += [f"Canary de Vries-{i:02d}", f"CANARY-NOTE-{i:04d}"]
    for name, (fields, rows) in tables.items():
        _write(dst / f"{name}.csv", fields, rows)
    return canaries


def file_texts(path: Path) -> list[str]:
    """Every readable text of one file: raw bytes, zip members, PDF text, Parquet cells."""
    raw = path.read_bytes()
    texts = [raw.decode("utf-8", errors="replace")]
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            texts += [z.read(n).decode("utf-8", errors="replace") for n in z.namelist()]
    if raw.startswith(b"%PDF"):
        texts.append(pdf_text(path))
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        texts.append(" ".join(table.column_names))
        texts.append(" ".join(map(str, table.to_pylist())))
    return texts


def every_file(build: Path) -> list[Path]:
    """Every regular file under build/, following the published symlinks exactly once."""
    return sorted(p for p in build.rglob("*") if p.is_file() and not p.is_symlink())


def hits(files: list[Path], needles: list[str]) -> dict[str, list[str]]:
    """needle -> files (relative) whose text contains it, case-insensitively."""
    lowered = [n.lower() for n in needles]
    found: dict[str, list[str]] = {}
    for path in files:
        joined = "\n".join(file_texts(path)).lower()
        for needle, low in zip(needles, lowered, strict=True):
            if low in joined:
                found.setdefault(needle, []).append(str(path))
    return found


@pytest.fixture(scope="module")
def canary_run(tmp_path_factory):
    """The whole pipeline, rendered in every format, on data carrying canaries."""
    tmp = tmp_path_factory.mktemp("privacy")
    data = tmp / "cases"
    canaries = plant_canaries(DEFAULT_DATA, data)
    key = "canary-key-" + secrets.token_hex(16)
    build = tmp / "build"
    res = run_cli(
        "run",
        "--data",
        str(data),
        "--build",
        str(build),
        "--pandoc",
        env=cli_env(EVALUATION_PSEUDONYM_KEY=key),
    )
    assert res.returncode == 0, res.stderr
    return build, data, canaries, key, res


def test_canaries_are_really_in_the_input(canary_run):
    """The search finds every canary in the input: a miss in build/ means absence, not blindness."""
    _, data, canaries, _, _ = canary_run
    needles = [c for group in canaries.values() for c in group]
    found = hits(sorted(data.glob("*.csv")), needles)
    assert sorted(found) == sorted(needles)
    sessions = len(_read(DEFAULT_DATA / "sessions.csv")[1])
    assert len(canaries["client ids"]) == 3
    assert len(canaries["names and free text"]) == 2 * 40 + 2 * -(-sessions // 50)
    assert len(canaries["record ids"]) >= 10


def test_search_reads_every_format(canary_run):
    """Positive control: text known to be in the report is found in HTML, DOCX and PDF."""
    build = canary_run[0]
    report = build / "report"
    found = hits(
        [report / "index.html", report / "evaluation.docx", report / "evaluation.pdf"],
        ["Met Opgeheven Hoofd"],
    )
    assert len(found["Met Opgeheven Hoofd"]) == 3


@pytest.mark.parametrize("group", ["client ids", "record ids", "names and free text"])
def test_no_canary_anywhere_in_build(canary_run, group):
    build, _, canaries, _, res = canary_run
    files = every_file(build)
    kinds = {p.suffix for p in files}
    assert {".ipynb", ".csv", ".json", ".html", ".docx", ".pdf", ".parquet", ".log"} <= kinds
    assert hits(files, canaries[group]) == {}
    assert not any(c.lower() in (res.stdout + res.stderr).lower() for c in canaries[group])


def row_level(rel: Path) -> bool:
    """The internal places for pseudonymised rows: the prepared tables (build/data/) and the
    notebooks' results stores (build/store/, build/cache/<key>/store/: one row per client for
    the cross-project notebooks). Nothing published or exported reads them."""
    parts = rel.parts
    return parts[:1] in (("data",), ("store",)) or (
        parts[:1] == ("cache",) and parts[2:3] == ("store",)
    )


def test_pseudonyms_stay_in_prepared_data(canary_run):
    """No row-level pseudonym reaches notebooks, results, report, manifest or logs: only the
    prepared tables and the internal results stores hold them. With one dataset the prepared
    tables link through integer codes (data.id_codes): the clients' pseudonyms are not kept
    at all, the rows' own identifiers stay pseudonyms."""
    build, _, canaries, key, _ = canary_run
    planted = [pseudonym(c, key.encode()) for c in canaries["client ids"]]
    data_files = [p for p in every_file(build) if row_level(p.relative_to(build))]
    assert hits(data_files, planted) == {}  # client identifiers are codes once prepared
    held = {p.name for p in data_files for t in file_texts(p) if PSEUDONYM.search(t)}
    assert {"sessions.parquet", "departures.parquet"} <= held  # the rows' own identifiers
    outside = [p for p in every_file(build) if p not in set(data_files)]
    leaked = {
        str(p): PSEUDONYM.findall(t)[:3]
        for p in outside
        for t in file_texts(p)
        if PSEUDONYM.search(t)
    }
    assert leaked == {}


def test_special_category_columns_never_reach_the_analysis(canary_run):
    """The prepared tables lack them; no results table, metric or notebook code names them."""
    build = canary_run[0]
    names = SPECIAL + FREE_TEXT
    import pyarrow.parquet as pq

    prepared = sorted((build / "data").rglob("*.parquet"))
    assert len(prepared) >= 7
    columns = {c for p in prepared for c in pq.read_schema(p).names}
    assert "client_id" in columns and not set(names) & columns
    for csv_file in sorted((build / "results").rglob("*.csv")):
        text = csv_file.read_text(encoding="utf-8")
        assert not [n for n in names if n in text], csv_file
    metrics = json.loads((build / "results" / "metrics.json").read_text())
    assert not [k for k in metrics if any(n in k for n in names)]
    notebooks = sorted((build / "notebooks").rglob("*.ipynb"))
    assert len(notebooks) >= 8
    for path in notebooks:
        nb = json.loads(path.read_text(encoding="utf-8"))
        code = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
        assert not [n for n in names if n in code], path


def test_special_category_names_only_in_the_data_dictionary(canary_run):
    """Anywhere in build/, these names occur only where the contract is documented: each
    occurrence is followed, within its data-dictionary row, by 'dropped on load'."""
    build = canary_run[0]
    pattern = re.compile("|".join(SPECIAL + FREE_TEXT), re.I)
    bad = []
    for path in every_file(build):
        for raw in file_texts(path):
            text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", raw))  # XML and HTML as text
            for m in pattern.finditer(text):
                if "dropped on load" not in text[m.end() : m.end() + 300].lower():
                    bad.append((str(path.relative_to(build)), text[m.start() : m.end() + 60]))
    assert bad == []


def test_key_never_in_build_or_logs(canary_run):
    build, _, _, key, res = canary_run
    assert hits(every_file(build), [key]) == {}
    assert key not in res.stdout + res.stderr


def _known_keys() -> list[str]:
    from evaluation.data.pseudonymise import default_key_file

    keys = []
    path = default_key_file()
    if path.is_file():
        keys.append(path.read_text().strip())
    return [k for k in keys if len(k) >= 16]


def test_key_never_in_git(canary_run):
    """The run's key and the user's own key file are in no tracked file nor any commit."""
    key = canary_run[3]
    revs = subprocess.run(
        ["git", "rev-list", "--all"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    for k in [key, *_known_keys()]:
        for args in (["git", "grep", "-I", "-F", "-e", k], ["git", "grep", "-F", "-e", k, *revs]):
            res = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, check=False)
            assert res.returncode == 1 and res.stdout == "", f"key found by {args[:3]}"
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", "my.pseudonym.key"], cwd=ROOT, check=False
    )
    assert ignored.returncode == 0


def test_key_file_inside_repository_is_refused(tmp_path):
    """A key file in a git work tree could be committed: the run stops before reading data."""
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    key_file = tmp_path / "repo" / "pseudonym.key"
    key_file.write_text(secrets.token_hex(16))
    env = cli_env(EVALUATION_PSEUDONYM_KEY_FILE=str(key_file))
    env.pop("EVALUATION_PSEUDONYM_KEY")
    res = run_cli("run", "--build", str(tmp_path / "b"), "--no-render", env=env)
    assert res.returncode == 2
    assert "inside the repository" in res.stderr
    assert not (tmp_path / "b" / "results").exists()
