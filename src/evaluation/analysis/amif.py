"""AMIF common indicators of a return project, in persons (wording unverified)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
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
    from evaluation.analysis.client_groups import isin

    enr, sup, dep = tables["enrolments"], tables["support"], tables["departures"]
    enrolled = pd.Index(enr.loc[enr["project"] == project, "client_id"].unique())
    # the returnees of analysis.monitoring_windows, counted: clients with a verified departure
    # linked to an enrolment in the project (its name compared in capitals, as there)
    verified = dep[
        (dep["departure_type"] == "independent_verified") & (dep["verification"] != "unverified")
    ]
    codes, names = pd.factorize(enr["project"])
    upper = pd.Series(names).astype("str").str.upper().to_numpy() == project.upper()
    ids = enr["enrolment_id"].iloc[np.flatnonzero(np.append(upper, False)[codes])]
    returned = verified["client_id"][isin(verified["enrolment_id"], ids)].nunique()
    assisted = int(isin(enrolled.to_series(), sup["client_id"]).sum())
    return AmifCounts(project, len(enrolled), int(returned), int(assisted))


def counts_of(
    tables: Mapping[str, pd.DataFrame], project: str, returnees: pd.DataFrame
) -> AmifCounts:
    """amif_counts with the project's returnees (monitoring_windows.returnees) already known
    (the ledger's way; amif_counts counts the same people without building them)."""
    from evaluation.analysis.client_groups import isin

    enr, sup = tables["enrolments"], tables["support"]
    enrolled = pd.Index(enr.loc[enr["project"] == project, "client_id"].unique())
    returned = returnees["client_id"].nunique()
    assisted = int(isin(enrolled.to_series(), sup["client_id"]).sum())
    return AmifCounts(project, len(enrolled), int(returned), int(assisted))
