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

    return counts_of(tables, project, monitoring_windows.returnees(dict(tables), project))


def counts_of(
    tables: Mapping[str, pd.DataFrame], project: str, returnees: pd.DataFrame
) -> AmifCounts:
    """amif_counts with the project's returnees (monitoring_windows.returnees) already known."""
    enr, sup = tables["enrolments"], tables["support"]
    enrolled = pd.Index(enr.loc[enr["project"] == project, "client_id"].unique())
    returned = returnees["client_id"].nunique()
    assisted = enrolled.intersection(pd.Index(sup["client_id"].unique())).size
    return AmifCounts(project, len(enrolled), int(returned), int(assisted))
