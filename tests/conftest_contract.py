"""A tiny valid case-level dataset for the contract tests, written by hand to meet every rule."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
from conftest import ROOT

from evaluation import config

PERIODS = {
    "ENH": (dt.date(2015, 10, 1), dt.date(2018, 3, 31)),
    "MOH1": (dt.date(2015, 10, 1), dt.date(2018, 3, 31)),
    "MOH2": (dt.date(2018, 4, 1), dt.date(2020, 10, 31)),
}

_ROWS: dict[str, list[str]] = {
    "clients": [
        "client_id,sex,birth_year,nationality,country_of_return,household_size,years_in_nl,"
        "legal_status_intake,medical_needs,vulnerability_note",
        "C001,male,1985,NGA,NGA,1,4.5,asylum_rejected,false,",
        "C002,female,1990,ETH,,3,2.0,dublin,,needs a quiet room",
        "C003,male,1978,GIN,GIN,2,6.25,appeal_pending,true,",
        "C004,female,2001,ARM,,1,,no_procedure,,",
        "C005,other,,IRQ,IRQ,4,1.5,other,false,",
    ],
    "enrolments": [
        "enrolment_id,client_id,project,support_point,intake_route,enrolment_date,"
        "reintegration_plan_date,exit_date,exit_reason,consent_research",
        "E01,C001,ENH,sp01,self_referral,2016-01-10,,2016-03-15,returned_other_org,true",
        "E02,C001,MOH1,sp01,enh_referral,2016-03-15,2016-04-01,2016-09-01,returned,true",
        "E03,C002,ENH,sp07,coa,2017-02-01,,2017-06-01,lost_contact,false",
        "E04,C003,MOH2,sp21,legal_aid,2018-06-01,2018-07-01,,,true",
        "E05,C004,MOH1,sp12,municipality,2017-01-05,,2017-12-01,residence_permit,true",
        "E06,C005,MOH1,sp03,dtv,2016-05-02,2016-06-01,2016-10-01,returned,true",
    ],
    "sessions": [
        "session_id,enrolment_id,session_date,mode,topic,decision_stage,counsellor_note",
        "S01,E01,2016-02-01,in_person,future_orientation,orienting,",
        "S02,E01,2016-02-20,phone,return_options,considering,wants to talk again",
        "S03,E02,2016-04-01,in_person,reintegration_plan,decided,",
        "S04,E04,2018-07-01,video,legal,orienting,",
        "S05,E06,2016-05-20,group,practical,preparing,",
    ],
    "referrals": [
        "referral_id,enrolment_id,referral_date,receiving_org,status",
        "R01,E01,2016-03-01,MOH,accepted",
        "R02,E03,2017-05-01,IOM,sent",
    ],
    "departures": [
        "departure_id,client_id,enrolment_id,departure_date,departure_type,facilitated_by,"
        "verification,destination",
        "D01,C001,E02,2016-08-20,independent_verified,MOH,iom_confirmed,NGA",
        "D02,C003,E04,2019-01-10,forced,DTV,dtv_verified,GIN",
        "D03,C005,E06,2016-09-15,independent_verified,IOM,dtv_verified,IRQ",
    ],
    "support": [
        "support_id,client_id,support_type,modality,amount_eur,partner,support_date",
        "SU01,C001,business_startup,cash,1500.0,nga_partner,2016-09-10",
        "SU02,C001,housing,in_kind,,nga_partner,2016-10-01",
        "SU03,C005,vocational_training,mixed,800.5,irq_partner,2016-10-05",
    ],
    "monitoring": [
        "contact_id,client_id,window,contact_date,reached,not_reached_reason,residence_status,"
        "livelihood,rss_economic,rss_social,rss_psychosocial",
        "M01,C001,arrival,2016-08-25,true,,in_country_of_return,unemployed,0.3,0.5,0.6",
        "M02,C001,m3,2016-11-20,false,no_answer,,,,,",
        "M03,C005,arrival,2016-09-20,true,,in_country_of_return,self_employed,0.4,0.4,0.7",
        "M04,C005,m6,2017-03-10,true,,re_migrated,other,,,",
    ],
}


def valid_csv() -> dict[str, str]:
    """The valid dataset as CSV text per table (comma-separated, ISO dates)."""
    return {name: "\n".join(lines) + "\n" for name, lines in _ROWS.items()}


def valid_frames() -> dict[str, pd.DataFrame]:
    """The valid dataset as all-text DataFrames (edit a cell, then write)."""
    import io

    return {
        name: pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
        for name, text in valid_csv().items()
    }


def write_dataset(
    folder: Path, frames: dict[str, pd.DataFrame] | None = None, fmt: str = "csv"
) -> Path:
    """Write frames (default: the valid dataset) into folder, one file per table."""
    folder.mkdir(parents=True, exist_ok=True)
    frames = valid_frames() if frames is None else frames
    for name, df in frames.items():
        if fmt == "csv":
            df.to_csv(folder / f"{name}.csv", index=False)
        elif fmt == "xlsx":
            df.to_excel(folder / f"{name}.xlsx", index=False)
        else:
            df.to_parquet(folder / f"{name}.parquet", index=False)
    return folder


def config_for(tmp: Path, cases: Path) -> config.Config:
    """The repository's evaluation.yml, copied into tmp with its case data at cases (loaded)."""
    text = (ROOT / "evaluation.yml").read_text(encoding="utf-8")
    text = text.replace("cases: data/synthetic/default", f"cases: {cases}")
    text = text.replace("published: data/", f"published: {ROOT}/data/")
    (tmp / "evaluation.yml").write_text(text, encoding="utf-8")
    return config.load(tmp / "evaluation.yml", root=ROOT)
