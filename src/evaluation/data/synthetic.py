"""Calibrated synthetic case-level data: the embedded default input of the evaluation.

Published counts (319 ENH clients, 46 + 77 referrals, 148 MOH1 enrolments, 51 returned with
support, 21 support points, 5 focus countries) are fixed first and reproduced exactly
(round(K x count) at scale K); who gets which outcome, and every other attribute, is drawn
from the commented scenario files in data/scenarios/. Fully vectorised numpy: time and
memory grow linearly with the number of clients.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

SCENARIO_DIR = Path(__file__).resolve().parents[3] / "data" / "scenarios"
DEFAULT_SCENARIOS = (SCENARIO_DIR / "enh_moh1.yaml", SCENARIO_DIR / "moh2.yaml")
TABLES = ("clients", "enrolments", "sessions", "referrals", "departures", "support", "monitoring")
MAX_CLIENTS = 1_000_000

PROJECTS = ["ENH", "MOH1", "MOH2"]
OUTCOMES = [
    "returned",
    "residence_permit",
    "new_procedure",
    "forced_removal",
    "lost_contact",
    "returned_other_org",
    "withdrew",
    "project_end",
    "still_enrolled",
]
OUT = {name: i for i, name in enumerate(OUTCOMES)}
ROUTES = ["enh_referral", "self_referral", "coa", "municipality", "legal_aid", "other_ngo", "dtv"]
ORGS = ["MOH", "BRIDGE_TO_BETTER", "ROS", "SOLID_ROAD", "WERELDWIJD", "IOM", "DTV", "OTHER", "NONE"]
DEP_TYPES = ["independent_verified", "forced", "without_supervision"]
VERIFICATIONS = ["dtv_verified", "iom_confirmed", "partner_confirmed", "unverified"]
REF_STATUS = ["sent", "accepted", "declined", "withdrawn"]
MODES = ["in_person", "phone", "video", "group"]
TOPICS = [
    "future_orientation",
    "return_options",
    "reintegration_plan",
    "legal",
    "practical",
    "psychosocial",
]
STAGES = ["orienting", "considering", "decided", "preparing"]
RESIDENCE = ["in_country_of_return", "re_migrated", "unknown"]
MODALITIES = ["cash", "in_kind", "mixed"]
NA = np.iinfo(np.int64).min  # missing date (days) or missing code

_NOTE_SUBJECT = [
    "Fictional client",
    "Test person (not real)",
    "Synthetic client",
    "Made-up client",
    "Dummy client",
    "Invented client",
]
_NOTE_ACTION = [
    "asked about travel documents for the imaginary trip.",
    "discussed a pretend business plan selling test widgets.",
    "mentioned a fake cousin in the country of return.",
    "wants more time to think; placeholder text only.",
    "reported invented worries about housing after return.",
    "agreed to a follow-up on a fictitious date.",
]
_VULN = [
    "single parent of two (invented)",
    "fictional chronic illness (test value)",
    "made-up trauma history for privacy tests",
    "pretend pregnancy (not a real person)",
    "dummy note: elderly and alone",
    "synthetic: possible trafficking indicator (fake)",
]


# What a scenario that `extends` another never inherits: its own periods and counts.
_NOT_INHERITED = {"meta", "projects", "enh"}
_OWN_COUNTS = {"id", "enrolled", "returned", "other_outcomes", "outcomes", "new_enrolled"}


class ScenarioError(ValueError):
    """A scenario file breaks the {value, source} convention or is inconsistent."""


# ------------------------------------------------------------------------------ scenarios


def _unwrap(node: Any, path: str, out: list[dict[str, Any]]) -> Any:
    """Replace each {value, source} parameter by its value, recording path and source."""
    if isinstance(node, dict) and "value" in node:
        src = node.get("source")
        if not isinstance(src, str) or not src.strip():
            raise ScenarioError(f"parameter '{path}' has no source (cite one or say 'assumption')")
        out.append(
            {
                "parameter": path,
                "value": node["value"],
                "source": src,
                "assumed": "assumption" in src.lower(),
                "figure_id": node.get("figure_id"),
            }
        )
        return node["value"]
    if isinstance(node, dict):
        return {k: _unwrap(v, f"{path}.{k}" if path else k, out) for k, v in node.items()}
    raise ScenarioError(
        f"'{path}' is a bare value; write it as {{value: ..., source: ...}} with its source"
    )


def _merge(base: dict, over: dict) -> dict:
    """Deep merge of mappings: keys in `over` win."""
    out = copy.deepcopy(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def read_scenarios(paths: list[Path] | tuple[Path, ...]) -> list[dict[str, Any]]:
    """Read scenario YAMLs (resolving meta.extends) into raw mappings with `meta` kept."""
    import yaml

    raw: dict[str, dict] = {}
    ordered = []
    for path in paths:
        doc = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        meta = doc.get("meta", {})
        name = meta.get("scenario", Path(path).stem)
        if meta.get("extends"):
            if meta["extends"] not in raw:
                raise ScenarioError(
                    f"{path}: extends '{meta['extends']}', which is not loaded first"
                )
            base = {k: v for k, v in raw[meta["extends"]].items() if k not in _NOT_INHERITED}
            base["return_project"] = {
                k: v for k, v in base.get("return_project", {}).items() if k not in _OWN_COUNTS
            }
            doc = _merge(base, doc)
        raw[name] = doc
        ordered.append(doc)
    return ordered


def load_scenario(doc: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Unwrap one scenario mapping into plain values plus its list of sourced parameters."""
    params: list[dict[str, Any]] = []
    body = {k: v for k, v in doc.items() if k != "meta"}
    values = _unwrap(body, "", params)
    values["meta"] = doc.get("meta", {})
    return values, params


def assumptions(scenarios: list[Path] | None = None) -> pd.DataFrame:
    """Every scenario parameter with its value, source and whether it is an assumption."""
    rows = []
    for doc in read_scenarios(list(scenarios or DEFAULT_SCENARIOS)):
        _, params = load_scenario(doc)
        for p in params:
            rows.append({"scenario": doc["meta"]["scenario"], "status": doc["meta"]["status"], **p})
    df = pd.DataFrame(rows)
    df["value"] = df["value"].astype(str)
    return df


# ------------------------------------------------------------------------------ helpers


def _day(d: dt.date | str) -> int:
    return int((np.datetime64(d, "D") - np.datetime64("1970-01-01", "D")).astype(np.int64))


def _scaled(count: float, scale: float) -> int:
    return int(math.floor(count * scale + 0.5))


def _allocate(total: int, weights: list[float]) -> np.ndarray:
    """Split `total` into integers proportional to weights (largest remainder, exact sum)."""
    w = np.asarray(weights, dtype=float)
    raw = total * w / w.sum()
    out = np.floor(raw).astype(np.int64)
    rest = total - int(out.sum())
    order = np.argsort(-(raw - out), kind="stable")
    out[order[:rest]] += 1
    return out


def _exact(rng: np.random.Generator, counts: np.ndarray) -> np.ndarray:
    """Labels 0..k-1 with exactly counts[i] of each, in random order ('randomise who')."""
    return rng.permutation(np.repeat(np.arange(len(counts)), counts))


def returned_mask(outcome: np.ndarray) -> np.ndarray:
    return outcome == OUT["returned"]


def _choice(rng: np.random.Generator, n: int, weights: list[float]) -> np.ndarray:
    cum = np.cumsum(np.asarray(weights, dtype=float))
    return np.minimum(np.searchsorted(cum / cum[-1], rng.random(n), side="right"), len(cum) - 1)


def _force_each(rng: np.random.Generator, codes: np.ndarray, k: int) -> np.ndarray:
    """Make every code 0..k-1 occur at least once (needs len(codes) >= k)."""
    if len(codes) < k:
        raise ValueError(f"cannot show all {k} codes among {len(codes)} records; raise --scale")
    codes = codes.copy()
    codes[rng.permutation(len(codes))[:k]] = np.arange(k)
    return codes


def _durations(rng: np.random.Generator, n: int, mean: float, shape: float) -> np.ndarray:
    return np.rint(rng.gamma(shape, mean / shape, n)).astype(np.int64)


@dataclass
class _Rows:
    """Column-wise accumulator of numpy pieces for one internal table."""

    cols: dict[str, list[np.ndarray]] = field(default_factory=dict)

    def add(self, **columns: Any) -> None:
        n = max(len(v) for v in columns.values() if isinstance(v, np.ndarray))
        for k, v in columns.items():
            arr = v if isinstance(v, np.ndarray) else np.full(n, v, dtype=np.int64)
            self.cols.setdefault(k, []).append(arr)

    def done(self) -> dict[str, np.ndarray]:
        return {k: np.concatenate(v) for k, v in self.cols.items()}


@dataclass
class _World:
    rng: np.random.Generator
    scale: float
    cutoff: int
    n_clients: int = 0
    enrol: _Rows = field(default_factory=_Rows)
    referrals: _Rows = field(default_factory=_Rows)
    departures: _Rows = field(default_factory=_Rows)
    returnees: _Rows = field(default_factory=_Rows)

    def new_clients(self, n: int) -> np.ndarray:
        ids = np.arange(self.n_clients, self.n_clients + n, dtype=np.int64)
        self.n_clients += n
        return ids

    def add_enrolments(self, **cols: Any) -> np.ndarray:
        start = sum(len(a) for a in self.enrol.cols.get("client", []))
        self.enrol.add(**cols)
        return np.arange(start, start + len(cols["client"]), dtype=np.int64)


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


def _support_and_monitoring(w: _World, sc: dict, cor: np.ndarray) -> tuple[dict, dict]:
    """Reintegration support and monitoring contacts for every verified returnee."""
    rng = w.rng
    rt = w.returnees.done()
    sp, mo = sc["return_project"]["support"], sc["return_project"]["monitoring"]
    client, dep = rt["client"], rt["date"]
    n = len(client)
    k = 1 + np.minimum(rng.poisson(sp["extra_records_mean"], n), 3)
    who = np.repeat(np.arange(n), k)
    m = len(who)
    typ = _choice(rng, m, sp["type_weights"])
    codes = sp["type_codes"]
    amount = np.round(
        np.minimum(
            np.asarray(sp["median_amount_eur"], dtype=float)[typ]
            * np.exp(sp["amount_sigma"] * rng.standard_normal(m)),
            20000.0,
        ),
        2,
    )
    amount[
        (typ == codes.index("psychosocial")) & (rng.random(m) < sp["amount_missing_psychosocial"])
    ] = np.nan
    modality = np.where(rng.random(m) < sp["mixed_modality_share"], 2, 1)
    modality[typ == codes.index("cash")] = 0
    modality[typ == codes.index("in_kind")] = 1
    sdate = np.minimum(
        dep[who] + np.floor(rng.random(m) * (sp["days_after_departure_max"] + 1)).astype(np.int64),
        w.cutoff,
    )
    support = {
        "client": client[who],
        "type": typ,
        "type_labels": codes,
        "modality": modality,
        "amount": amount,
        "partner": cor[client[who]],
        "date": sdate,
    }
    # Monitoring: windows x returnees, kept only up to the data cut-off.
    win = len(mo["window_codes"])
    days = np.asarray(mo["window_days"])
    jit = np.asarray(mo["window_jitter_days"])
    u = rng.random((n, win))
    offset = days + np.where(np.arange(win) == 0, np.floor(u * jit), np.rint((2 * u - 1) * jit))
    cdate = dep[:, None] + np.maximum(offset, 0).astype(np.int64)
    exists = cdate <= w.cutoff
    q = mo["sporadic_miss"]
    survive = np.minimum(1.0, np.asarray(mo["reached_share"]) / (1 - q))
    alive = rng.random(n)[:, None] < survive
    reached = alive & (rng.random((n, win)) >= q)
    lam = -math.log(1 - mo["remigration_12m"]) / 365.0
    t_mig = rng.exponential(1 / lam, n)
    remig = (cdate - dep[:, None]) >= t_mig[:, None]
    reached &= ~remig | (rng.random((n, win)) < mo["reached_after_remigration"])
    reason = _choice(rng, n * win, mo["not_reached_weights"]).reshape(n, win)
    dead = np.maximum.accumulate(
        ~reached & (reason == mo["not_reached_codes"].index("deceased")), 1
    )
    reached &= ~dead
    reason = np.where(dead, mo["not_reached_codes"].index("deceased"), reason)
    moved = mo["not_reached_codes"].index("moved_unknown")
    reason = np.where(remig & ~dead & (reason != moved), moved, reason)
    reason = np.where(reached, NA, reason)
    unknown = rng.random((n, win)) < mo["residence_unknown_share"]
    residence = np.select([~reached, remig, unknown], [NA, 1, 2], 0)
    mix = np.arange(win) / max(win - 1, 1)
    wa = np.asarray(mo["livelihood_weights_arrival"], dtype=float)
    wb = np.asarray(mo["livelihood_weights_m12"], dtype=float)
    cum = np.cumsum((1 - mix)[:, None] * wa + mix[:, None] * wb, axis=1)
    cum /= cum[:, -1:]
    uu = rng.random((n, win))
    liv = (uu[:, :, None] > cum[None, :, :]).sum(axis=2)
    liv = np.where(residence == 0, liv, NA)
    months = (cdate - dep[:, None]) / 30.44
    scored = residence == 0
    client_fx = rng.standard_normal((n, 1, 3)) * mo["rss_client_sd"]
    lin = (
        np.asarray(mo["rss_intercept"])
        + np.asarray(mo["rss_slope"]) * np.log1p(months)[:, :, None]
        + client_fx
        + rng.standard_normal((n, win, 3)) * mo["rss_noise_sd"]
    )
    rss = np.round(1 / (1 + np.exp(-lin)), 3)
    rss[~scored] = np.nan
    keep = exists.ravel()
    monitoring = {
        "client": np.repeat(client, win)[keep],
        "window": np.tile(np.arange(win), n)[keep],
        "window_labels": mo["window_codes"],
        "date": cdate.ravel()[keep],
        "reached": reached.ravel()[keep],
        "reason": reason.ravel()[keep],
        "reason_labels": mo["not_reached_codes"],
        "residence": residence.ravel()[keep],
        "livelihood": liv.ravel()[keep],
        "livelihood_labels": mo["livelihood_codes"],
        "rss": rss.reshape(n * win, 3)[keep],
    }
    return support, monitoring


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


# ------------------------------------------------------------------------------ to pandas


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pd.Series:
    """Fixed-width identifiers prefix + zero-padded number, built without Python loops."""
    import pyarrow as pa

    n = len(numbers)
    p = prefix.encode()
    size = len(p) + width
    buf = np.empty((n, size), dtype=np.uint8)
    buf[:, : len(p)] = np.frombuffer(p, dtype=np.uint8)
    x = numbers.astype(np.int64)
    for j in range(width):
        buf[:, size - 1 - j] = 48 + x % 10
        x = x // 10
    offsets = np.arange(0, (n + 1) * size, size, dtype=np.int64)
    arr = pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(buf.tobytes()))
    return pd.Series(arr.cast(pa.string()), dtype="str")


def _width(n: int) -> int:
    return max(6, len(str(n)))


def _labels(codes: np.ndarray, labels: list[str]) -> pd.Series:
    """Code indices (NA = missing) to a string column, decoded by pyarrow's take."""
    import pyarrow as pa

    idx = pa.array(np.where(codes == NA, 0, codes), mask=codes == NA)
    return pd.Series(pa.array(labels, pa.string()).take(idx), dtype="str")


def _dates(days: np.ndarray) -> pd.Series:
    out = days.astype("datetime64[D]")
    out[days == NA] = np.datetime64("NaT")
    return pd.Series(out.astype("datetime64[s]"))


def _nullable_int(values: np.ndarray) -> pd.Series:
    missing = values == NA
    return pd.Series(pd.arrays.IntegerArray(np.where(missing, 0, values), missing))


def _ranks(keys: tuple[np.ndarray, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Stable row order by the keys (first key primary) and each row's rank in that order."""
    combined = np.zeros(len(keys[0]), dtype=np.int64)
    bits = 0
    for key in keys:
        k = key - key.min() if len(key) else key
        width = int(k.max()).bit_length() if len(k) else 0
        bits += width
        combined = (combined << width) | k
    if bits > 62:
        raise OverflowError("sort keys too wide to combine")
    order = np.argsort(combined, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return order, rank


def generate(
    seed: int = 20151001, scale: float = 1.0, scenarios: list[Path] | None = None
) -> dict[str, pd.DataFrame]:
    """Generate the seven case tables; same seed and scale give identical tables."""
    if scale <= 0:
        raise ValueError("scale must be positive")
    docs = read_scenarios(list(scenarios or DEFAULT_SCENARIOS))
    scs = [load_scenario(d)[0] for d in docs]
    if "enh" not in scs[0]:
        raise ScenarioError("the first scenario must define ENH (enh_moh1.yaml)")
    base = scs[0]
    cutoff = max(_day(s["data_cutoff"]) for s in scs if "data_cutoff" in s)
    w = _World(np.random.default_rng(seed), scale, cutoff)
    n_m1 = _scaled(base["return_project"]["enrolled"], scale)
    split = base["enh"]["moh_referral_outcome"]
    m1 = int(_allocate(_scaled(base["enh"]["referred_moh"], scale), list(split.values()))[0])
    if n_m1 < m1:
        raise ScenarioError("MOH1 enrolments fewer than ENH referrals enrolling in MOH1")
    # ENH clients referred into MOH1 are created first so MOH1 can place their dates.
    enh_ids = w.new_clients(m1)
    moh1 = _return_project(
        w,
        base,
        "MOH1",
        n_m1 - m1,
        {"client": enh_ids, "route": np.full(m1, ROUTES.index("enh_referral"))},
        n_total=n_m1,
    )
    enh = _enh(w, base, moh1)
    calibrated_clients = w.n_clients
    per_project = {0: {**base["enh"], "end": _day(base["projects"]["ENH"]["end"])}}
    per_project[1] = {**base["return_project"], "end": _day(base["projects"]["MOH1"]["end"])}
    plan_clients = [enh["plans"], moh1["client"]]
    for sc in scs[1:]:
        pid = sc["return_project"]["id"]
        start = _day(sc["projects"][pid]["start"])
        nxt = enh["next_clients"]
        incoming = {
            "client": np.concatenate([nxt, moh1["carry_client"]]),
            "route": np.concatenate(
                [np.full(len(nxt), ROUTES.index("enh_referral")), moh1["carry_route"]]
            ),
        }
        incoming["earliest"] = np.full(len(incoming["client"]), start, dtype=np.int64)
        incoming["no_return"] = np.arange(len(incoming["client"])) >= len(nxt)
        n_new = _scaled(sc["return_project"]["new_enrolled"], scale)
        res = _return_project(w, sc, pid, n_new, incoming)
        plan_clients.append(res["client"])
        per_project[PROJECTS.index(pid)] = {
            **sc["return_project"],
            "end": _day(sc["projects"][pid]["end"]),
        }
    if w.n_clients > 5 * MAX_CLIENTS:
        raise ValueError(f"{w.n_clients:,} clients: beyond the tested {MAX_CLIENTS:,}-client range")
    enrol = w.enrol.done()
    deps = w.departures.done()
    flags = {
        "plan": np.zeros(w.n_clients, dtype=bool),
        "calibrated": np.arange(w.n_clients) < calibrated_clients,
    }
    flags["plan"][np.concatenate(plan_clients)] = True
    flags["plan"][deps["client"]] = True
    cl = _clients(w, base, enrol, flags)
    support, monitoring = _support_and_monitoring(w, base, cl["home"])
    sessions = _sessions(w, enrol, per_project)
    return _frames(w, base, cl, enrol, sessions, deps, support, monitoring)


def _frames(w, base, cl, enrol, ses, deps, support, mon) -> dict[str, pd.DataFrame]:
    """Sort every table chronologically, assign identifiers and build typed DataFrames."""
    rng = w.rng
    n = w.n_clients
    c_order, c_rank = _ranks((cl["first"],))
    client_id = _ids("c", np.arange(1, n + 1), _width(n))

    def cid(internal: np.ndarray) -> pd.Series:
        return _ids("c", c_rank[internal] + 1, _width(n))

    codes = cl["codes"]
    partners = [f"{c.lower()}_partner" for c in codes]
    vuln_text = [f"[SYNTHETIC] {v}" for v in _VULN]
    clients = pd.DataFrame(
        {
            "client_id": client_id,
            "sex": _labels(cl["sex"][c_order], cl["sex_labels"]),
            "birth_year": _nullable_int(cl["birth_year"][c_order]),
            "nationality": _labels(cl["nationality"][c_order], codes),
            "country_of_return": _labels(cl["cor"][c_order], codes),
            "household_size": cl["household"][c_order],
            "years_in_nl": cl["years_in_nl"][c_order],
            "legal_status_intake": _labels(cl["legal"][c_order], cl["legal_labels"]),
            "medical_needs": pd.array(
                np.where(cl["medical"][c_order] == NA, None, cl["medical"][c_order] == 1),
                dtype="boolean",
            ),
            "vulnerability_note": _labels(cl["vuln"][c_order], vuln_text),
        }
    )
    ne = len(enrol["client"])
    e_order, e_rank = _ranks((enrol["enrol"], c_rank[enrol["client"]], enrol["project"]))
    enrol_id = _ids("e", np.arange(1, ne + 1), _width(ne))
    consent = rng.random(ne) < base["population"]["consent_research_share"]
    enrolments = pd.DataFrame(
        {
            "enrolment_id": enrol_id,
            "client_id": cid(enrol["client"][e_order]),
            "project": _labels(enrol["project"][e_order], PROJECTS),
            "support_point": _labels(
                cl["sp"][enrol["client"][e_order]],
                [f"sp{i:02d}" for i in range(1, base["support_points"]["count"] + 1)],
            ),
            "intake_route": _labels(enrol["route"][e_order], ROUTES),
            "enrolment_date": _dates(enrol["enrol"][e_order]),
            "reintegration_plan_date": _dates(enrol["plan"][e_order]),
            "exit_date": _dates(enrol["exit"][e_order]),
            "exit_reason": _labels(enrol["reason"][e_order], OUTCOMES),
            "consent_research": consent,
        }
    )

    def eid(internal: np.ndarray) -> pd.Series:
        return _ids("e", e_rank[internal] + 1, _width(ne))

    ns = len(ses["enrolment"])
    s_order, _ = _ranks((ses["date"], e_rank[ses["enrolment"]]))
    notes = [f"[SYNTHETIC] {s} {a}" for s in _NOTE_SUBJECT for a in _NOTE_ACTION]
    sessions = pd.DataFrame(
        {
            "session_id": _ids("s", np.arange(1, ns + 1), _width(ns)),
            "enrolment_id": eid(ses["enrolment"][s_order]),
            "session_date": _dates(ses["date"][s_order]),
            "mode": _labels(ses["mode"][s_order], MODES),
            "topic": _labels(ses["topic"][s_order], TOPICS),
            "decision_stage": _labels(ses["stage"][s_order], STAGES),
            "counsellor_note": _labels(ses["note"][s_order], notes),
        }
    )
    ref = w.referrals.done()
    nr = len(ref["date"])
    r_order, _ = _ranks((ref["date"],))
    referrals = pd.DataFrame(
        {
            "referral_id": _ids("r", np.arange(1, nr + 1), _width(nr)),
            "enrolment_id": eid(ref["enrolment"][r_order]),
            "referral_date": _dates(ref["date"][r_order]),
            "receiving_org": _labels(ref["org"][r_order], ORGS),
            "status": _labels(ref["status"][r_order], REF_STATUS),
        }
    )
    nd = len(deps["date"])
    d_order, _ = _ranks((deps["date"],))
    d_enrol = deps["enrolment"][d_order]
    linked = d_enrol != NA
    d_ids = np.full(nd, None, dtype=object)
    d_ids[linked] = eid(d_enrol[linked]).to_numpy(dtype=object)
    d_ids = pd.Series(d_ids, dtype="str")
    departures = pd.DataFrame(
        {
            "departure_id": _ids("d", np.arange(1, nd + 1), _width(nd)),
            "client_id": cid(deps["client"][d_order]),
            "enrolment_id": d_ids,
            "departure_date": _dates(deps["date"][d_order]),
            "departure_type": _labels(deps["type"][d_order], DEP_TYPES),
            "facilitated_by": _labels(deps["fac"][d_order], ORGS),
            "verification": _labels(deps["ver"][d_order], VERIFICATIONS),
            "destination": _labels(cl["home"][deps["client"][d_order]], codes),
        }
    )
    nsu = len(support["date"])
    su_order, _ = _ranks((support["date"],))
    supp = pd.DataFrame(
        {
            "support_id": _ids("u", np.arange(1, nsu + 1), _width(nsu)),
            "client_id": cid(support["client"][su_order]),
            "support_type": _labels(support["type"][su_order], support["type_labels"]),
            "modality": _labels(support["modality"][su_order], MODALITIES),
            "amount_eur": support["amount"][su_order],
            "partner": _labels(support["partner"][su_order], partners),
            "support_date": _dates(support["date"][su_order]),
        }
    )
    nm = len(mon["date"])
    m_order, _ = _ranks((mon["date"], c_rank[mon["client"]], mon["window"]))
    rss = mon["rss"][m_order]
    monitoring = pd.DataFrame(
        {
            "contact_id": _ids("m", np.arange(1, nm + 1), _width(nm)),
            "client_id": cid(mon["client"][m_order]),
            "window": _labels(mon["window"][m_order], mon["window_labels"]),
            "contact_date": _dates(mon["date"][m_order]),
            "reached": mon["reached"][m_order],
            "not_reached_reason": _labels(mon["reason"][m_order], mon["reason_labels"]),
            "residence_status": _labels(mon["residence"][m_order], RESIDENCE),
            "livelihood": _labels(mon["livelihood"][m_order], mon["livelihood_labels"]),
            "rss_economic": rss[:, 0],
            "rss_social": rss[:, 1],
            "rss_psychosocial": rss[:, 2],
        }
    )
    return {
        "clients": clients,
        "enrolments": enrolments,
        "sessions": sessions,
        "referrals": referrals,
        "departures": departures,
        "support": supp,
        "monitoring": monitoring,
    }


# ------------------------------------------------------------------------------ writing


def _write_csv(df: pd.DataFrame, path: Path) -> None:
    """CSV via pyarrow (fast): header unquoted, fields quoted only when needed, LF, ISO dates."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    table = pa.Table.from_pandas(df, preserve_index=False)
    for i, f in enumerate(table.schema):
        if pa.types.is_timestamp(f.type):
            table = table.set_column(i, f.name, table.column(i).cast(pa.date32()))
    with open(path, "wb") as out:
        out.write((",".join(df.columns) + "\n").encode("utf-8"))
        try:
            pcsv.write_csv(
                table, out, pcsv.WriteOptions(include_header=False, quoting_style="none")
            )
        except pa.ArrowInvalid:  # a value holds a delimiter or quote: quote the strings
            out.seek(0)
            out.truncate()
            out.write((",".join(df.columns) + "\n").encode("utf-8"))
            pcsv.write_csv(table, out, pcsv.WriteOptions(include_header=False))


def write(tables: dict[str, pd.DataFrame], out_dir: Path, fmt: str = "csv") -> list[Path]:
    """Write each table as <name>.<fmt> (csv: UTF-8, ',', ISO dates, LF; byte-stable)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in TABLES:
        df = tables[name]
        path = out_dir / f"{name}.{fmt}"
        if fmt == "csv":
            _write_csv(df, path)
        elif fmt == "parquet":
            df.to_parquet(path, index=False)
        elif fmt == "xlsx":
            df.to_excel(path, index=False, sheet_name=name)
        else:
            raise ValueError(f"unknown format '{fmt}' (csv, parquet or xlsx)")
        paths.append(path)
    return paths
