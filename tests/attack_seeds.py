"""The adversary (tests/adversary.py) against the real ledger of synthetic datasets: for each
seed and scale, generate the data, validate it, build every published cell and its relations
(publish.publication.decide, as a run does), and solve the integer program for every withheld
count. `make attack` runs 20 seeds over four scales; a test runs one small seed.

Exit 1 when any withheld count is pinned to a range narrower than the threshold.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCALES = (0.25, 0.5, 1.0, 2.0)


@dataclass(frozen=True)
class Attack:
    seed: int
    scale: float
    clients: int
    cells: int
    withheld: int
    narrow: dict[str, tuple[float, float]]
    seconds: float


def attack(seed: int, scale: float) -> Attack:
    """Generate, validate, decide and attack one synthetic dataset."""
    import pandas as pd
    from adversary import attack_ledger

    from evaluation import config
    from evaluation.analysis.plan import load_plan, plan_path
    from evaluation.data import synthetic
    from evaluation.data.rules_cutoff import cutoffs_of
    from evaluation.data.validate import validate_dataset
    from evaluation.publish import publication

    t0 = time.perf_counter()
    cfg = config.load(ROOT / "evaluation.yml")
    plan = load_plan(plan_path(cfg.path))
    raw = synthetic.generate(seed=seed, scale=scale)
    with tempfile.TemporaryDirectory() as folder:
        synthetic.write(raw, Path(folder))
        tables, report = validate_dataset(Path(folder), cfg.periods, cutoff=cutoffs_of(cfg))
    assert report.ok, f"synthetic seed {seed} scale {scale} does not validate"
    ledger, decision = publication.decide(
        tables,
        [(p.id, p.kind) for p in cfg.projects],
        pd.read_csv(cfg.published),
        {p.id: p.cutoff or cfg.cutoff for p in cfg.projects},
        cfg.disclosure_min_count,
        plan.durability.follow_up_options,
        plan.return_,
        {p.id: p.end for p in cfg.projects},
    )
    ranges = attack_ledger(ledger, decision)
    narrow = {k: r for k, r in ranges.items() if r[1] - r[0] < cfg.disclosure_min_count}
    return Attack(
        seed,
        scale,
        len(raw["clients"]),
        len(ledger.cells),
        len(ranges),
        narrow,
        round(time.perf_counter() - t0, 1),
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=20, help="seeds 1..N (default 20)")
    args = ap.parse_args(argv)
    print("| seed | scale | clients | ledger cells | withheld | pinned (< threshold) | s |")
    print("|---:|---:|---:|---:|---:|---|---:|")
    pinned = 0
    for seed in range(1, args.seeds + 1):
        a = attack(seed, SCALES[seed % len(SCALES)])
        pinned += len(a.narrow)
        shown = ", ".join(f"{k} {lo:g}–{hi:g}" for k, (lo, hi) in a.narrow.items()) or "none"
        print(f"| {a.seed} | {a.scale:g} | {a.clients} | {a.cells} | {a.withheld} | {shown} "
              f"| {a.seconds} |", flush=True)  # fmt: skip
    print(f"\n{pinned} withheld counts pinned over {args.seeds} synthetic datasets (SYNTHETIC)")
    return 1 if pinned else 0


if __name__ == "__main__":
    sys.exit(main())
