"""A cause-specific Cox model of verified return with a project term, adjusted for case mix.

Fitted on the persons of the primary estimand (each once, in the project of first enrolment);
the project hazard ratio is other vs baseline. The usual guards of analysis.models apply: with
too few events per parameter the result says so and gives descriptives instead.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from evaluation.analysis import conversion as cv
from evaluation.analysis import models
from evaluation.analysis.client_groups import take
from evaluation.analysis.plan import Contrast, Inference
from evaluation.data.membership import lookup

REFERENCE = {"household_type": "single", "sex": "male"}
_MODEL_FRAME_COLUMNS = ("sex", "age", "years_in_nl", "household_type")  # cv.model_frame reads


def project_cox(
    times: pd.DataFrame,
    frames: Mapping[str, pd.DataFrame],
    contrast: Contrast,
    inference: Inference,
) -> tuple[models.ModelResult, int]:
    """(model, persons left out for missing covariates) for one declared contrast."""
    t = times.loc[times["project"].isin([contrast.baseline, contrast.other])]
    pair = [frames[contrast.baseline], frames[contrast.other]]
    # only the columns the model frame and the model read
    wanted = ["client_id", *_MODEL_FRAME_COLUMNS, *inference.covariates]
    keep = [c for c in dict.fromkeys(wanted) if c in pair[0].columns]
    cov = pd.concat([f[keep] for f in pair], ignore_index=True)
    cov, _ = cv.model_frame(cov.drop_duplicates("client_id"))
    covariates = [c for c in inference.covariates if c in cov.columns]
    # the persons with covariates, in the order of times (an inner join on client_id)
    at = lookup(t["client_id"], cov["client_id"])
    rows = np.flatnonzero(at >= 0)
    data = t[["client_id", "project", "time", "status"]].iloc[rows].reset_index(drop=True)
    for c in covariates:
        data[c] = take(cov[c], at[rows])
    left_out = len(t) - len(data)
    result = models.cox(
        data,
        "time",
        "status",
        ["project", *covariates],
        cause=1,
        reference={**REFERENCE, "project": contrast.baseline},
        min_epv=inference.min_events_per_parameter,
    )
    return result, left_out


def project_ratio(result: models.ModelResult, other: str) -> dict | None:
    """The project term's hazard ratio row (estimate, ci_low, ci_high, p_value), if fitted."""
    if not result.ok:
        return None
    row = result.table.loc[result.table["term"] == f"project: {other}"]
    return (
        None if row.empty else row.iloc[0][["estimate", "ci_low", "ci_high", "p_value"]].to_dict()
    )
