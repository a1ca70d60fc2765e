"""Calibrated synthetic case-level data: the embedded default input of the evaluation.

Published counts (319 ENH clients, 46 + 77 referrals, 148 MOH1 enrolments, 51 returned with
support, 21 support points, 5 focus countries) are fixed first and reproduced exactly
(round(K x count) at scale K); who gets which outcome, and every other attribute, is drawn
from the commented scenario files in data/scenarios/. Fully vectorised numpy: time and
memory grow linearly with the number of clients.
"""

from evaluation.data.synthetic.draws import returned_mask
from evaluation.data.synthetic.generate import generate
from evaluation.data.synthetic.scenarios import (
    DEFAULT_SCENARIOS,
    MAX_CLIENTS,
    TABLES,
    ScenarioError,
    assumptions,
    load_scenario,
    read_scenarios,
)
from evaluation.data.synthetic.write import MARKER, is_synthetic, mark, write

__all__ = [
    "MARKER",
    "DEFAULT_SCENARIOS",
    "MAX_CLIENTS",
    "TABLES",
    "ScenarioError",
    "assumptions",
    "generate",
    "is_synthetic",
    "load_scenario",
    "mark",
    "read_scenarios",
    "returned_mask",
    "write",
]
