"""Synthetic ledgers of any size, for the attack tests and the benchmark of the joint check.

Clients are spread over projects × support points × cohorts (multinomial); each project's
enrolled and returned counts are split by support point and by cohort, the projects are united
per support point, each rate registers its complement, and the project totals are published.
The structure is that of the real ledger's linked tables; the counts are labelled synthetic.
"""

from __future__ import annotations

import numpy as np

from evaluation.publish.ledger import Ledger, make_key


def synthetic_ledger(
    seed: int,
    clients: int,
    projects: int = 2,
    points: int = 8,
    cohorts: int = 5,
    return_share: float = 0.35,
) -> Ledger:
    """A ledger with the real one's linked tables, filled with random counts."""
    rng = np.random.default_rng(seed)
    led = Ledger()
    names = [f"P{i + 1}" for i in range(projects)]
    cells = rng.multinomial(clients, rng.dirichlet(np.full(projects * points * cohorts, 0.6)))
    cells = cells.reshape(projects, points, cohorts)
    returned = rng.binomial(cells, return_share)
    art = "synthetic"
    for i, p in enumerate(names):
        pop = f"clients of {p}"
        n_tot = led.count(make_key(p, "enrolled"), cells[i].sum(), population=pop,
                          numerator="enrolled", artefact=art, public=True)  # fmt: skip
        r_tot = led.count(make_key(p, "returned"), returned[i].sum(), population=pop,
                          numerator="returned", artefact=art, public=True)  # fmt: skip
        for axis, dim in ((1, "point"), (0, "cohort")):
            n_by = cells[i].sum(axis=axis)
            r_by = returned[i].sum(axis=axis)
            ks_n, ks_r = [], []
            for j, (n, r) in enumerate(zip(n_by, r_by, strict=True)):
                kn = led.count(make_key(p, "enrolled", **{dim: j}), n, population=pop,
                               numerator="enrolled", artefact=art)  # fmt: skip
                kr = led.count(make_key(p, "returned", **{dim: j}), r, population=pop,
                               numerator="returned", artefact=art)  # fmt: skip
                led.rate(kr, kn, artefact=art)
                ks_n.append(kn)
                ks_r.append(kr)
            led.relate(n_tot, ks_n)
            led.relate(r_tot, ks_r)
    union = "+".join(names)
    for j in range(points):
        for what, arr in (("enrolled", cells), ("returned", returned)):
            parts = [make_key(p, what, point=j) for p in names]
            k = led.count(make_key(union, what, point=j), arr[:, j, :].sum(), artefact=art,
                          population=f"clients of {union}", numerator=what)  # fmt: skip
            led.relate(k, parts)
        led.rate(make_key(union, "returned", point=j), make_key(union, "enrolled", point=j),
                 artefact=art)  # fmt: skip
    return led
