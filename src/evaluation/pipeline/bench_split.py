"""Where a size's cold run spends the machine: the process tree's user CPU (the pipeline's own
work), its system CPU (the kernel's work for it: mostly faulting in and zeroing fresh memory),
and the cores left idle (a stage waiting on one core), each with its marginal cost per client
from decade to decade, beside the wall time's.

The split explains the linearity target: wall time ≈ (user + system + idle) / cores, so a
marginal cost per client that rises with N rises in one of the three.
"""

from __future__ import annotations

from typing import Any

from evaluation.pipeline.bench_report import growth

HUGE_PAGE_MB = 2  # a transparent huge page on x86-64

PARTS = (
    ("user", "user CPU"),
    ("system", "system CPU"),
    ("idle", "idle core-seconds"),
)


def split(sizes: list[dict]) -> dict[str, Any]:
    """Per size (sampled cold run): user, system and idle seconds and huge pages faulted in;
    per part, the last decade's marginal cost per client over the one before."""
    rows = []
    for s in sizes:
        run = s["run"]
        if run["returncode"] != 0 or not (run.get("user_seconds") or run.get("system_seconds")):
            continue
        rows.append(
            {
                "clients": s["clients"],
                "user": run["user_seconds"],
                "system": run["system_seconds"],
                "idle": run.get("idle_core_seconds"),
                "huge_pages": run.get("huge_pages"),
            }
        )
    ratios = {}
    for key, _ in PARTS:
        points = [(r["clients"], r[key], True) for r in rows if r[key] is not None]
        ratios[key] = growth(points)["marginal_ratio_last"] if len(points) == len(rows) else None
    return {"rows": rows, "marginal_ratio_last": ratios}


def markdown(result: dict[str, Any], wall_ratio: float | None) -> list[str]:
    """The split as a Markdown section ([] when no sampled run split its CPU)."""
    rows = result["rows"]
    if not rows:
        return []

    def num(v: float | None) -> str:
        return "–" if v is None else f"{v:,.1f}"

    def huge(n: int | None) -> str:
        return "–" if n is None else f"{n * HUGE_PAGE_MB / 1024:,.1f}"

    lines = [
        "## Where the time goes, by size (the sampled cold run)",
        "",
        "| clients | user CPU (s) | system CPU (s) | idle core-seconds "
        "| huge pages faulted in (GB) |",
        "|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r['clients']:,} | {num(r['user'])} | {num(r['system'])} | {num(r['idle'])} "
        f"| {huge(r['huge_pages'])} |"
        for r in rows
    ]
    ratios = result["marginal_ratio_last"]
    parts = "; ".join(
        f"{label} {'–' if ratios.get(key) is None else f'{ratios[key]:.2f}'}"
        for key, label in PARTS
    )
    wall = "–" if wall_ratio is None else f"{wall_ratio:.2f}"
    lines += [
        "",
        "User and system CPU are the process tree's (sampled); idle core-seconds and huge pages"
        " are the machine's over the run (the sampler's own work counts as busy). A huge page is"
        " 2 MiB that the kernel zeroes when a process first touches it.",
        "",
        "Marginal cost per client, last decade over the one before: wall time (the linearity"
        f" target) {wall}; {parts}.",
        "",
    ]
    return lines
