"""Synthetic data: calibration, scaling, determinism, date order and sourced assumptions."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from evaluation.data import synthetic

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = [
    ROOT / "data" / "scenarios" / "enh_moh1.yaml",
    ROOT / "data" / "scenarios" / "moh2.yaml",
]
CUTOFF = pd.Timestamp("2020-12-31")
PERIODS = {
    "ENH": ("2015-10-01", "2018-03-31"),
    "MOH1": ("2015-10-01", "2018-03-31"),
    "MOH2": ("2018-04-01", "2020-10-31"),
}


@pytest.fixture(scope="module")
def t1() -> dict[str, pd.DataFrame]:
    return synthetic.generate()


@pytest.fixture(scope="module")
def t10() -> dict[str, pd.DataFrame]:
    return synthetic.generate(scale=10)


def _digest(folder: Path) -> dict[str, str]:
    """The tables' digests (the marker `.synthetic` is no table)."""
    tables = (p for p in sorted(folder.iterdir()) if not p.name.startswith("."))
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in tables}


def _verified(dep: pd.DataFrame) -> pd.DataFrame:
    return dep[(dep.departure_type == "independent_verified") & (dep.verification != "unverified")]


def _clients_of(enr: pd.DataFrame, project: str) -> set[str]:
    return set(enr.loc[enr.project == project, "client_id"])


# ---------------------------------------------------------------- contract shape


def test_tables_have_exactly_the_contract_columns(t1):
    expected = {
        "clients": "client_id sex birth_year nationality country_of_return household_size "
        "years_in_nl legal_status_intake medical_needs vulnerability_note",
        "enrolments": "enrolment_id client_id project support_point intake_route enrolment_date "
        "reintegration_plan_date exit_date exit_reason consent_research",
        "sessions": "session_id enrolment_id session_date mode topic decision_stage "
        "counsellor_note",
        "referrals": "referral_id enrolment_id referral_date receiving_org status",
        "departures": "departure_id client_id enrolment_id departure_date departure_type "
        "facilitated_by verification destination",
        "support": "support_id client_id support_type modality amount_eur partner support_date",
        "monitoring": "contact_id client_id window contact_date reached not_reached_reason "
        "residence_status livelihood rss_economic rss_social rss_psychosocial",
    }
    assert {k: list(v.columns) for k, v in t1.items()} == {
        k: v.split() for k, v in expected.items()
    }
    for name, df in t1.items():
        assert df.iloc[:, 0].is_unique, name


# ---------------------------------------------------------------- calibration and scale


def _counts(t: dict[str, pd.DataFrame]) -> tuple[int, ...]:
    """The published figures, recomputed here with set arithmetic (not analysis.reconcile)."""
    enr, ref, dep, sup, cl = (
        t[k] for k in ("enrolments", "referrals", "departures", "support", "clients")
    )
    enh_enrol = dict(
        zip(
            enr.loc[enr.project == "ENH", "enrolment_id"],
            enr.loc[enr.project == "ENH", "client_id"],
            strict=True,
        )
    )
    moh_ref = {
        enh_enrol[e]
        for e, o in zip(ref.enrolment_id, ref.receiving_org, strict=True)
        if e in enh_enrol and o == "MOH"
    }
    other_ref = {
        enh_enrol[e]
        for e, o in zip(ref.enrolment_id, ref.receiving_org, strict=True)
        if e in enh_enrol and o != "MOH"
    }
    moh1 = _clients_of(enr, "MOH1")
    returned = moh1 & set(_verified(dep).client_id) & set(sup.client_id)
    points = set(enr.loc[enr.project.isin(["ENH", "MOH1"]), "support_point"])
    countries = set(cl.loc[cl.client_id.isin(returned), "country_of_return"])
    return (
        len(set(enh_enrol.values())),
        len(moh_ref),
        len(other_ref),
        len(moh_ref | other_ref),
        len(moh1),
        len(returned),
        len(points),
        len(countries),
    )


def test_scale_one_reproduces_every_published_figure(t1):
    # 319 enrolled; 46 to MOH; 77 to others; 46 + 77 = 123 disjoint; 148; 51; 21; 5.
    assert _counts(t1) == (319, 46, 77, 123, 148, 51, 21, 5)
    returned = _clients_of(t1["enrolments"], "MOH1") & set(_verified(t1["departures"]).client_id)
    cl = t1["clients"].set_index("client_id")
    assert set(cl.loc[sorted(returned), "country_of_return"]) == {"NGA", "ETH", "GIN", "ARM", "IRQ"}


def test_scale_ten_multiplies_counts_but_not_codes(t10):
    assert _counts(t10) == (3190, 460, 770, 1230, 1480, 510, 21, 5)


def test_fractional_scale_rounds_each_count():
    # round(2.5 x 319) = 798 (797.5 rounds half up), 2.5 x 46 = 115, 2.5 x 51 = 127.5 -> 128.
    counts = _counts(synthetic.generate(scale=2.5))
    assert counts[0] == 798 and counts[1] == 115 and counts[5] == 128


def test_every_enh_client_counselled_and_moh_referrals_mostly_enrol_in_moh1(t1):
    enr, ses, ref = t1["enrolments"], t1["sessions"], t1["referrals"]
    enh = enr[enr.project == "ENH"]
    assert enh.enrolment_id.isin(ses.enrolment_id).all()
    moh_referred = set(
        enh.loc[
            enh.enrolment_id.isin(ref.loc[ref.receiving_org == "MOH", "enrolment_id"]), "client_id"
        ]
    )
    via_enh = enr[(enr.project == "MOH1") & (enr.intake_route == "enh_referral")]
    assert len(via_enh) == 40  # scenario: 40 of the 46 enrol in MOH1, 2 in MOH2, 4 nowhere
    assert set(via_enh.client_id) <= moh_referred
    moh2_via_enh = enr[
        (enr.project == "MOH2")
        & (enr.intake_route == "enh_referral")
        & ~enr.client_id.isin(_clients_of(enr, "MOH1"))
    ]  # not MOH1 carry-overs
    assert len(moh2_via_enh) == 2 and set(moh2_via_enh.client_id) <= moh_referred
    # MOH1 had other intake routes (148 > 46).
    assert (enr.loc[enr.project == "MOH1", "intake_route"] != "enh_referral").sum() == 108


def test_returnees_have_plan_support_and_exit_returned(t1):
    enr = t1["enrolments"]
    moh1 = enr[enr.project == "MOH1"]
    ver = _verified(t1["departures"])
    ret = moh1[moh1.client_id.isin(ver.client_id)]
    assert len(ret) == 51
    assert (ret.exit_reason == "returned").all() and ret.reintegration_plan_date.notna().all()
    assert ret.client_id.isin(t1["support"].client_id).all()


def test_non_verified_departures_exist_so_the_definition_matters(t1):
    dep = t1["departures"]
    moh1 = _clients_of(t1["enrolments"], "MOH1")
    mine = dep[dep.client_id.isin(moh1)]
    assert (mine.departure_type == "without_supervision").sum() > 0
    assert (
        (mine.departure_type == "independent_verified") & (mine.verification == "unverified")
    ).sum() > 0
    assert (mine.departure_type == "forced").sum() > 0
    assert mine.client_id.nunique() > 51  # departures of any kind outnumber verified returns


def test_too_small_a_scale_is_refused():
    with pytest.raises(ValueError):
        synthetic.generate(scale=0.05)  # 3 returnees cannot cover 5 focus countries


# ---------------------------------------------------------------- determinism


def test_same_seed_same_bytes_other_seed_differs(tmp_path, t1):
    a = _digest(Path(*synthetic.write(t1, tmp_path / "a")[:1]).parent)
    b = _digest(Path(*synthetic.write(synthetic.generate(), tmp_path / "b")[:1]).parent)
    c = _digest(Path(*synthetic.write(synthetic.generate(seed=7), tmp_path / "c")[:1]).parent)
    assert a == b
    assert len(a) == 7
    assert all(a[k] != c[k] for k in ("clients.csv", "enrolments.csv", "sessions.csv"))
    text = (tmp_path / "a" / "enrolments.csv").read_bytes()
    assert b"\r\n" not in text and text.startswith(b"enrolment_id,client_id,project,")
    first = text.split(b"\n")[1].split(b",")
    assert len(first[5]) == 10 and first[5][4:5] == b"-"  # ISO date YYYY-MM-DD


def test_csv_round_trips(tmp_path, t1):
    synthetic.write(t1, tmp_path)
    back = pd.read_csv(tmp_path / "monitoring.csv")
    assert len(back) == len(t1["monitoring"])
    np.testing.assert_allclose(back.rss_economic, t1["monitoring"].rss_economic)


# ---------------------------------------------------------------- date order (independent checks)


def test_enrolment_dates_inside_periods_and_exits_after_enrolment(t10):
    enr = t10["enrolments"]
    for project, (start, end) in PERIODS.items():
        e = enr[enr.project == project]
        assert len(e) > 0
        assert e.enrolment_date.between(pd.Timestamp(start), pd.Timestamp(end)).all(), project
    closed = enr[enr.exit_date.notna()]
    assert (closed.exit_date >= closed.enrolment_date).all()
    assert (enr.exit_date.notna() == enr.exit_reason.notna()).all()
    plan = enr[enr.reintegration_plan_date.notna()]
    assert (plan.reintegration_plan_date >= plan.enrolment_date).all()
    assert ((plan.reintegration_plan_date <= plan.exit_date) | plan.exit_date.isna()).all()


def test_sessions_and_referrals_not_before_enrolment(t10):
    enr = t10["enrolments"].set_index("enrolment_id")
    ses = t10["sessions"].join(enr, on="enrolment_id")
    assert (ses.session_date >= ses.enrolment_date).all()
    assert ((ses.session_date <= ses.exit_date) | ses.exit_date.isna()).all()
    ref = t10["referrals"].join(enr, on="enrolment_id")
    assert (ref.project == "ENH").all()
    assert (ref.referral_date >= ref.enrolment_date).all()
    assert (ref.referral_date <= ref.exit_date).all()


def test_departure_after_enrolment_referral_and_plan(t10):
    enr, ref, dep = t10["enrolments"], t10["referrals"], t10["departures"]
    linked = dep.dropna(subset=["enrolment_id"]).merge(enr, on=["enrolment_id", "client_id"])
    assert len(linked) == dep.enrolment_id.notna().sum()
    assert (linked.departure_date >= linked.enrolment_date).all()
    plan = linked.dropna(subset=["reintegration_plan_date"])
    assert (plan.reintegration_plan_date <= plan.departure_date).all()
    enh = enr.loc[enr.project == "ENH", ["enrolment_id", "client_id"]]
    last_ref = ref.merge(enh, on="enrolment_id").groupby("client_id").referral_date.max()
    d = dep.join(last_ref, on="client_id").dropna(subset=["referral_date"])
    assert len(d) > 0 and (d.departure_date >= d.referral_date).all()
    assert _verified(dep).client_id.is_unique


def test_support_and_monitoring_after_departure_and_before_cutoff(t10):
    ver = _verified(t10["departures"]).set_index("client_id")
    any_dep = t10["departures"].groupby("client_id").departure_date.min()
    sup = t10["support"].join(any_dep, on="client_id")
    assert sup.departure_date.notna().all() and (sup.support_date >= sup.departure_date).all()
    assert (sup.support_date <= CUTOFF).all()
    assert sup.amount_eur.dropna().between(0, 20000).all()
    mon = t10["monitoring"].join(ver.departure_date, on="client_id")
    assert mon.departure_date.notna().all()  # monitoring only for verified returnees
    assert (mon.contact_date >= mon.departure_date).all() and (mon.contact_date <= CUTOFF).all()
    assert not mon.duplicated(["client_id", "window"]).any()


def test_monitoring_completeness_falls_and_remigration_is_absorbing(t10):
    mon = t10["monitoring"]
    reached = mon.groupby("window").reached.mean()[["arrival", "m1", "m3", "m6", "m12"]]
    assert (reached.diff().dropna() < 0).all(), reached.to_dict()
    assert (mon.not_reached_reason.isna() == mon.reached).all()
    assert (mon.residence_status.isna() == ~mon.reached).all()
    scores = mon[["rss_economic", "rss_social", "rss_psychosocial"]]
    assert scores.stack().dropna().between(0, 1).all()
    assert scores[mon.residence_status == "in_country_of_return"].notna().all().all()
    assert scores[~mon.reached].isna().all().all()
    order = {"arrival": 0, "m1": 1, "m3": 2, "m6": 3, "m12": 4}
    m = mon.assign(k=mon.window.map(order)).sort_values(["client_id", "k"])
    seen = (m.residence_status == "re_migrated").astype(int).groupby(m.client_id).cummax()
    after = m[seen.groupby(m.client_id).shift(fill_value=0).astype(bool)]
    assert len(after) > 0
    assert ((after.residence_status == "re_migrated") | ~after.reached).all()


def test_free_text_and_special_category_fields_are_present_and_fake(t1):
    notes = t1["sessions"].counsellor_note.dropna()
    vuln = t1["clients"].vulnerability_note.dropna()
    assert len(notes) > 100 and len(vuln) > 20
    assert notes.str.startswith("[SYNTHETIC]").all() and vuln.str.startswith("[SYNTHETIC]").all()
    assert t1["clients"].medical_needs.sum() > 0


# ---------------------------------------------------------------- scenario assumptions


def _walk(node, path=""):
    """Yield (path, parameter mapping or bare leaf) for a scenario document."""
    if isinstance(node, dict) and "value" in node:
        yield path, node
    elif isinstance(node, dict):
        for k, v in node.items():
            yield from _walk(v, f"{path}.{k}" if path else k)
    else:
        yield path, node


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_every_assumption_carries_a_source(path):
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    items = list(_walk({k: v for k, v in doc.items() if k != "meta"}))
    assert len(items) > 10
    for where, node in items:
        assert isinstance(node, dict), f"{where} is a bare value without a source"
        src = node.get("source")
        assert isinstance(src, str) and src.strip(), where
        cited = any(w in src for w in ("seed", "DOMAIN", "IOM", "contract", "ICAO", "VWN", "DT&V"))
        assert "assumption" in src.lower() or cited, f"{where}: {src}"
    if path.stem == "moh2":
        assert doc["meta"]["status"] == "assumed" and "ASSUMED" in doc["meta"]["label"]
        assert not any("figure_id" in n for _, n in items)  # no published MOH2 figures


def test_published_counts_are_tagged_with_their_figure():
    table = synthetic.assumptions(SCENARIOS)
    tagged = table.dropna(subset=["figure_id"]).drop_duplicates("parameter")
    tagged = tagged[tagged.scenario == "enh_moh1"].set_index("figure_id")["value"]
    assert tagged["enh.clients_enrolled"] == "319" and tagged["moh1.returned_with_support"] == "51"
    assert table.loc[table.scenario == "moh2", "status"].eq("assumed").all()


def test_a_parameter_without_source_is_rejected(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("meta: {scenario: bad}\nenh:\n  enrolled: {value: 319}\n", encoding="utf-8")
    with pytest.raises(synthetic.ScenarioError, match="enh.enrolled"):
        synthetic.assumptions([bad])
    bad.write_text("meta: {scenario: bad}\nenh:\n  enrolled: 319\n", encoding="utf-8")
    with pytest.raises(synthetic.ScenarioError, match="bare value"):
        synthetic.assumptions([bad])


def test_a_synth_folder_is_labelled_synthetic_when_run_with_data(tmp_path, t1):
    """`evaluation synth` leaves a marker; `run --data` on that folder labels the report
    synthetic, on any other folder it does not (and the reader ignores the marker file)."""
    from evaluation import config
    from evaluation.cli import with_data
    from evaluation.data.read import read_dataset

    synthetic.write(t1, tmp_path / "s")
    cfg = config.load(ROOT / "evaluation.yml")
    assert with_data(cfg, None, tmp_path / "s").synthetic is True
    assert with_data(cfg, ["MOH2"], tmp_path / "s").synthetic is True
    plain = tmp_path / "real"
    plain.mkdir()
    assert with_data(cfg, None, plain).synthetic is False
    assert not [
        p
        for p in read_dataset(tmp_path / "s", list(synthetic.TABLES)).problems
        if p.rule == "unknown_file"
    ]
