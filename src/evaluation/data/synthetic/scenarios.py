"""Scenario files: the published counts and the assumptions drawn around them."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evaluation.config import read_yaml

SCENARIO_DIR = Path(__file__).resolve().parents[4] / "data" / "scenarios"
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

    raw: dict[str, dict] = {}
    ordered = []
    for path in paths:
        doc = read_yaml(Path(path).read_text(encoding="utf-8"))
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
