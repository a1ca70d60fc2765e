"""Support delivered and monitoring contacts after return."""

from __future__ import annotations

import math

import numpy as np

from evaluation.data.synthetic.draws import _choice, _World
from evaluation.data.synthetic.scenarios import NA


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
