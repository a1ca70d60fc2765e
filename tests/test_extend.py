"""Extending the study without code: a third return project from a Dutch-headed XLSX export.

The export is built here from the committed synthetic data: MOH2's clients, with every date
shifted into MOH3's period (2020-11-01 to 2023-10-31), relabelled MOH3, renumbered, and written
as one Dutch-headed workbook per table with Dutch codes and dd-mm-jjjj dates, as a case system
would export them. `python tests/test_extend.py OUT [--with-mapping]` writes the same export
for a rehearsal (docs/walkthrough.md).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import ROOT, run_cli  # noqa: E402
from textutil import html_text  # noqa: E402

SOURCE = ROOT / "data" / "synthetic" / "default"
MOH2_START, MOH3_START, MOH3_END = dt.date(2018, 4, 1), dt.date(2020, 11, 1), dt.date(2023, 10, 31)
SHIFT = pd.Timedelta(days=(MOH3_START - MOH2_START).days)

# Per table: the workbook's file name and the Dutch header of every contract column.
HEADERS: dict[str, tuple[str, dict[str, str]]] = {
    "clients": (
        "Clienten.xlsx",
        {
            "client_id": "Cliëntnummer",
            "sex": "Geslacht",
            "birth_year": "Geboortejaar",
            "nationality": "Land van herkomst",
            "country_of_return": "Land van terugkeer",
            "household_size": "Grootte huishouden",
            "years_in_nl": "Jaren in Nederland",
            "legal_status_intake": "Verblijfsstatus bij intake",
            "medical_needs": "Medische zorg nodig",
            "vulnerability_note": "Notitie kwetsbaarheid",
        },
    ),
    "enrolments": (
        "Inschrijvingen.xlsx",
        {
            "enrolment_id": "Inschrijvingsnummer",
            "client_id": "Cliëntnummer",
            "project": "Project",
            "support_point": "Steunpunt",
            "intake_route": "Verwezen via",
            "enrolment_date": "Datum inschrijving",
            "reintegration_plan_date": "Datum re-integratieplan",
            "exit_date": "Datum uitschrijving",
            "exit_reason": "Reden uitschrijving",
            "consent_research": "Toestemming onderzoek",
        },
    ),
    "sessions": (
        "Gesprekken.xlsx",
        {
            "session_id": "Gespreknummer",
            "enrolment_id": "Inschrijvingsnummer",
            "session_date": "Datum gesprek",
            "mode": "Vorm",
            "topic": "Onderwerp",
            "decision_stage": "Fase besluit",
            "counsellor_note": "Notitie consulent",
        },
    ),
    "referrals": (
        "Doorverwijzingen.xlsx",
        {
            "referral_id": "Verwijzingsnummer",
            "enrolment_id": "Inschrijvingsnummer",
            "referral_date": "Datum verwijzing",
            "receiving_org": "Ontvangende organisatie",
            "status": "Status",
        },
    ),
    "departures": (
        "Vertrek.xlsx",
        {
            "departure_id": "Vertreknummer",
            "client_id": "Cliëntnummer",
            "enrolment_id": "Inschrijvingsnummer",
            "departure_date": "Datum vertrek",
            "departure_type": "Soort vertrek",
            "facilitated_by": "Begeleid door",
            "verification": "Verificatie",
            "destination": "Bestemming",
        },
    ),
    "support": (
        "Ondersteuning.xlsx",
        {
            "support_id": "Ondersteuningsnummer",
            "client_id": "Cliëntnummer",
            "support_type": "Soort ondersteuning",
            "modality": "Vorm",
            "amount_eur": "Bedrag (EUR)",
            "partner": "Partnerorganisatie",
            "support_date": "Datum ondersteuning",
        },
    ),
    "monitoring": (
        "Monitoring.xlsx",
        {
            "contact_id": "Contactnummer",
            "client_id": "Cliëntnummer",
            "window": "Meetmoment",
            "contact_date": "Datum contact",
            "reached": "Bereikt",
            "not_reached_reason": "Reden niet bereikt",
            "residence_status": "Verblijfssituatie",
            "livelihood": "Levensonderhoud",
            "rss_economic": "RSS economisch",
            "rss_social": "RSS sociaal",
            "rss_psychosocial": "RSS psychosociaal",
        },
    ),
}
COUNTRIES = {
    "AFG": "Afghanistan", "ARM": "Armenië", "DZA": "Algerije", "EGY": "Egypte",
    "ERI": "Eritrea", "ETH": "Ethiopië", "GEO": "Georgië", "GIN": "Guinee", "IRN": "Iran",
    "IRQ": "Irak", "MAR": "Marokko", "MNG": "Mongolië", "NGA": "Nigeria", "SDN": "Soedan",
    "SOM": "Somalië", "SYR": "Syrië", "XXA": "Staatloos",
}  # fmt: skip
SEXES = {"female": "vrouw", "male": "man", "other": "anders"}
EXIT_REASONS = {
    "returned": "teruggekeerd", "residence_permit": "verblijfsvergunning",
    "new_procedure": "nieuwe procedure", "forced_removal": "gedwongen vertrek",
    "lost_contact": "uit beeld", "returned_other_org": "vertrokken via andere organisatie",
    "withdrew": "gestopt", "project_end": "einde project",
}  # fmt: skip
# Contract column -> {contract code: Dutch word}: what the case system writes instead.
DUTCH_CODES = {
    ("clients", "sex"): SEXES,
    ("clients", "nationality"): COUNTRIES,
    ("clients", "country_of_return"): COUNTRIES,
    ("enrolments", "exit_reason"): EXIT_REASONS,
    ("departures", "destination"): COUNTRIES,
}
# Identifiers renumbered so that no MOH3 record collides with the default data's records.
ID_PREFIX = {"client_id": "K3-", "enrolment_id": "I3-", "session_id": "G3-",
             "referral_id": "V3-", "departure_id": "T3-", "support_id": "O3-",
             "contact_id": "C3-"}  # fmt: skip
BOOL_WORDS = {True: "ja", False: "nee"}


def moh3_tables() -> dict[str, pd.DataFrame]:
    """MOH2's clients from the default synthetic data, moved into MOH3's period (contract form)."""
    src = {t: pd.read_csv(SOURCE / f"{t}.csv", dtype=str, keep_default_na=False) for t in HEADERS}
    enrol = src["enrolments"]
    enrol = enrol[enrol["project"] == "MOH2"].assign(project="MOH3")
    clients, enrolments = set(enrol["client_id"]), set(enrol["enrolment_id"])
    departures = src["departures"][src["departures"]["enrolment_id"].isin(enrolments)]
    departed = set(departures["client_id"])
    out = {
        "clients": src["clients"][src["clients"]["client_id"].isin(clients)],
        "enrolments": enrol,
        "sessions": src["sessions"][src["sessions"]["enrolment_id"].isin(enrolments)],
        "referrals": src["referrals"][src["referrals"]["enrolment_id"].isin(enrolments)],
        "departures": departures,
        "support": src["support"][src["support"]["client_id"].isin(departed)],
        "monitoring": src["monitoring"][src["monitoring"]["client_id"].isin(departed)],
    }
    for name, df in out.items():
        df = df.reset_index(drop=True).copy()
        for col in df.columns:
            if col.endswith("_date"):
                dates = pd.to_datetime(df[col].replace("", None), format="%Y-%m-%d") + SHIFT
                df[col] = dates.dt.strftime("%Y-%m-%d").fillna("")
            if col in ID_PREFIX:
                df[col] = df[col].map(lambda v, p=ID_PREFIX[col]: p + v[1:] if v else v)
        out[name] = df
    return out


def dutch(name: str, df: pd.DataFrame) -> pd.DataFrame:
    """One table as the Dutch case system exports it: Dutch headers, words and dd-mm-jjjj dates."""
    df = df.copy()
    for col in df.columns:
        if col.endswith("_date"):
            dates = pd.to_datetime(df[col].replace("", None), format="%Y-%m-%d")
            df[col] = dates.dt.strftime("%d-%m-%Y").fillna("")
        codes = DUTCH_CODES.get((name, col))
        if codes:
            df[col] = df[col].map(lambda v, c=codes: c.get(v, v))
        if df[col].isin(["true", "false"]).any():
            df[col] = df[col].map({"true": "ja", "false": "nee"}).fillna(df[col])
    return df.rename(columns=HEADERS[name][1])


def mapping() -> dict:
    """The filled-in mapping.yaml of the export: Dutch headers and words -> the contract."""
    tables = {}
    for name, (file, headers) in HEADERS.items():
        codes = {
            col: {nl: code for code, nl in words.items() if nl != code}
            for (table, col), words in DUTCH_CODES.items()
            if table == name
        }
        entry = {"file": file, "columns": {nl: col for col, nl in headers.items()}}
        if codes:
            entry["codes"] = codes
        tables[name] = entry
    return {"tables": tables}


def write_export(out: Path, with_mapping: bool = True) -> Path:
    """Write the Dutch XLSX export (one workbook per table, sheet 'Export') and its mapping."""
    out.mkdir(parents=True, exist_ok=True)
    for name, df in moh3_tables().items():
        dutch(name, df).to_excel(out / HEADERS[name][0], sheet_name="Export", index=False)
    if with_mapping:
        text = yaml.safe_dump(mapping(), allow_unicode=True, sort_keys=False, width=100)
        (out / "mapping.yaml").write_text(text, encoding="utf-8")
    return out


# ------------------------------------------------------------------------------------- tests


@pytest.fixture(scope="module")
def export(tmp_path_factory) -> Path:
    return write_export(tmp_path_factory.mktemp("moh3_export"))


def _config_copy(folder: Path, formats: str = "[html]") -> Path:
    """evaluation.yml copied into folder, with the data paths made absolute (they are relative)."""
    text = (ROOT / "evaluation.yml").read_text(encoding="utf-8")
    text = text.replace("published: data/", f"published: {ROOT}/data/")
    text = text.replace("cases: data/", f"cases: {ROOT}/data/")
    # MOH3 ran to October 2023: the records can know about events up to the end of 2023.
    text = text.replace("cutoff: 2020-12-31", "cutoff: 2023-12-31")
    text = text.replace("formats: [html, docx, pdf]", f"formats: {formats}")
    path = folder / "evaluation.yml"
    path.write_text(text, encoding="utf-8")
    return path


def test_export_looks_like_a_dutch_case_system(export):
    """The fixture really is Dutch: headers, words and dd-mm-jjjj dates in the workbook cells."""
    import openpyxl

    book = openpyxl.load_workbook(export / "Inschrijvingen.xlsx", read_only=True)
    rows = list(book["Export"].iter_rows(values_only=True))
    book.close()
    header, first = rows[0], dict(zip(rows[0], rows[1], strict=True))
    assert "Datum inschrijving" in header and "Cliëntnummer" in header
    assert first["Project"] == "MOH3"
    day = dt.datetime.strptime(first["Datum inschrijving"], "%d-%m-%Y").date()
    assert MOH3_START <= day <= MOH3_END
    clients = pd.read_excel(export / "Clienten.xlsx")
    assert "Nigeria" in set(clients["Land van herkomst"]) and "NGA" not in set(
        clients["Land van herkomst"]
    )
    assert set(clients["Geslacht"]) <= {"vrouw", "man", "anders"}


def test_third_project_by_configuration_alone(export, tmp_path):
    """init-project writes MOH3's block and the export validates against the contract. The run
    that follows (MOH3 in metrics.json and in the rendered comparison, values worked out from
    these source rows) is the walkthrough's: tests/test_docs.py checks it on that build."""
    cfg = _config_copy(tmp_path)
    res = run_cli("init-project", "MOH3", "--data", str(export), "--start", "2020-11-01",
                  "--end", "2023-10-31", "--baseline", "MOH2", "--config", str(cfg))  # fmt: skip
    assert res.returncode == 0, res.stderr
    block = yaml.safe_load(cfg.read_text(encoding="utf-8"))["projects"][-1]
    assert block == {"id": "MOH3", "name": "MOH3", "kind": "return", "start": MOH3_START,
                     "end": MOH3_END, "data": str(export), "baseline": "MOH2"}  # fmt: skip

    res = run_cli("validate", str(export), "--config", str(cfg), "--build", str(tmp_path / "v"))
    assert res.returncode == 0, res.stdout + res.stderr


def check_moh3_build(build: Path) -> None:
    """MOH3 in a build made from this module's export: its return rate and the comparison row
    against its baseline MOH2, worked out from the source rows."""
    # Expected return rate worked out from the source rows: verified departures of MOH2 clients.
    src = moh3_tables()
    dep = src["departures"]
    verified = dep[(dep["departure_type"] == "independent_verified")
                   & (dep["verification"] != "unverified")]  # fmt: skip
    n, N = verified["client_id"].nunique(), src["enrolments"]["client_id"].nunique()
    metrics = json.loads((build / "results" / "metrics.json").read_text(encoding="utf-8"))
    assert (metrics["moh3.return_rate"]["n"], metrics["moh3.return_rate"]["N"]) == (n, N)
    assert metrics["moh3.return_rate"]["estimate"] == pytest.approx(n / N)
    # Same records as MOH2, only moved in time: the same rate as MOH2 in the default data.
    assert metrics["moh3.return_rate"]["estimate"] == pytest.approx(
        metrics["moh2.return_rate"]["estimate"]
    )
    chapter = comparison_chapter(build / "report" / "index.html")
    rate = f"{100 * n / N:.1f} %"
    assert f"MOH3’s return rate ({rate} (95 % CI" in chapter, chapter[:2000]
    # the comparison table row: MOH3 against its declared baseline MOH2, each person once —
    # MOH2's clients who came over from MOH1 count in MOH1 (issue 13), counted from the rows
    b_n, b_N = _moh2_once()
    row = f"MOH2 MOH3 {b_n} of {b_N} ({100 * b_n / b_N:.1f} %) {n} of {N} ({rate})"
    assert row in chapter


def _moh2_once() -> tuple[int, int]:
    """Verified returns and persons of MOH2 in the default data without the clients first
    enrolled in MOH1."""
    d = ROOT / "data" / "synthetic" / "default"
    e = pd.read_csv(d / "enrolments.csv")
    dep = pd.read_csv(d / "departures.csv")
    moh2 = e[e["project"] == "MOH2"]
    persons = set(moh2["client_id"]) - set(e.loc[e["project"] == "MOH1", "client_id"])
    v = dep[
        (dep["departure_type"] == "independent_verified") & (dep["verification"] != "unverified")
    ]
    returned = set(v.loc[v["enrolment_id"].isin(moh2["enrolment_id"]), "client_id"]) & persons
    return len(returned), len(persons)


def comparison_chapter(report: Path) -> str:
    """Plain text of the report's comparison chapter (from its heading to the next chapter)."""
    raw = report.read_text(encoding="utf-8")
    start = raw.index('id="sec-comparison"')
    # the next chapter's heading, after this chapter's own (the id may sit on either)
    end = raw.find("<h1", raw.index("</h1>", start))
    part = report.with_name("comparison-chapter.html")
    part.write_text(raw[start : end if end > 0 else None], encoding="utf-8")
    return html_text(part)


def test_unmapped_header_and_unknown_code_are_reported(tmp_path):
    """One header left out of mapping.yaml and one untranslated country: exit 1, both named."""
    import openpyxl

    export = write_export(tmp_path / "export")
    cfg = _config_copy(tmp_path)
    text = (export / "mapping.yaml").read_text(encoding="utf-8")
    (export / "mapping.yaml").write_text(text.replace("      Geslacht: sex\n", ""), "utf-8")
    book = openpyxl.load_workbook(export / "Clienten.xlsx")
    sheet = book["Export"]
    header = [c.value for c in sheet[1]]
    sheet.cell(row=5, column=header.index("Land van herkomst") + 1, value="Ivoorkust")
    book.save(export / "Clienten.xlsx")
    # MOH3's period configured, so that only the two faults show.
    text = cfg.read_text(encoding="utf-8").replace(
        "\nthresholds:",
        "\n  - {id: MOH3, name: MOH3, kind: return, start: 2020-11-01, end: 2023-10-31}\n"
        "\nthresholds:",
    )
    cfg.write_text(text, encoding="utf-8")

    res = run_cli("validate", str(export), "--config", str(cfg), "--build", str(tmp_path / "b"))
    assert res.returncode == 1, res.stdout + res.stderr
    report = json.loads((tmp_path / "b" / "validation-only" / "report.json").read_text("utf-8"))
    errors = {(p["table"], p["column"], p["rule"], p["row"]) for p in report["problems"]
              if p["severity"] == "error"}  # fmt: skip
    assert errors == {("clients", "sex", "missing_column", None),
                      ("clients", "nationality", "unknown_code", 5)}  # fmt: skip
    warnings = [p for p in report["problems"] if p["severity"] == "warning"]
    assert [(p["column"], p["rule"]) for p in warnings] == [("Geslacht", "unknown_column")]
    # The readable report (stdout) names the header and the code in the user's own words.
    assert "'Geslacht'" in res.stdout and "required column sex is missing" in res.stdout
    assert "Clienten.xlsx row 5, column nationality: Ivoorkust" in res.stdout


@pytest.mark.parametrize(
    "old,new,expected",
    [
        ("    funder: AMIF\n    baseline: MOH1",
         "    funder: AMIF\n    colour: blue\n    baseline: MOH1",
         "evaluation.yml.projects[MOH2]: unknown key 'colour'"),
        ("disclosure_min_count: 5 ", "disclosure_min_count: five ",
         "evaluation.yml.thresholds.disclosure_min_count is 'five'; expected a whole number"),
        ("    end: 2020-10-31", "    end: 2020-10-32",
         "evaluation.yml.projects[MOH2].end is '2020-10-32'; expected a date as YYYY-MM-DD"),
    ],
)  # fmt: skip
def test_configuration_errors_exit_2_naming_the_key(tmp_path, old, new, expected):
    """A wrong key, type or date in evaluation.yml stops `run` before any work, naming the key."""
    cfg = _config_copy(tmp_path)
    text = cfg.read_text(encoding="utf-8")
    assert text.count(old) == 1
    cfg.write_text(text.replace(old, new), encoding="utf-8")
    build = tmp_path / "build"
    res = run_cli("run", "--config", str(cfg), "--build", str(build))
    assert res.returncode == 2, res.stdout + res.stderr
    assert expected in res.stderr
    assert "Traceback" not in res.stderr
    assert not (build / "data").exists()  # nothing was validated or prepared


def test_init_project_writes_block_and_template(tmp_path):
    """init-project adds a loadable block and a mapping template naming every contract table."""
    from evaluation import config
    from evaluation.data import read as io
    from evaluation.data.contract import TABLES

    cfg = _config_copy(tmp_path)
    res = run_cli("init-project", "MOH4", "--data", "moh4_export", "--start", "2023-11-01",
                  "--end", "2025-10-31", "--baseline", "MOH2", "--config", str(cfg))  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert f"next: evaluation validate {tmp_path / 'moh4_export'} --config {cfg}" in res.stdout
    moh4 = config.load(cfg).project("MOH4")
    assert (moh4.start, moh4.end) == (dt.date(2023, 11, 1), dt.date(2025, 10, 31))
    assert moh4.data == tmp_path / "moh4_export" and moh4.baseline == "MOH2"
    template = io.read_mapping(tmp_path / "moh4_export")
    assert list(template) == list(TABLES)
    assert all(e == {"file": "", "columns": {}, "codes": {}} for e in template.values())
    again = run_cli("init-project", "MOH4", "--data", "x", "--start", "2023-11-01",
                    "--end", "2025-10-31", "--config", str(cfg))  # fmt: skip
    assert again.returncode == 2 and "already in evaluation.yml" in again.stderr
    bad = run_cli("init-project", "MOH5", "--data", "x", "--start", "2025-11-01",
                  "--end", "31-10-2027", "--config", str(cfg))  # fmt: skip
    assert bad.returncode == 2 and "--end is '31-10-2027'" in bad.stderr


if __name__ == "__main__":
    # python tests/test_extend.py OUT [--with-mapping]: a rehearsal export (docs/walkthrough.md).
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    out = write_export(Path(args[0] if args else "moh3_export"), "--with-mapping" in sys.argv)
    print(f"wrote a SYNTHETIC Dutch-headed MOH3 export ({len(HEADERS)} workbooks) to {out}")
