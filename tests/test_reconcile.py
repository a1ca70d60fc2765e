"""Reconciliation: published figures recomputed from hand-made and synthetic case tables."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from evaluation.analysis import reconcile
from evaluation.data import synthetic

ROOT = Path(__file__).resolve().parents[1]
FIGURES = ROOT / "data" / "published" / "figures.csv"
IDS = [
    "enh.clients_enrolled",
    "enh.referred_moh",
    "enh.referred_other",
    "moh1.clients_enrolled",
    "moh1.returned_with_support",
    "vwn.support_points",
    "vwn.focus_countries",
]


def _tiny() -> dict[str, pd.DataFrame]:
    """Five clients whose every count is obvious by reading the rows."""
    d = pd.Timestamp
    enrolments = pd.DataFrame(
        {
            "enrolment_id": ["e1", "e2", "e3", "e4", "e5", "e6", "e7"],
            "client_id": ["a", "b", "c", "a", "d", "e", "c"],
            "project": ["ENH", "ENH", "ENH", "MOH1", "MOH1", "MOH1", "MOH2"],
            "support_point": ["sp01", "sp02", "sp02", "sp01", "sp03", "sp03", "sp09"],
        }
    )
    referrals = pd.DataFrame(
        {
            # a: two referrals to MOH (one person); b: to IOM; e6 is not an ENH enrolment.
            "referral_id": ["r1", "r2", "r3", "r4"],
            "enrolment_id": ["e1", "e1", "e2", "e6"],
            "receiving_org": ["MOH", "MOH", "IOM", "ROS"],
        }
    )
    departures = pd.DataFrame(
        {
            "client_id": ["a", "d", "e", "c"],
            "departure_date": [d("2017-01-01")] * 4,
            # a verified; d verified type but unverified; e without supervision; c (MOH2) verified
            "departure_type": [
                "independent_verified",
                "independent_verified",
                "without_supervision",
                "independent_verified",
            ],
            "verification": ["dtv_verified", "unverified", "unverified", "iom_confirmed"],
        }
    )
    support = pd.DataFrame({"client_id": ["a", "d", "c"]})
    clients = pd.DataFrame(
        {"client_id": list("abcde"), "country_of_return": ["NGA", None, "IRQ", "ETH", "GIN"]}
    )
    return {
        "enrolments": enrolments,
        "referrals": referrals,
        "departures": departures,
        "support": support,
        "clients": clients,
    }


def test_definitions_on_hand_made_tables():
    got = reconcile.published_counts(_tiny())
    assert got == {
        "enh.clients_enrolled": 3,  # a, b, c
        "enh.referred_moh": 1,  # a, counted once for two referrals
        "enh.referred_other": 1,  # b; the ROS referral hangs on a MOH1 enrolment
        "moh1.clients_enrolled": 3,  # a, d, e
        "moh1.returned_with_support": 1,  # a only: d unverified, e unsupervised, c not MOH1
        "vwn.support_points": 3,  # sp01..sp03; sp09 is a MOH2 enrolment
        "vwn.focus_countries": 1,  # NGA (a)
    }


@pytest.fixture(scope="module")
def published() -> pd.DataFrame:
    return pd.read_csv(FIGURES)


def test_synthetic_scale_one_matches_every_published_figure(published):
    tables = synthetic.generate()
    table = reconcile.reconciliation_table(tables, published)
    assert list(table.columns) == [
        "figure_id",
        "indicator",
        "published",
        "recomputed",
        "difference",
        "match",
    ]
    assert sorted(table.figure_id) == sorted(IDS)
    by_id = table.set_index("figure_id")
    # Worked out from the published figures: 319, 46, 77, 148, 51, 21, 5.
    expected = dict(zip(IDS, [319, 46, 77, 148, 51, 21, 5], strict=True))
    assert by_id.recomputed.to_dict() == expected
    assert by_id.published.to_dict() == expected
    assert by_id.match.all() and (by_id.difference == 0).all()
    enh = tables["enrolments"].query("project == 'ENH'")
    anyref = tables["referrals"].merge(enh, on="enrolment_id").client_id.nunique()
    assert anyref == 46 + 77  # disjoint sets


def test_scaled_reconciliation_scales_persons_not_codes(published):
    table = reconcile.reconciliation_table(synthetic.generate(scale=3), published, scale=3)
    by_id = table.set_index("figure_id")
    assert by_id.loc["enh.clients_enrolled", "published"] == 957
    assert by_id.loc["moh1.returned_with_support", "recomputed"] == 153
    assert by_id.loc["vwn.support_points", "published"] == 21
    assert by_id.match.all()


def test_a_missing_support_record_shows_as_a_difference(published):
    tables = synthetic.generate()
    sup = tables["support"]
    once = sup.client_id.value_counts()
    victim = once[once.index.isin(reconcile.moh1_returnees(tables))].index[0]
    tables = {**tables, "support": sup[sup.client_id != victim]}
    by_id = reconcile.reconciliation_table(tables, published).set_index("figure_id")
    assert by_id.loc["moh1.returned_with_support", "recomputed"] == 50
    assert by_id.loc["moh1.returned_with_support", "difference"] == -1
    assert not by_id.loc["moh1.returned_with_support", "match"]
    assert by_id.drop("moh1.returned_with_support").match.all()
