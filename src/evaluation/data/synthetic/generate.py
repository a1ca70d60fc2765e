"""generate(): the whole calibrated dataset at a scale and seed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from evaluation.data.synthetic.draws import _allocate, _day, _scaled, _World
from evaluation.data.synthetic.followup import _support_and_monitoring
from evaluation.data.synthetic.frames import _frames
from evaluation.data.synthetic.people import _clients, _sessions
from evaluation.data.synthetic.projects import _enh, _return_project
from evaluation.data.synthetic.scenarios import (
    DEFAULT_SCENARIOS,
    MAX_CLIENTS,
    PROJECTS,
    ROUTES,
    ScenarioError,
    load_scenario,
    read_scenarios,
)


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
