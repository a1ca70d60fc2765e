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
    from evaluation.analysis.client_groups import lookup

    enr, sup, dep = tables["enrolments"], tables["support"], tables["departures"]
    enrolled = pd.Index(enr.loc[enr["project"] == project, "client_id"].unique())
    # the returnees of analysis.monitoring_windows, counted: clients with a verified
    # departure linked to an enrolment in the project
    verified = dep[
        (dep["departure_type"] == "independent_verified") & (dep["verification"] != "unverified")
    ]
    at = lookup(verified["enrolment_id"], enr["enrolment_id"])
    found = np.flatnonzero(at >= 0)
    projects = enr["project"].iloc[at[found]].astype("str").str.upper().to_numpy()
    returned = verified["client_id"].iloc[found[projects == project.upper()]].nunique()
    assisted = enrolled.intersection(pd.Index(sup["client_id"].unique())).size
    return AmifCounts(project, len(enrolled), int(returned), int(assisted))
