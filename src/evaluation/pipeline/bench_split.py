"""Where a size's cold run spends the machine: the process tree's user CPU (the pipeline's own
work), its system CPU (the kernel's work for it, such as faulting in and zeroing fresh memory),
and the cores left idle (a stage waiting on one core), each with its marginal cost per client
from decade to decade, beside the wall time's.

The split explains the linearity target: wall time ≈ (user + system + idle) / cores, so a
marginal cost per client that rises with N rises in one of the three.
"""

from __future__ import annotations

from typing import Any

from evaluation.pipeline.bench_growth import growth

HUGE_PAGE_MB = 2  # a transparent huge page on x86-64

PARTS = (
    ("user", "user CPU"),
    ("system", "system CPU"),
    ("idle", "idle core-seconds"),
)


def split(sizes: list[dict]) -> dict[str, Any]:
    """Per size (sampled cold run): user, system and idle seconds and huge pages faulted in;
    per part, its marginal cost per client in each decade and the last decade's over the one
    before (bench_growth.growth)."""
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
    parts = {}
    for key, _ in PARTS:
        if rows and all(r[key] is not None for r in rows):
            g = growth([(r["clients"], r[key], True) for r in rows])
            parts[key] = {"marginal": g["marginal"], "ratio": g["marginal_ratio_last"]}
    return {"rows": rows, "parts": parts}


def markdown(result: dict[str, Any], wall: dict[str, Any]) -> list[str]:
    """The split as a Markdown section beside the wall time's growth (bench_growth.growth);
    [] when no sampled run split its CPU."""
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
    decades = [(m["from"], m["to"]) for m in wall.get("marginal", [])][-2:]
    if len(decades) == 2:
        head = " | ".join(f"{a:,} → {b:,}" for a, b in decades)
        lines += [
            "",
            f"| marginal cost per client (µs) | {head} | last over the one before |",
            "|---|---:|---:|---:|",
            _marginal_row(
                "wall time (the linearity target)",
                wall.get("marginal", []),
                wall.get("marginal_ratio_last"),
            ),  # fmt: skip
        ]
        lines += [
            _marginal_row(label, result["parts"][key]["marginal"], result["parts"][key]["ratio"])
            for key, label in PARTS
            if key in result["parts"]
        ]
    lines += [
        "",
        "User and system CPU are the process tree's (sampled); idle core-seconds and huge pages"
        " are the machine's over the run (the sampler's own work counts as busy). On 2 cores the"
        " wall time is about (user + system + idle) / 2. A huge page is 2 MiB that the kernel"
        " zeroes when a process first touches it; system CPU includes that zeroing.",
        "",
    ]
    return lines


def _marginal_row(label: str, marginal: list[dict], ratio: float | None) -> str:
    last = marginal[-2:]
    cells = " | ".join(f"{1e3 * m['ms_per_client']:,.1f}" for m in last)
    return f"| {label} | {cells} | {'–' if ratio is None else f'{ratio:.2f}'} |"
