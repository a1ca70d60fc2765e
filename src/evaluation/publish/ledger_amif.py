"""Ledger cells of the AMIF indicators table (results/summary/amif.csv and the summary
chapter): persons enrolled and returned are the cells the conversion and durability tables
already print; persons who received reintegration assistance is a cell of its own, with its
complement among the enrolled."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from evaluation.analysis.amif import amif_counts, counts_of
from evaluation.publish.ledger import Ledger, make_key

ARTEFACTS = ("results/summary/amif.csv", "report:summary")


def amif_cells(
    ledger: Ledger,
    tables: Mapping[str, pd.DataFrame],
    project: str,
    returnees: pd.DataFrame | None = None,
) -> None:
    """Mark enrolled and returnees as printed in the AMIF table; add the assisted cell
    (returnees: the project's, analysis.monitoring_windows.returnees, when already known)."""
    c = amif_counts(tables, project) if returnees is None else counts_of(tables, project, returnees)
    enrolled = _cell(ledger, project, "enrolled", c.enrolled)
    _cell(ledger, project, "returnees", c.returned)
    assisted = make_key(project, "assisted")
    ledger.count(
        assisted,
        c.assisted,
        population=f"clients enrolled in {project}",
        numerator="assisted",
        dims={"project": project},
        artefact=ARTEFACTS,
    )
    comp = f"{enrolled}~not~assisted"
    ledger.count(
        comp,
        c.enrolled - c.assisted,
        population=f"clients enrolled in {project}",
        numerator="not assisted",
        denominator=enrolled,
        dims={"project": project},
    )
    ledger.relate(enrolled, [assisted, comp], f"{project}: assisted and not among the enrolled")


def same_returns(
    frame: pd.DataFrame,
    tables: Mapping[str, pd.DataFrame],
    project: str,
    returnees: pd.DataFrame | None = None,
) -> bool:
    """Whether the conversion's returned clients (frame: analysis.conversion.client_frame) are
    exactly the durability analysis's returnees: two definitions of a return, the same people
    (returnees: the project's, when already known)."""
    from evaluation.analysis import monitoring_windows

    if returnees is None:
        returnees = monitoring_windows.returnees(dict(tables), project)
    returned = frame.loc[frame["returned"].astype(bool), "client_id"]
    return set(returned) == set(returnees["client_id"])


def _cell(ledger: Ledger, project: str, what: str, value: int) -> str:
    """The ledger's cell of these people, printed in the AMIF table too; a cell of its own if
    the ledger counts them otherwise (the check then protects it on its own)."""
    k = make_key(project, what)
    if k not in ledger.cells or ledger.cells[k].value != value:
        k = make_key(project, f"amif_{what}")
        ledger.count(k, value, population=f"clients of {project}", numerator=what,
                     dims={"project": project}, artefact=ARTEFACTS)  # fmt: skip
    ledger.cells[k].artefacts |= set(ARTEFACTS)
    return k
