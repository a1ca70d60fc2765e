"""Clients and counselling sessions."""

from __future__ import annotations

from typing import Any

import numpy as np

from evaluation.data.synthetic.draws import _choice, _force_each, _World
from evaluation.data.synthetic.frames import _ranks
from evaluation.data.synthetic.scenarios import _NOTE_ACTION, _NOTE_SUBJECT, _VULN, NA, PROJECTS

# ------------------------------------------------------------------------------ clients & sessions


def _clients(
    w: _World, sc: dict, enrol: dict[str, np.ndarray], flags: dict[str, np.ndarray]
) -> dict[str, Any]:
    """Client attributes; returnees of each MOH project cover every focus country."""
    rng, pop, n = w.rng, sc["population"], w.n_clients
    focus = sc["focus_countries"]["codes"]
    stateless = pop["no_country_codes"]
    codes = list(dict.fromkeys([*focus, *pop["nationality_codes"], *pop["stateless_return_codes"]]))
    nat = np.array([codes.index(c) for c in pop["nationality_codes"]])[
        _choice(rng, n, pop["nationality_weights"])
    ]
    rt = w.returnees.done()
    for proj in np.unique(rt["project"]):
        who = rt["client"][rt["project"] == proj]
        nat[who] = _force_each(
            rng, _choice(rng, len(who), sc["focus_countries"]["weights"]), len(focus)
        )
    first = np.full(n, np.iinfo(np.int64).max)
    np.minimum.at(first, enrol["client"], enrol["enrol"])
    plan = flags["plan"] | (rng.random(n) >= pop["country_of_return_missing_if_no_plan"])
    home = nat.copy()
    no_country = np.isin(nat, [codes.index(c) for c in stateless if c in codes])
    home[no_country] = np.array([codes.index(c) for c in pop["stateless_return_codes"]])[
        _choice(rng, int(no_country.sum()), [1] * len(pop["stateless_return_codes"]))
    ]
    cor = np.where(plan, home, NA)
    year = 1970 + np.floor(first / 365.2425).astype(np.int64)
    age = np.clip(
        np.rint(rng.normal(pop["age_at_enrolment_mean"], pop["age_at_enrolment_sd"], n)),
        pop["age_min"],
        pop["age_max"],
    ).astype(np.int64)
    birth = np.where(rng.random(n) < pop["birth_year_missing"], NA, year - age)
    yrs = np.round(
        np.clip(
            pop["years_in_nl_median"] * np.exp(pop["years_in_nl_sigma"] * rng.standard_normal(n)),
            0,
            40,
        ),
        1,
    )
    yrs[rng.random(n) < pop["years_in_nl_missing"]] = np.nan
    med = np.where(rng.random(n) < pop["medical_needs_share"], 1, 0)
    med[rng.random(n) < pop["medical_needs_missing"]] = NA
    vuln = np.where(
        rng.random(n) < pop["vulnerability_note_share"], _choice(rng, n, [1] * len(_VULN)), NA
    )
    sp_w = (
        1 / np.arange(1, sc["support_points"]["count"] + 1) ** sc["support_points"]["zipf_exponent"]
    )
    sp = _choice(rng, n, list(sp_w))
    calibrated = np.flatnonzero(flags["calibrated"])
    sp[calibrated] = _force_each(rng, sp[calibrated], len(sp_w))
    return {
        "codes": codes,
        "nationality": nat,
        "cor": cor,
        "sex": _choice(rng, n, pop["sex_weights"]),
        "sex_labels": pop["sex_codes"],
        "birth_year": birth,
        "household": 1 + np.minimum(rng.poisson(pop["household_extra_mean"], n), 14),
        "years_in_nl": yrs,
        "legal": _choice(rng, n, pop["legal_status_weights"]),
        "legal_labels": pop["legal_status_codes"],
        "medical": med,
        "vuln": vuln,
        "sp": sp,
        "first": first,
        "home": home,
    }


def _sessions(w: _World, enrol: dict[str, np.ndarray], per_project: dict[int, dict]) -> dict:
    """Counselling sessions: 1 + Poisson per enrolment, first on the enrolment date."""
    rng = w.rng
    n = len(enrol["client"])
    lam = np.array([per_project[p]["extra_sessions_mean"] for p in range(len(PROJECTS))])
    k = 1 + rng.poisson(lam[enrol["project"]])
    idx = np.repeat(np.arange(n), k)
    m = len(idx)
    starts = np.repeat(np.cumsum(k) - k, k)
    rank = np.arange(m) - starts
    proj_end = np.array([per_project[p]["end"] for p in range(len(PROJECTS))])
    last = np.where(
        enrol["exit"] == NA, np.minimum(proj_end[enrol["project"]], w.cutoff), enrol["exit"]
    )
    span = (last - enrol["enrol"])[idx]
    offs = np.where(rank == 0, 0, np.floor(rng.random(m) * (span + 1)).astype(np.int64))
    offs = offs[_ranks((idx, offs))[0]]
    date = enrol["enrol"][idx] + offs
    frac = rank / k[idx]
    cap = enrol["stage_cap"][idx]
    stage = np.minimum(np.floor(frac * (cap + 1)).astype(np.int64), cap)
    proj = enrol["project"][idx]
    topic = np.empty(m, dtype=np.int64)
    mode = np.empty(m, dtype=np.int64)
    note = np.full(m, NA, dtype=np.int64)
    for p, cfg in per_project.items():
        sel = np.flatnonzero(proj == p)
        topic[sel] = _choice(rng, len(sel), cfg["session_topic_weights"])
        mode[sel] = _choice(rng, len(sel), cfg["session_mode_weights"])
        has = rng.random(len(sel)) < cfg["counsellor_note_share"]
        note[sel[has]] = _choice(
            rng, int(has.sum()), [1] * (len(_NOTE_SUBJECT) * len(_NOTE_ACTION))
        )
    return {
        "enrolment": idx,
        "date": date,
        "mode": mode,
        "topic": topic,
        "stage": stage,
        "note": note,
    }
