"""Conversion tables as a funder sees them: small counts withheld, rates as percentages."""

from __future__ import annotations

import pandas as pd

from evaluation.analysis.conversion import SUBGROUPS
from evaluation.analysis.models import ModelResult, show_table
from evaluation.analysis.rates import wilson
from evaluation.report.conversion_text import model_sentence

NO_DENOMINATOR = "— (no one in the denominator)"


def _pct_cells(df: pd.DataFrame) -> pd.DataFrame:
    """Rate and interval as text. A share of nobody (N = 0) prints '—' with that reason, never
    'nan'; a share given without an interval gets its Wilson interval from n and N."""
    out = df.copy()
    rates, cis = [], []
    for n, N, e, lo, hi in zip(
        df["n"], df["N"], df["estimate"], df["ci_low"], df["ci_high"], strict=True
    ):
        if pd.isna(N) or int(N) <= 0 or pd.isna(e):
            rates.append("—")
            cis.append(NO_DENOMINATOR)
            continue
        if pd.isna(lo) or pd.isna(hi):
            w = wilson(int(n), int(N))
            lo, hi = w.ci_low, w.ci_high
        rates.append(f"{100 * e:.1f} %")
        cis.append(f"{100 * lo:.1f}–{100 * hi:.1f} %")
    out["rate"] = rates
    out["95 % CI"] = cis
    return out


def _joint():
    """The joint disclosure decision of this pipeline run (publish.view), or None outside one."""
    from evaluation.publish.view import current

    return current()


def _joint_legend(table: pd.DataFrame, threshold: int) -> str:
    from evaluation.publish.gate import MARK
    from evaluation.publish.view import legend

    return legend(threshold) if (table.astype(str) == MARK).to_numpy().any() else ""


def publishable_subgroups(
    table: pd.DataFrame, threshold: int = 5, project: str | None = None
) -> tuple[pd.DataFrame, str]:
    """Subgroup rates for funders: small counts hidden per variable, with secondary suppression.

    In a pipeline run, with `project` given, every count is looked up in the joint decision
    (publish.view), so the table shows exactly what every other artefact shows. Otherwise each
    variable is one one-way table (groups × returned / not returned, with public totals),
    protected by publish.disclosure.suppress_table; rates and intervals of hidden counts are
    withheld. Returns the display table and the legend sentence to print under it.
    """
    from evaluation.publish.disclosure import DisclosureError
    from evaluation.publish.disclosure import legend as legend_for
    from evaluation.publish.suppress import suppress_table

    parts, legend = [], legend_for(threshold)
    if table.empty:  # e.g. every client left out of a model for missing covariates
        cols = ["label", "group", "n", "N", "rate", "95 % CI"]
        return pd.DataFrame(columns=cols), "No client has values for these groups."
    view = _joint()
    if view is not None and project is not None:
        from evaluation.publish.gate import subgroups_shown

        for var, g in table.groupby("variable", sort=False):
            total = {"variable": var, "label": g["label"].iloc[0], "group": "All",
                     "n": int(g["n"].sum()), "N": int(g["N"].sum())}  # fmt: skip
            w = wilson(total["n"], total["N"])
            total.update(estimate=w.estimate, ci_low=w.ci_low, ci_high=w.ci_high)
            df = _pct_cells(pd.concat([g, pd.DataFrame([total])], ignore_index=True))
            df = df[["variable", "label", "group", "n", "N", "rate", "95 % CI"]].astype(object)
            shown = subgroups_shown(df, view, project).drop(columns=["variable"])
            shown["label"] = SUBGROUPS.get(str(var), str(var))
            parts.append(shown)
        out = pd.concat(parts, ignore_index=True)
        return out, _joint_legend(out, view.threshold)
    for var, g in table.groupby("variable", sort=False):
        df = _pct_cells(g)
        df["not"] = df["N"] - df["n"]
        df = df[["label", "group", "n", "not", "N", "rate", "95 % CI"]].reset_index(drop=True)
        try:
            st = suppress_table(
                df,
                ["n", "not", "N"],
                threshold=threshold,
                row_total="N",
                rate_pairs=[("n", "N", ["rate", "95 % CI"])],
                total_label="All",
            )
        except DisclosureError:
            withheld = "(all groups withheld: too few clients to publish safely)"
            shown = pd.DataFrame([{"group": withheld, "n": "x", "N": "x", "rate": "x"}])
            shown["label"], shown["95 % CI"], shown["not"] = "", "x", "x"
            shown = shown[df.columns]
        else:
            shown = st.table.copy()
            legend = st.legend
            shown.loc[shown["label"] == "All", "group"] = "All"
        shown["label"] = SUBGROUPS.get(str(var), str(var))
        parts.append(shown.drop(columns=["not"]))
    return pd.concat(parts, ignore_index=True), legend


def publishable_steps(
    steps: pd.DataFrame, threshold: int = 5, project: str | None = None
) -> tuple[pd.DataFrame, str]:
    """Funnel or chain steps for funders: n withheld where n or N − n is below the threshold.

    In a pipeline run, with `project` given, the funnel (per project or per cohort) shows what
    the joint decision shows (publish.view): no table-by-table suppression of ledger cells."""
    from evaluation.publish.disclosure import DisclosureError
    from evaluation.publish.suppress import suppress_table

    df = _pct_cells(steps)
    keep = [c for c in ("cohort", "step") if c in df] + ["n", "N", "rate", "95 % CI", "of"]
    view = _joint()
    if view is not None and project is not None:
        from evaluation.publish.gate import steps_shown

        out = steps_shown(df[keep].reset_index(drop=True).astype(object), view, project)
        return out, _joint_legend(out, view.threshold)
    for split in (True, False):  # plain 'x' markers reveal less, so fewer cells must be hidden
        try:
            st = suppress_table(
                df[keep].reset_index(drop=True),
                ["n", "N"],
                threshold=threshold,
                total_row=False,
                public_totals=True,
                rate_pairs=[("n", "N", ["rate", "95 % CI"])],
                split_markers=split,
            )
            return st.table, st.legend
        except DisclosureError:
            continue
    # e.g. a single client: every count could be worked out from the others whatever is hidden
    withheld = df[keep].reset_index(drop=True).astype(object)
    withheld[["n", "N", "rate", "95 % CI"]] = "x"
    return withheld, (
        f"x: withheld, the counts are too small (fewer than {threshold}) to publish any of "
        "them safely."
    )


def publishable_horizons(horizons: pd.DataFrame, project: str) -> pd.DataFrame:
    """Cumulative incidence at the plan's horizons as the joint decision shows it (returns by
    each horizon, numbers still followed, estimates); unchanged outside a pipeline run."""
    view = _joint()
    if view is None:
        return horizons
    from evaluation.publish.gate import horizons_shown

    return horizons_shown(horizons.astype(object), view, project)


def cohort_table(
    cohorts: pd.DataFrame, follow: pd.DataFrame, horizon: float, threshold: int = 5
) -> pd.DataFrame:
    """The headline cohort steps (publishable_steps output, column cohort) with each cohort's
    potential follow-up from analysis.estimands.cohort_follow_up: shortest and median months,
    and how many could be followed to the primary `horizon` ('< threshold' for small counts).
    Potential follow-up of a cohort with fewer than `threshold` people is withheld; in a
    pipeline run what the joint decision withholds (publish.gate_conversion) is withheld."""
    view = _joint()
    if view is not None:
        return _joint_cohort_table(cohorts, follow, horizon, view)
    f = follow.set_index("cohort")
    small = (f["N"] > 0) & (f["N"] < threshold)
    reach = f[f"followable_{horizon:g}m"]
    cols = {
        "potential follow-up (months, shortest–median)": [
            "x" if s else f"{lo:.1f}–{med:.1f}"
            for s, lo, med in zip(small, f["potential_min"], f["potential_median"], strict=True)
        ],
        f"could be followed {horizon:g} months": [
            "x" if s else (f"< {threshold}" if 0 < n < threshold else str(int(n)))
            for s, n in zip(small, reach, strict=True)
        ],
    }
    extra = pd.DataFrame(cols, index=f.index)
    return cohorts.join(extra, on="cohort")


def _joint_cohort_table(cohorts, follow, horizon, view) -> pd.DataFrame:
    from evaluation.publish.gate_conversion import follow_up_shown
    from evaluation.publish.view import MARK

    f = follow_up_shown(follow, view).set_index("cohort")
    col = f"followable_{horizon:g}m"
    cols = {
        "potential follow-up (months, shortest–median)": [
            MARK if MARK in (lo, med) else f"{float(lo):.1f}–{float(med):.1f}"
            for lo, med in zip(f["potential_min"], f["potential_median"], strict=True)
        ],
        f"could be followed {horizon:g} months": [
            MARK if n == MARK else str(int(n)) for n in f[col]
        ],
    }
    return cohorts.join(pd.DataFrame(cols, index=f.index), on="cohort")


def publishable_follow_up(follow: pd.DataFrame, threshold: int = 5) -> pd.DataFrame:
    """analysis.estimands.cohort_follow_up for the results file: a cohort of 1 to threshold − 1
    people has its count and follow-up withheld ('x'), and so has any count to a horizon that
    is 1 to threshold − 1. In a pipeline run the joint decision decides instead."""
    view = _joint()
    if view is not None:
        from evaluation.publish.gate_conversion import follow_up_shown

        return follow_up_shown(follow, view)
    out = follow.astype(object).copy()
    counts = [c for c in follow if c.startswith("followable_")]
    small = (follow["N"] > 0) & (follow["N"] < threshold)
    out.loc[small, ["N", "potential_min", "potential_median", *counts]] = "x"
    for c in counts:
        out.loc[(follow[c] > 0) & (follow[c] < threshold), c] = "x"
    return out


def publishable_chain(steps: pd.DataFrame, threshold: int = 5) -> tuple[pd.DataFrame, str]:
    """Chain steps for funders: like publishable_steps, and a step's N (the previous step's n)
    plus its rate are hidden whenever the previous step's n is hidden. In a pipeline run the
    chain's cells are ledger cells (the last two rows count the same returnees) and the table
    shows what the joint decision shows."""
    view = _joint()
    if view is not None:
        from evaluation.publish.gate import chain_shown

        df = _pct_cells(steps)[["step", "n", "N", "rate", "95 % CI", "of"]]
        out = chain_shown(df.reset_index(drop=True).astype(object), view)
        return out, _joint_legend(out, view.threshold)
    table, legend = publishable_steps(steps, threshold)
    table = table.astype(object)
    for i in range(1, min(3, len(table))):
        if str(table.loc[i - 1, "n"]) in {"x", f"<{threshold}"}:
            table.loc[i, ["N", "rate", "95 % CI"]] = "x"
    return table, legend


def _model_descriptives(result: ModelResult) -> pd.DataFrame:
    """The descriptive table unmasked, with an 'All' row per covariate (as publishable_model
    prints it), for the joint decision to mask."""
    d = result.descriptives.rename(columns={"level": "group"})
    n_col = "n" if result.kind == "logistic" else "events"
    parts = []
    for var, g in d.groupby("variable", sort=False):
        total = {
            "variable": var,
            "group": "All",
            n_col: int(g[n_col].sum()),
            "N": int(g["N"].sum()),
        }
        parts.append(pd.concat([g, pd.DataFrame([total])], ignore_index=True))
    df = pd.concat(parts, ignore_index=True) if parts else d
    df = df.assign(n=df[n_col], estimate=df[n_col] / df["N"], ci_low=float("nan"),
                   ci_high=float("nan"))  # fmt: skip
    df = _pct_cells(df)
    df["covariate"] = [SUBGROUPS.get(str(v), str(v)) for v in df["variable"]]
    if result.kind == "logistic":
        return df[["covariate", "group", "n", "N", "rate", "95 % CI"]]
    out = df[["covariate", "group", "events", "N", "rate"]]
    return out.rename(columns={"rate": "share with event"})


def publishable_model(
    result: ModelResult, threshold: int = 5, project: str | None = None
) -> pd.DataFrame:
    """The table a funder sees: fitted ratios, or descriptives with small counts withheld. In a
    pipeline run, with `project` given, the joint decision decides (publish.gate_conversion):
    the counts are ledger cells linked to the subgroup tables, and a level's ratio is shown
    only when its counts are."""
    view = _joint()
    if view is not None and project is not None:
        from evaluation.publish.gate_conversion import model_shown

        table = show_table(result) if result.ok else _model_descriptives(result)
        return model_shown(table.astype(object), view, project)
    if result.ok:
        return show_table(result)

    d = result.descriptives
    if result.kind == "logistic":
        sub = d.rename(columns={"level": "group"}).assign(label=d["variable"])
        shown, _ = publishable_subgroups(sub, threshold)
        return shown.rename(columns={"label": "covariate"})
    sub = d.rename(columns={"level": "group", "events": "n"}).assign(label=d["variable"])
    sub["estimate"] = sub["n"] / sub["N"]
    sub["ci_low"] = sub["ci_high"] = float("nan")
    shown, _ = publishable_subgroups(sub, threshold)
    shown = shown.drop(columns=["95 % CI"]).rename(
        columns={"label": "covariate", "n": "events", "rate": "share with event"}
    )
    return shown


def model_counts_shown(result: ModelResult, project: str | None) -> bool:
    """Does the joint decision show the model's N and events (True outside a pipeline run)?"""
    view = _joint()
    if view is None or project is None:
        return True
    from evaluation.publish.gate_conversion import model_shown

    n_col = "n" if result.kind == "logistic" else "events"
    row = pd.DataFrame([{"covariate": "", "group": "All", n_col: result.events, "N": result.n}])
    shown = model_shown(row.astype(object), view, project)
    return str(shown.loc[0, n_col]) != "x" and str(shown.loc[0, "N"]) != "x"


def rows_shown(result: ModelResult, project: str | None) -> list[bool] | None:
    """Per row of the model's figure (result.table when fitted, else result.descriptives),
    whether the joint decision shows it, as in the table publishable_model prints; None
    outside a pipeline run."""
    view = _joint()
    if view is None or project is None:
        return None
    from evaluation.publish.gate_conversion import model_shown

    if result.ok:
        shown = model_shown(show_table(result).astype(object), view, project)
        return [str(x) != "x" for x in shown[result.ratio_name]]
    shown = model_shown(_model_descriptives(result).astype(object), view, project)
    # _model_descriptives keeps the descriptive rows in order, with an 'All' row after each
    # covariate's levels
    rows, i = [], 0
    for _, g in result.descriptives.groupby("variable", sort=False):
        rows.extend(range(i, i + len(g)))
        i += len(g) + 1
    return [str(shown.loc[j, "rate"]) != "x" for j in rows]


def left_out_text(left_out: int, project: str | None = None) -> str:
    """'N clients' left out of the models, or a withheld number (the joint decision)."""
    view = _joint()
    if view is None or project is None:
        return f"{left_out} clients"
    k = f"{project}/model_n~rest"
    shown = k in view.values and view.values[k] == left_out and view.decision.shown(k)
    return f"{left_out} clients" if shown or left_out == 0 else "Some clients (number withheld)"


def model_tables(
    results: list[ModelResult],
    threshold: int = 5,
    outcome: str | None = None,
    project: str | None = None,
) -> list[tuple[str, pd.DataFrame | None]]:
    """(heading sentence, table) per model, as a funder reads them: when no model could be
    trusted, the descriptive rates (the same people, the same covariates) are shown once, after
    every model's reason, instead of once per model. `outcome` is the outcome column the models
    explain ('returned', 'referred'); by default the logistic model's."""
    names = {"logistic": "Logistic regression", "cox": "Cause-specific Cox model"}
    out: list[tuple[str, pd.DataFrame | None]] = []
    descriptive: pd.DataFrame | None = None
    logistic = next((r.outcome for r in results if r.kind == "logistic"), "returned")
    for res in results:
        sentence = model_sentence(
            res, outcome or logistic, counts_shown=model_counts_shown(res, project)
        )
        title = f"**{names.get(res.kind, res.kind)}.** {sentence}"
        if res.ok:
            out.append((title, publishable_model(res, threshold, project)))
        else:
            out.append((title, None))
            if descriptive is None:
                descriptive = publishable_model(res, threshold, project)
    if descriptive is not None:
        out.append(("**Descriptive rates by covariate** (no model could be trusted).", descriptive))
    return out
