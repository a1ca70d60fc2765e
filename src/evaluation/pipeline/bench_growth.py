"""How the bench's times grow with the number of clients: the exponent of t in N and the
marginal cost per client of each decade."""

from __future__ import annotations

import math
from typing import Any


def loglog_slope(ns: list[float], ts: list[float]) -> float | None:
    """Least-squares exponent b in t = a·N^b (1 = linear growth)."""
    pts = [(math.log(n), math.log(t)) for n, t in zip(ns, ts, strict=True) if n > 0 and t > 0]
    if len(pts) < 2:
        return None
    mx = sum(x for x, _ in pts) / len(pts)
    my = sum(y for _, y in pts) / len(pts)
    sxx = sum((x - mx) ** 2 for x, _ in pts)
    return round(sum((x - mx) * (y - my) for x, y in pts) / sxx, 3) if sxx else None


def growth(points: list[tuple[int, float, bool]]) -> dict[str, Any]:
    """Exponent of t in N, and the marginal cost per client in each decade (fixed costs cancel).

    points: (clients, seconds, finished). A run stopped at the timeout gives a lower bound.
    Growth is linear when the marginal cost per client does not rise from decade to decade.
    """
    ok = [(n, t) for n, t, done in points if done]
    marginal = []
    for (n0, t0, d0), (n1, t1, d1) in zip(points, points[1:], strict=False):
        if d0 and n1 > n0:
            per_client = round(1e3 * (t1 - t0) / (n1 - n0), 4)
            marginal.append(
                {"from": n0, "to": n1, "ms_per_client": per_client, "lower_bound": not d1}
            )
    ratio = None
    if len(marginal) >= 2 and marginal[-2]["ms_per_client"] > 0:
        ratio = round(marginal[-1]["ms_per_client"] / marginal[-2]["ms_per_client"], 2)
    return {
        "exponent": loglog_slope([n for n, _ in ok], [t for _, t in ok]),
        "exponent_last_decade": loglog_slope([n for n, _ in ok[-2:]], [t for _, t in ok[-2:]]),
        "marginal": marginal,
        "marginal_ratio_last": ratio,
        "complete": all(done for *_, done in points),
    }
