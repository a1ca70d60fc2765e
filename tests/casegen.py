"""Hypothesis strategy for small *valid* case datasets, edge cases included.

Generated: 0 to 6 clients (so empty and header-only tables, a single client, a project without
records), dates drawn towards the period bounds so that ties and events on the data cut-off day
are common, every exit kind (return, competing exits, still enrolled = censored), departures
verified or not, monitoring reached or not, with scores that hit the RSS cut-offs exactly.
Every rule of the contract holds by construction; a test proves it on every example.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
from hypothesis import strategies as st

PERIODS = {
    "ENH": (dt.date(2015, 10, 1), dt.date(2018, 3, 31)),
    "MOH1": (dt.date(2015, 10, 1), dt.date(2018, 3, 31)),
    "MOH2": (dt.date(2018, 4, 1), dt.date(2020, 10, 31)),
}
CUTOFF = dt.date(2020, 12, 31)
COLUMNS = {
    "clients": "client_id,sex,birth_year,nationality,country_of_return,household_size,"
    "years_in_nl,legal_status_intake,medical_needs,vulnerability_note",
    "enrolments": "enrolment_id,client_id,project,support_point,intake_route,enrolment_date,"
    "reintegration_plan_date,exit_date,exit_reason,consent_research",
    "sessions": "session_id,enrolment_id,session_date,mode,topic,decision_stage,counsellor_note",
    "referrals": "referral_id,enrolment_id,referral_date,receiving_org,status",
    "departures": "departure_id,client_id,enrolment_id,departure_date,departure_type,"
    "facilitated_by,verification,destination",
    "support": "support_id,client_id,support_type,modality,amount_eur,partner,support_date",
    "monitoring": "contact_id,client_id,window,contact_date,reached,not_reached_reason,"
    "residence_status,livelihood,rss_economic,rss_social,rss_psychosocial",
}
EXITS = [None, "returned", "residence_permit", "new_procedure", "forced_removal", "lost_contact"]
SCORES = st.one_of(
    st.sampled_from(["0", "0.33", "0.5", "0.66", "1", "0.11", "0.55"]),
    st.floats(0, 1).map(lambda x: f"{x:.3f}"),
)


def _day(draw, lo: dt.date, hi: dt.date) -> dt.date:
    """A date in [lo, hi], often exactly lo or hi (ties, events on the cut-off day)."""
    span = (hi - lo).days
    offset = draw(st.one_of(st.just(0), st.just(span), st.integers(0, span)))
    return lo + dt.timedelta(days=offset)


def _iso(d: dt.date | None) -> str:
    return "" if d is None else d.isoformat()


@st.composite
def datasets(draw, max_clients: int = 6) -> dict[str, list[dict[str, str]]]:
    """Rows per table (all text) of one valid dataset."""
    rows: dict[str, list[dict[str, str]]] = {t: [] for t in COLUMNS}
    n = draw(st.integers(0, max_clients))
    projects = draw(st.lists(st.sampled_from(sorted(PERIODS)), min_size=1, max_size=3))
    for i in range(1, n + 1):
        cid = f"C{i:03d}"
        country = draw(st.sampled_from(["NGA", "IRQ", "GIN"]))
        rows["clients"].append(
            {
                "client_id": cid,
                "sex": draw(st.sampled_from(["female", "male", "other"])),
                "birth_year": draw(st.sampled_from(["", "1970", "1990", "2001"])),
                "nationality": country,
                "country_of_return": draw(st.sampled_from(["", country])),
                "household_size": str(draw(st.integers(1, 6))),
                "years_in_nl": draw(st.sampled_from(["", "0", "2.5", "12"])),
                "legal_status_intake": "asylum_rejected",
                "medical_needs": "",
                "vulnerability_note": "",
            }
        )
        project = draw(st.sampled_from(projects))
        start, end = PERIODS[project]
        eid = f"E{i:03d}"
        enrolled = _day(draw, start, end)
        reason = draw(st.sampled_from(EXITS))
        exit_date = _day(draw, enrolled, CUTOFF) if reason else None
        plan = _day(draw, enrolled, end) if draw(st.booleans()) else None
        rows["enrolments"].append(
            {
                "enrolment_id": eid,
                "client_id": cid,
                "project": project,
                "support_point": draw(st.sampled_from(["sp01", "sp02"])),
                "intake_route": draw(st.sampled_from(["coa", "self_referral", "dtv"])),
                "enrolment_date": _iso(enrolled),
                "reintegration_plan_date": _iso(plan),
                "exit_date": _iso(exit_date),
                "exit_reason": reason or "",
                "consent_research": "true",
            }
        )
        for k in range(draw(st.integers(0, 2))):
            rows["sessions"].append(
                {
                    "session_id": f"S{i:03d}{k}",
                    "enrolment_id": eid,
                    "session_date": _iso(_day(draw, enrolled, end)),
                    "mode": "in_person",
                    "topic": "return_options",
                    "decision_stage": "orienting",
                    "counsellor_note": "",
                }
            )
        referred = None
        if draw(st.booleans()):
            referred = _day(draw, enrolled, end)
            rows["referrals"].append(
                {
                    "referral_id": f"R{i:03d}",
                    "enrolment_id": eid,
                    "referral_date": _iso(referred),
                    "receiving_org": draw(st.sampled_from(["MOH", "IOM"])),
                    "status": "accepted",
                }
            )
        kind = draw(st.sampled_from([None, "verified", "unverified", "forced"]))
        if kind is None:
            continue
        left = _day(draw, max(enrolled, referred or enrolled), CUTOFF)
        rows["departures"].append(
            {
                "departure_id": f"D{i:03d}",
                "client_id": cid,
                "enrolment_id": draw(st.sampled_from([eid, ""])),
                "departure_date": _iso(left),
                "departure_type": "forced" if kind == "forced" else "independent_verified",
                "facilitated_by": "MOH",
                "verification": "unverified" if kind == "unverified" else "dtv_verified",
                "destination": country,
            }
        )
        if draw(st.booleans()):
            rows["support"].append(
                {
                    "support_id": f"U{i:03d}",
                    "client_id": cid,
                    "support_type": "cash",
                    "modality": "cash",
                    "amount_eur": draw(st.sampled_from(["", "0", "450.5"])),
                    "partner": "nga_partner",
                    "support_date": _iso(_day(draw, left, CUTOFF)),
                }
            )
        if kind != "verified":
            continue
        windows = draw(st.lists(st.sampled_from(["arrival", "m1", "m3", "m6", "m12"]), unique=True))
        for w in windows:
            reached = draw(st.booleans())
            scored = reached and draw(st.booleans())
            rows["monitoring"].append(
                {
                    "contact_id": f"M{i:03d}{w}",
                    "client_id": cid,
                    "window": w,
                    "contact_date": _iso(_day(draw, left, CUTOFF)),
                    "reached": "true" if reached else "false",
                    "not_reached_reason": "" if reached else "no_answer",
                    "residence_status": draw(
                        st.sampled_from(["in_country_of_return", "re_migrated", "unknown", ""])
                    )
                    if reached
                    else "",
                    "livelihood": "",
                    "rss_economic": draw(SCORES) if scored else "",
                    "rss_social": draw(SCORES) if scored else "",
                    "rss_psychosocial": draw(SCORES) if scored else "",
                }
            )
    return rows


def write(rows: dict[str, list[dict[str, str]]], folder: Path) -> Path:
    """One CSV per table (header-only when a table has no rows)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, header in COLUMNS.items():
        frame = pd.DataFrame(rows.get(name, []), columns=header.split(","), dtype=str)
        frame.to_csv(folder / f"{name}.csv", index=False)
    return folder


def header_only(folder: Path) -> Path:
    """The empty-but-valid dataset: every table with its header and no rows."""
    return write({}, folder)
