"""Outcomes per project: ENH counselling, and MOH enrolments, referrals and departures."""

from __future__ import annotations

import numpy as np

from evaluation.data.synthetic.draws import (
    _allocate,
    _choice,
    _day,
    _durations,
    _exact,
    _scaled,
    _World,
    returned_mask,
)
from evaluation.data.synthetic.scenarios import (
    DEP_TYPES,
    NA,
    ORGS,
    OUT,
    PROJECTS,
    REF_STATUS,
    ROUTES,
    VERIFICATIONS,
    ScenarioError,
)

# ------------------------------------------------------------------------------ ENH


def _enh(w: _World, sc: dict, moh1_links: dict) -> dict[str, np.ndarray]:
    """ENH clients, enrolments, referrals and departures; MOH1-linked dates back-computed."""
    rng, s, e = w.rng, sc["enh"], sc["projects"]["ENH"]
    start, end = _day(e["start"]), _day(e["end"])
    n_enh = _scaled(s["enrolled"], w.scale)
    n_moh, n_oth = _scaled(s["referred_moh"], w.scale), _scaled(s["referred_other"], w.scale)
    if n_moh + n_oth > n_enh:
        raise ScenarioError("more ENH referrals than ENH clients")
    split = s["moh_referral_outcome"]
    m1, m2, m0 = _allocate(n_moh, [split[k] for k in split])
    # group: 0 unreferred, 1 MOH->MOH1, 2 MOH->next project, 3 MOH->not enrolled, 4 other org
    group = _exact(rng, np.array([n_enh - n_moh - n_oth, m1, m2, m0, n_oth]))
    clients = np.empty(n_enh, dtype=np.int64)
    clients[group == 1] = moh1_links["client"][:m1]
    others = np.flatnonzero(group != 1)
    clients[others] = w.new_clients(len(others))
    shape = s["duration_shape"]
    d_ref = np.where(group == 0, 0, _durations(rng, n_enh, s["days_to_referral_mean"], shape))
    d_exit = _durations(rng, n_enh, s["days_to_exit_mean"], shape)
    reason = np.full(n_enh, OUT["project_end"], dtype=np.int64)
    free = np.isin(group, [0, 3, 4])
    reason[free] = np.array([OUT[c] for c in s["unreferred_exit_codes"]])[
        _choice(rng, int(free.sum()), s["unreferred_exit_weights"])
    ]
    departed_oth = (group == 4) & (rng.random(n_enh) < s["other_referral_departed"])
    reason[departed_oth] = OUT["returned_other_org"]
    # Timeline for free groups: e0 + d_ref (referral) + d_exit (exit), all inside the period.
    span = end - start
    total = d_ref + d_exit
    shrink = np.minimum(1.0, span / np.maximum(total, 1))
    d_ref = np.floor(d_ref * shrink).astype(np.int64)
    d_exit = np.floor(d_exit * shrink).astype(np.int64)
    e0 = start + np.floor(rng.random(n_enh) * (span - d_ref - d_exit + 1)).astype(np.int64)
    ref = e0 + d_ref
    exit_ = ref + d_exit
    # MOH -> MOH1: back-compute referral and ENH enrolment from the MOH1 enrolment date.
    g1 = group == 1
    m_enrol = moh1_links["enrol"][:m1]
    d_int = _durations(rng, m1, sc["return_project"]["days_referral_to_enrolment_mean"], shape)
    d_r = d_ref[g1]
    room = m_enrol - start
    fit = np.minimum(1.0, room / np.maximum(d_int + d_r, 1))
    ref[g1] = m_enrol - np.floor(d_int * fit).astype(np.int64)
    e0[g1] = np.maximum(start, ref[g1] - np.floor(d_r * fit).astype(np.int64))
    m_exit, m_reason = moh1_links["exit"][:m1], moh1_links["outcome"][:m1]
    open_ = (m_exit == NA) | (m_exit > end) | (m_reason == OUT["still_enrolled"])
    exit_[g1] = np.where(open_, end, m_exit)
    reason[g1] = np.where(open_, OUT["project_end"], m_reason)
    # MOH -> next project: referred in the last two months of ENH.
    g2 = group == 2
    ref[g2] = end - np.floor(rng.random(int(g2.sum())) * 60).astype(np.int64)
    e0[g2] = np.maximum(start, ref[g2] - d_ref[g2])
    exit_[g2] = end
    exit_[reason == OUT["project_end"]] = end

    enh_enrol = w.add_enrolments(
        client=clients,
        project=np.zeros(n_enh, dtype=np.int64),
        route=np.array([ROUTES.index(c) for c in s["intake_route_codes"]])[
            _choice(rng, n_enh, s["intake_route_weights"])
        ],
        enrol=e0,
        plan=np.full(n_enh, NA, dtype=np.int64),
        exit=exit_,
        reason=reason,
        stage_cap=np.select(
            [departed_oth | (g1 & (reason == OUT["returned"])), group > 0], [3, 2], 1
        ),
    )
    # Referrals: one per referred client, plus an earlier withdrawn one for a few.
    referred = np.flatnonzero(group > 0)
    n_ref = len(referred)
    other_codes = [ORGS.index(o) for o in s["other_orgs"]]
    org = np.where(
        group[referred] == 4,
        np.array(other_codes)[_choice(rng, n_ref, s["other_org_weights"])],
        ORGS.index("MOH"),
    )
    status = np.full(n_ref, REF_STATUS.index("accepted"), dtype=np.int64)
    g3 = group[referred] == 3
    status[g3] = np.array([REF_STATUS.index(c) for c in s["not_enrolled_referral_status_codes"]])[
        _choice(rng, int(g3.sum()), s["not_enrolled_referral_status_weights"])
    ]
    nd = (group[referred] == 4) & ~departed_oth[referred]
    status[nd] = np.array([REF_STATUS.index(c) for c in s["other_not_departed_status_codes"]])[
        _choice(rng, int(nd.sum()), s["other_not_departed_status_weights"])
    ]
    w.referrals.add(enrolment=enh_enrol[referred], date=ref[referred], org=org, status=status)
    again = referred[rng.random(n_ref) < s["second_referral_share"]]
    if len(again):
        earlier = e0[again] + np.floor(rng.random(len(again)) * (ref[again] - e0[again] + 1))
        again_org = np.where(
            group[again] == 4,
            np.array(other_codes)[_choice(rng, len(again), s["other_org_weights"])],
            ORGS.index("MOH"),
        )
        w.referrals.add(
            enrolment=enh_enrol[again],
            date=earlier.astype(np.int64),
            org=again_org,
            status=np.full(len(again), REF_STATUS.index("withdrawn"), dtype=np.int64),
        )
    # Departures of ENH clients outside MOH: through the other organisation, or not verified.
    dep = np.flatnonzero(departed_oth)
    ver_codes = np.array([VERIFICATIONS.index(c) for c in s["other_departure_verification_codes"]])
    ref_org = np.full(n_enh, ORGS.index("OTHER"), dtype=np.int64)
    ref_org[referred] = org
    w.departures.add(
        client=clients[dep],
        enrolment=np.full(len(dep), NA, dtype=np.int64),
        date=exit_[dep],
        type=np.zeros(len(dep), dtype=np.int64),
        fac=ref_org[dep],
        ver=ver_codes[_choice(rng, len(dep), s["other_departure_verification_weights"])],
    )
    lost = np.flatnonzero(
        ~g1
        & (reason == OUT["lost_contact"])
        & (rng.random(n_enh) < s["lost_contact_departed_unsupervised"])
    )
    forced = np.flatnonzero(~g1 & (reason == OUT["forced_removal"]))
    for idx, kind in ((lost, "without_supervision"), (forced, "forced")):
        w.departures.add(
            client=clients[idx],
            enrolment=np.full(len(idx), NA, dtype=np.int64),
            date=exit_[idx],
            type=np.full(len(idx), DEP_TYPES.index(kind), dtype=np.int64),
            fac=np.full(
                len(idx), ORGS.index("NONE" if kind != "forced" else "DTV"), dtype=np.int64
            ),
            ver=np.full(
                len(idx), VERIFICATIONS.index("unverified" if kind != "forced" else "dtv_verified")
            ),
        )
    return {"next_clients": clients[g2], "plans": clients[group > 0]}


# ------------------------------------------------------------------------------ MOH projects


def _return_project(
    w: _World,
    sc: dict,
    project: str,
    n_new: int,
    incoming: dict[str, np.ndarray],
    n_total: int | None = None,
) -> dict[str, np.ndarray]:
    """One return project (MOH1, MOH2): enrolments, outcomes, departures, returnees."""
    rng, r = w.rng, sc["return_project"]
    per = sc["projects"][project]
    start, end = _day(per["start"]), _day(per["end"])
    n_in = len(incoming["client"])
    n = n_in + n_new if n_total is None else n_total
    if "returned" in r and not isinstance(r["returned"], dict):
        n_ret = _scaled(r["returned"], w.scale)
        rest = r["other_outcomes"]
        counts = np.concatenate([[n_ret], _allocate(n - n_ret, list(rest.values()))])
        names = ["returned", *rest]
    else:
        names = list(r["outcomes"])
        counts = _allocate(n, list(r["outcomes"].values()))
    outcome = np.array([OUT[k] for k in names])[_exact(rng, counts)]
    # Clients carried over from an earlier return project never return verified here, so
    # that project's published returnee count stays the count of its clients who returned.
    bad = np.flatnonzero(
        incoming.get("no_return", np.zeros(n_in, bool)) & returned_mask(outcome[:n_in])
    )
    if len(bad):
        pool = np.flatnonzero(~returned_mask(outcome))
        pool = pool[pool >= n_in] if len(pool[pool >= n_in]) >= len(bad) else pool
        swap = rng.permutation(pool)[: len(bad)]
        outcome[bad], outcome[swap] = outcome[swap], OUT["returned"]
    shape = r["duration_shape"]
    route = np.empty(n, dtype=np.int64)
    route[:n_in] = incoming["route"]
    route[n_in:] = np.array([ROUTES.index(c) for c in r["intake_route_codes"]])[
        _choice(rng, n - n_in, r["intake_route_weights"])
    ]
    clients = np.concatenate([incoming["client"], w.new_clients(n - n_in)])
    returned = outcome == OUT["returned"]
    late = np.isin(outcome, [OUT["project_end"], OUT["still_enrolled"]])
    d = np.where(
        returned,
        _durations(rng, n, r["days_to_return_mean"], shape),
        _durations(rng, n, r["days_to_exit_mean"], shape),
    )
    span = end - start
    d = np.minimum(d, span)
    enrol = start + np.floor(rng.random(n) * (span - d + 1)).astype(np.int64)
    late_win = min(r["late_window_days"], span)
    enrol[late] = end - np.floor(rng.random(int(late.sum())) * late_win).astype(np.int64)
    earliest = incoming.get("earliest")
    if earliest is not None and n_in:
        delay = _durations(rng, n_in, r["days_referral_to_enrolment_mean"], shape)
        enrol[:n_in] = np.minimum(np.maximum(earliest, start) + np.minimum(delay, span // 4), end)
        d[:n_in] = np.minimum(d[:n_in], end - enrol[:n_in])
    exit_ = np.where(late, end, enrol + d)
    exit_[outcome == OUT["still_enrolled"]] = NA
    frac = rng.uniform(r["plan_fraction_min"], r["plan_fraction_max"], n)
    has_plan = returned | (rng.random(n) < r["plan_share_non_returnees"])
    plan_end = np.where(exit_ == NA, end, exit_)
    plan = np.where(has_plan, enrol + np.floor(frac * (plan_end - enrol)).astype(np.int64), NA)
    reason = np.where(outcome == OUT["still_enrolled"], NA, outcome)
    enrol_ids = w.add_enrolments(
        client=clients,
        project=np.full(n, PROJECTS.index(project), dtype=np.int64),
        route=route,
        enrol=enrol,
        plan=plan,
        exit=exit_,
        reason=reason,
        stage_cap=np.select([returned, outcome == OUT["returned_other_org"]], [3, 2], 1),
    )
    # Departures: verified returns, and competing exits that leave a non-verified record.
    ret = np.flatnonzero(returned)
    vc = np.array([VERIFICATIONS.index(c) for c in r["verification_codes"]])
    w.departures.add(
        client=clients[ret],
        enrolment=enrol_ids[ret],
        date=exit_[ret],
        type=np.zeros(len(ret), dtype=np.int64),
        fac=np.full(len(ret), ORGS.index("MOH"), dtype=np.int64),
        ver=vc[_choice(rng, len(ret), r["verification_weights"])],
    )
    lost = (outcome == OUT["lost_contact"]) & (
        rng.random(n) < r["lost_contact_departed_unsupervised"]
    )
    other_codes = np.array([ORGS.index(o) for o in r["returned_other_org_orgs"]])
    for mask, typ, fac, ver in (
        (outcome == OUT["forced_removal"], "forced", None, "dtv_verified"),
        (lost, "without_supervision", None, "unverified"),
        (outcome == OUT["returned_other_org"], "independent_verified", "other", "unverified"),
    ):
        idx = np.flatnonzero(mask)
        if fac == "other":
            facs = other_codes[_choice(rng, len(idx), r["returned_other_org_weights"])]
        else:
            facs = np.full(len(idx), ORGS.index("DTV" if typ == "forced" else "NONE"))
        w.departures.add(
            client=clients[idx],
            enrolment=enrol_ids[idx],
            date=exit_[idx],
            type=np.full(len(idx), DEP_TYPES.index(typ), dtype=np.int64),
            fac=facs.astype(np.int64),
            ver=np.full(len(idx), VERIFICATIONS.index(ver), dtype=np.int64),
        )
    w.returnees.add(
        client=clients[ret],
        date=exit_[ret],
        project=np.full(len(ret), PROJECTS.index(project), dtype=np.int64),
    )
    order = np.argsort(np.arange(n) >= n_in, kind="stable")  # incoming first, as given
    carry = np.flatnonzero(outcome == OUT["project_end"])
    carry = carry[rng.random(len(carry)) < r["carry_over_share"]]
    return {
        "client": clients[order],
        "enrol": enrol[order],
        "exit": exit_[order],
        "outcome": outcome[order],
        "carry_client": clients[carry],
        "carry_route": route[carry],
        "sc": sc,
    }
