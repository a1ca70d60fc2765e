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
    from evaluation.analysis.monitoring_windows import verified_linked

    return counts_of(tables, project, verified_linked(tables, project))


def counts_of(
    tables: Mapping[str, pd.DataFrame], project: str, returnees: pd.DataFrame
) -> AmifCounts:
    """amif_counts with the project's returnees already known: a frame with their client_id
    (monitoring_windows.returnees, or the departures verified_linked finds)."""
    from evaluation.data.membership import isin

    enr, sup = tables["enrolments"], tables["support"]
    enrolled = pd.Index(enr.loc[enr["project"] == project, "client_id"].unique())
    returned = returnees["client_id"].nunique()
    assisted = int(isin(enrolled.to_series(), sup["client_id"]).sum())
    return AmifCounts(project, len(enrolled), int(returned), int(assisted))
