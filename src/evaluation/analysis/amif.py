"""AMIF common indicators of a return project, in persons (wording unverified)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class AmifCounts:
    """Persons enrolled, who returned voluntarily, and who received reintegration assistance."""

    project: str
    enrolled: int
    returned: int
    assisted: int


def amif_counts(tables: Mapping[str, pd.DataFrame], project: str) -> AmifCounts:
    """Returned voluntarily = distinct clients with a verified departure linked to the project
    (the returnees of the durability analysis); received reintegration assistance = distinct
    clients enrolled in the project with at least one support record."""
    from evaluation.analysis import monitoring_windows

    enr, sup = tables["enrolments"], tables["support"]
    enrolled = pd.Index(enr.loc[enr["project"] == project, "client_id"].unique())
    returned = monitoring_windows.returnees(dict(tables), project)["client_id"].nunique()
    assisted = enrolled.intersection(pd.Index(sup["client_id"].unique())).size
    return AmifCounts(project, len(enrolled), int(returned), int(assisted))
