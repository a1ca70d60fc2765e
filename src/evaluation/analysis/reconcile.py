"""Recompute VluchtelingenWerk's published figures from case-level tables and compare them.

Proves the calibrated synthetic data (or a real export) reproduces every published count,
using the evaluation's own definitions (DOMAIN.md §3): distinct persons, not rows.
"""

from __future__ import annotations

import pandas as pd

from evaluation.analysis.client_groups import take
from evaluation.data.membership import isin, lookup

FOCUS_COUNTRIES = ("NGA", "ETH", "GIN", "ARM", "IRQ")
OTHER_RETURN_ORGS = ("BRIDGE_TO_BETTER", "ROS", "SOLID_ROAD", "WERELDWIJD", "IOM", "OTHER")

INDICATORS = {
    "enh.clients_enrolled": "ENH: distinct clients with an ENH enrolment",
    "enh.referred_moh": "ENH: distinct clients with at least one referral to MOH",
    "enh.referred_other": "ENH: distinct clients referred at least once to another organisation",
    "moh1.clients_enrolled": "MOH1: distinct clients with a MOH1 enrolment",
    "moh1.returned_with_support": "MOH1: clients with a verified departure and support",
    "vwn.support_points": "Distinct support points among ENH and MOH1 enrolments",
    "vwn.focus_countries": "Distinct countries of return of MOH1 returnees with support",
}


def verified_departures(departures: pd.DataFrame) -> pd.DataFrame:
    """Departures that count as return: independent and verified by someone."""
    ok = (departures["departure_type"] == "independent_verified") & (
        departures["verification"] != "unverified"
    )
    return departures.loc[ok]


def moh1_returnees(tables: dict[str, pd.DataFrame]) -> pd.Index:
    """Client ids of MOH1 clients with a verified departure and at least one support record."""
    enr = tables["enrolments"]
    moh1 = pd.Index(enr.loc[enr["project"] == "MOH1", "client_id"].unique())
    clients = moh1.to_series()
    verified = isin(clients, verified_departures(tables["departures"])["client_id"])
    return moh1[verified & isin(clients, tables["support"]["client_id"])]


def published_counts(tables: dict[str, pd.DataFrame]) -> dict[str, int]:
    """Each published figure recomputed from the case tables, keyed by figure_id."""
    enr, ref, cl = tables["enrolments"], tables["referrals"], tables["clients"]
    enh = enr.loc[enr["project"] == "ENH", ["enrolment_id", "client_id"]]
    # the client of each referral from an ENH enrolment (the referral's enrolment row)
    at = lookup(ref["enrolment_id"], enh["enrolment_id"])
    linked = at >= 0
    referred = take(enh["client_id"], at)
    to_moh = referred[linked & (ref["receiving_org"] == "MOH").to_numpy()]
    to_other = referred[linked & ref["receiving_org"].isin(OTHER_RETURN_ORGS).to_numpy()]
    returnees = moh1_returnees(tables)
    countries = cl.loc[isin(cl["client_id"], returnees), "country_of_return"].dropna()
    points = enr.loc[enr["project"].isin(["ENH", "MOH1"]), "support_point"].dropna()
    return {
        "enh.clients_enrolled": int(enh["client_id"].nunique()),
        "enh.referred_moh": int(to_moh.nunique()),
        "enh.referred_other": int(to_other.nunique()),
        "moh1.clients_enrolled": int(enr.loc[enr["project"] == "MOH1", "client_id"].nunique()),
        "moh1.returned_with_support": int(len(returnees)),
        "vwn.support_points": int(points.nunique()),
        "vwn.focus_countries": int(countries.nunique()),
    }


def reconciliation_table(
    tables: dict[str, pd.DataFrame], published: pd.DataFrame, scale: float = 1.0
) -> pd.DataFrame:
    """Published vs recomputed per figure (counts of persons scale with `scale`, codes not)."""
    counts = published_counts(tables)
    value_col = "value" if "value" in published.columns else "published"
    pub = published.loc[published["figure_id"].isin(list(counts))].copy()
    rows = []
    for _, row in pub.iterrows():
        fid = row["figure_id"]
        target = float(row[value_col])
        if not fid.startswith("vwn."):
            target = float(int(target * scale + 0.5))
        label = row["indicator"] if "indicator" in pub.columns else INDICATORS[fid]
        rows.append(
            {
                "figure_id": fid,
                "indicator": label,
                "published": int(target),
                "recomputed": counts[fid],
                "difference": counts[fid] - int(target),
                "match": counts[fid] == int(target),
            }
        )
    return pd.DataFrame(
        rows, columns=["figure_id", "indicator", "published", "recomputed", "difference", "match"]
    )
