"""The generated arrays as the contract's tables (pandas)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from evaluation.data.synthetic.scenarios import (
    _NOTE_ACTION,
    _NOTE_SUBJECT,
    _VULN,
    DEP_TYPES,
    MODALITIES,
    MODES,
    NA,
    ORGS,
    OUTCOMES,
    PROJECTS,
    REF_STATUS,
    RESIDENCE,
    ROUTES,
    STAGES,
    TOPICS,
    VERIFICATIONS,
)

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
