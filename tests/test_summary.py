"""evaluation.report.summary: the cross-project numbers and sentences, on hand-made records."""

from __future__ import annotations

import pandas as pd

from evaluation.analysis.rates import newcombe, wilson
from evaluation.report import appendices, data_quality, organisation
from evaluation.report import summary as sm


def _tables() -> dict[str, pd.DataFrame]:
    """Three MOH1 clients: a returned with support, b returned without support (unverified
    departure), c supported but never left (support without departure is still assistance)."""
    clients = pd.DataFrame(
        {
            "client_id": ["a", "b", "c"],
            "sex": ["female", "male", "male"],
            "birth_year": [1980, 1990, 1985],
            "country_of_return": ["NGA", "IRQ", "ETH"],
            "household_size": [1, 2, 1],
        }
    )
    enrolments = pd.DataFrame(
        {
            "enrolment_id": ["e1", "e2", "e3"],
            "client_id": ["a", "b", "c"],
            "project": ["MOH1"] * 3,
            "support_point": ["sp01"] * 3,
        }
    )
    departures = pd.DataFrame(
        {
            "departure_id": ["d1", "d2"],
            "client_id": ["a", "b"],
            "enrolment_id": ["e1", "e2"],
            "departure_date": ["2016-05-01", "2016-06-01"],
            "departure_type": ["independent_verified", "independent_verified"],
            "verification": ["dtv_verified", "unverified"],
            "destination": ["NGA", "IRQ"],
        }
    )
    support = pd.DataFrame(
        {
            "support_id": ["s1", "s2", "s3"],
            "client_id": ["a", "a", "c"],
            "support_type": ["cash", "housing", "cash"],
            "amount_eur": [500.0, 1000.0, 300.0],
            "support_date": ["2016-05-10", "2016-06-10", "2016-07-01"],
        }
    )
    return {
        "clients": clients,
        "enrolments": enrolments,
        "departures": departures,
        "support": support,
    }


def test_amif_counts_persons_not_records():
    t = organisation.amif_table(_tables(), ["MOH1"])
    row = t.iloc[0]
    # returned voluntarily: only a (b's departure is unverified); assisted: a (2 records) and c
    assert (
        row["Persons enrolled"],
        row["Persons who returned voluntarily"],
        row["Persons who received reintegration assistance"],
    ) == (3, 1, 2)


def test_validation_summary_reads_the_prepare_report_and_totals(tmp_path):
    (tmp_path / "validation.md").write_text(
        "# Validation report\n\n| table | rows read | errors | warnings |\n|---|---:|---:|---:|\n"
        "| clients | 10 | 0 | 2 |\n| support | 4 | 1 | 0 |\n",
        encoding="utf-8",
    )
    tables = {
        "clients": pd.DataFrame(index=range(10)),
        "support": pd.DataFrame(index=range(4)),
        "sessions": pd.DataFrame(index=range(7)),
    }
    s = data_quality.validation_summary(tmp_path, tables)
    assert s["Table"].tolist() == ["clients", "sessions", "support", "Total"]
    assert s["Rows"].tolist() == [10, 7, 4, 21]  # sessions recounted: not in the report
    assert data_quality.validation_sentence(s) == (
        "All 3 tables (21 rows) were checked against the data contract before analysis: "
        "1 errors and 2 warnings."
    )


def test_conclusions_hedge_wide_intervals_and_zero_crossing_differences():
    narrow = sm.Headline("MOH1", "return", wilson(51, 148))  # CI 27.3–42.4: 15 points wide
    # CI roughly 25–75 %: wide (3 of 8 was used here before: a count of 3 people, which the
    # conclusions now withhold, see test_conclusions_withhold_a_disclosive_project_rate)
    wide = sm.Headline("MOH9", "return", wilson(6, 12))
    d = newcombe(6, 12, 51, 148)
    text = sm.conclusions([narrow, wide], [("MOH1", "MOH9", d)])
    assert "MOH1 return rate.** 34.5 % (51 of 148); the estimate is reasonably precise" in text
    assert "MOH9 return rate.** 50.0 % (6 of 12); the estimate is imprecise" in text
    assert "do not show a difference" not in text and "includes zero" in text
    assert "does not show the projects are alike" in text


def test_durability_conclusion_depends_on_the_gap_between_worst_and_best_case():
    tight = sm.Headline(
        "A", "return", wilson(50, 100), None, wilson(40, 45), wilson(40, 50), wilson(45, 50)
    )  # 80 % to 90 %: gap of 10 points
    loose = sm.Headline(
        "B", "return", wilson(50, 100), None, wilson(20, 25), wilson(20, 50), wilson(45, 50)
    )  # 40 % to 90 %
    text = sm.conclusions([tight, loose], [])
    assert "**A durability.** Between 80.0 % and 90.0 %" in text
    assert "**B durability.** Whether returns lasted cannot be settled" in text


def test_disclosive_shares_are_withheld_in_sentences():
    h = sm.Headline(
        "A", "return", wilson(50, 100), None, wilson(22, 24), wilson(22, 51), wilson(49, 51)
    )  # 49 of 51 reveals the 2 who left
    text = sm.durability_sentence([h])
    assert "(worst case) gives 43.1 %" in text
    assert "(best case) withheld" in text and "96.1" not in text


def test_reconciliation_flags_a_difference():
    t = _tables()
    enr = pd.concat(
        [
            t["enrolments"],
            pd.DataFrame(
                {
                    "enrolment_id": ["e4"],
                    "client_id": ["c"],
                    "project": ["ENH"],
                    "support_point": ["sp02"],
                }
            ),
        ]
    )
    tables = {
        **t,
        "enrolments": enr,
        "referrals": pd.DataFrame(columns=["enrolment_id", "receiving_org"]),
    }
    published = pd.DataFrame(
        {
            "figure_id": ["moh1.clients_enrolled", "enh.clients_enrolled"],
            "indicator": ["MOH1 enrolled", "ENH enrolled"],
            "value": [3, 2],
        }
    )
    rec = data_quality.reconciliation(tables, published)
    assert rec["Check"].tolist() == ["matches", "DIFFERS"]
    assert rec["Difference"].tolist() == [0, -1]
    assert "1 differ" in data_quality.reconciliation_sentence(rec)


def test_demote_headings_adds_no_sections():
    md = "# Data dictionary\n\nIntro\n\n## clients\n\n| a |\n|---|\n| 1 |\n"
    assert appendices.demote_headings(md) == "Intro\n\n**clients**\n\n| a |\n|---|\n| 1 |"


def test_amif_table_under_the_joint_decision_by_hand():
    """3 enrolled, 1 returned, 2 assisted (the tables above). With a threshold of 2 the one
    enrolled person without assistance (3 − 2) is primary; printing enrolled and assisted
    would give it away, so the check withholds one of them too, and the AMIF table masks
    what the decision withholds. A reader then cannot pin the complement."""
    from adversary import attack_ledger

    from evaluation.publish.gate import TABLES
    from evaluation.publish.joint import Rules, check
    from evaluation.publish.ledger import Ledger
    from evaluation.publish.ledger_amif import amif_cells
    from evaluation.publish.view import View

    led = Ledger()
    led.count("MOH1/enrolled", 3, population="p", numerator="enrolled", artefact="t")
    led.count("MOH1/returnees", 1, population="p", numerator="returnees", artefact="t")
    amif_cells(led, _tables(), "MOH1")
    assert led.cells["MOH1/assisted"].value == 2
    assert led.cells["MOH1/enrolled~not~assisted"].value == 1
    d = check(led, Rules(threshold=2))
    assert not d.shown("MOH1/enrolled~not~assisted") and not d.shown("MOH1/returnees")
    assert not (d.shown("MOH1/enrolled") and d.shown("MOH1/assisted"))
    view = View(d, {k: c.value for k, c in led.cells.items()}, frozenset())
    shown = TABLES["amif"](organisation.amif_table(_tables(), ["MOH1"]), view, "")
    row = shown.iloc[0]
    assert row["Persons who returned voluntarily"] == "x"
    assert (row["Persons enrolled"] == "x") == (not d.shown("MOH1/enrolled"))
    assert (row["Persons who received reintegration assistance"] == "x") == (
        not d.shown("MOH1/assisted")
    )
    ranges = attack_ledger(led, d)
    assert all(hi - lo >= 2 for lo, hi in ranges.values())


def test_conclusions_withhold_a_disclosive_project_rate():
    """A return rate of 3 of 40 (3 people) is not printed in the conclusions; 20 of 40 is."""
    small = sm.Headline("A", "return", wilson(3, 40))
    fine = sm.Headline("B", "return", wilson(20, 40))
    text = sm.conclusions([small, fine], [])
    assert "**A return rate.** Withheld by the disclosure check." in text
    assert "3 of 40" not in text and "7.5 %" not in text
    assert "**B return rate.** 50.0 % (20 of 40)" in text


def test_validation_summary_counts_rows_from_the_prepared_files(tmp_path):
    (tmp_path / "validation.md").write_text(
        "| table | rows read | errors | warnings |\n|---|---:|---:|---:|\n"
        "| clients | 10 | 0 | 2 |\n",
        encoding="utf-8",
    )
    pd.DataFrame({"a": range(7)}).to_parquet(tmp_path / "sessions.parquet")
    pd.DataFrame({"a": range(10)}).to_parquet(tmp_path / "clients.parquet")
    s = data_quality.validation_summary(tmp_path)  # nothing loaded: the files' row counts
    assert s["Table"].tolist() == ["clients", "sessions", "Total"]
    assert s["Rows"].tolist() == [10, 7, 17]


def test_support_points_from_stored_frames_equal_those_recomputed():
    from evaluation.analysis import conversion as cv

    t = _tables()
    t["enrolments"] = t["enrolments"].assign(
        intake_route="coa", enrolment_date=["2016-01-01"] * 3, reintegration_plan_date=None,
        exit_date=None, exit_reason=None,
    )  # fmt: skip
    t["clients"] = t["clients"].assign(years_in_nl=[2.0, 3.0, 4.0])
    frame = cv.client_frame(t, "MOH1")
    stored, _ = organisation.support_point_results(t, ["MOH1"], 1, frames={"MOH1": frame})
    again, _ = organisation.support_point_results(t, ["MOH1"], 1)
    pd.testing.assert_frame_equal(stored, again)
    # by hand: all three at sp01; only a's departure is a verified return
    row = stored.iloc[0]
    assert (row["Support point"], row["Returned"], row["Enrolled"]) == ("sp01", 1, 3)


def test_amif_returned_counts_the_durability_returnees():
    """The AMIF table counts returnees without building them (amif_counts); the ledger counts
    monitoring_windows.returnees (counts_of): the same people on seeded synthetic data."""
    from evaluation.analysis import amif, monitoring_windows
    from evaluation.data.synthetic import generate

    for seed in (3, 11):
        tables = generate(seed=seed, scale=2)
        for p in ("MOH1", "MOH2"):
            fast = amif.amif_counts(tables, p)
            slow = amif.counts_of(tables, p, monitoring_windows.returnees(dict(tables), p))
            assert fast == slow
            assert slow.returned > 0
