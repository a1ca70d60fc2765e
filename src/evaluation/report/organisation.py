"""The organisation and its network (staff, support points, results per support point) and the
AMIF common indicators."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

STAFF = (
    "vwn.support_points",
    "vwn.volunteers",
    "vwn.counsellors",
    "vwn.origin_country_consultants",
    "vwn.regional_project_leaders",
    "vwn.focus_countries",
    "vwn.return_org_agreements",
)


def staff_table(figures: pd.DataFrame) -> pd.DataFrame:
    """The published figures on the organisation and network, with their source and notes."""
    f = figures.set_index("figure_id")
    rows = [
        {
            "Figure": f.at[k, "indicator"],
            "Number": int(float(f.at[k, "value"])),
            "Source section": f.at[k, "source_section"],
            "Note": f.at[k, "note"],
        }
        for k in STAFF
        if k in f.index
    ]
    return pd.DataFrame(rows)


def network_sentence(figures: pd.DataFrame) -> str:
    """Partner countries and Dutch return organisations as published (names from the notes)."""
    f = figures.set_index("figure_id")
    parts = []
    if "vwn.focus_countries" in f.index:
        parts.append(
            f"The focus countries with partner organisations were "
            f"{f.at['vwn.focus_countries', 'note']}."
        )
    if "vwn.return_org_agreements" in f.index:
        parts.append(
            f"Cooperation agreements linked VluchtelingenWerk to the Dutch return "
            f"organisations {f.at['vwn.return_org_agreements', 'note']}."
        )
    return " ".join(parts)


def support_point_results(
    tables: Mapping[str, pd.DataFrame],
    projects: Sequence[str],
    threshold: int = 5,
    frames: Mapping[str, pd.DataFrame] | None = None,
) -> tuple[pd.DataFrame, str]:
    """Per support point: clients enrolled in the return projects and those who returned,
    after small-cell suppression (evaluation.publish.disclosure); (table, legend). frames:
    the projects' client frames as their conversion notebooks stored them (computed from the
    tables for a project without one)."""
    from evaluation.analysis import conversion as cv
    from evaluation.analysis.client_groups import take
    from evaluation.data.membership import lookup
    from evaluation.publish import disclosure, suppress

    frames = frames or {}
    rows = []
    for p in projects:
        if cv.nothing_to_evaluate(tables, p) is not None:
            continue
        frame = frames[p] if p in frames else cv.client_frame(tables, p, kind="return")
        enr = tables["enrolments"]
        first = (
            enr[enr["project"] == p]
            .sort_values("enrolment_date")
            .drop_duplicates("client_id")
            .set_index("client_id")["support_point"]
        )
        at = lookup(frame["client_id"], first.index)  # first.map, by Arrow look-up
        frame = frame.assign(support_point=take(first, at).astype("str").to_numpy())
        rows.append(frame[["support_point", "returned"]])
    if not rows:
        return pd.DataFrame(), "No return project has enrolments in the case records."
    data = pd.concat(rows, ignore_index=True)
    g = data.groupby("support_point")["returned"].agg(["sum", "size"]).reset_index()
    df = pd.DataFrame(
        {
            "Support point": g["support_point"],
            "Returned": g["sum"].astype(int),
            "Not returned": (g["size"] - g["sum"]).astype(int),
            "Enrolled": g["size"].astype(int),
        }
    )
    df["Return rate (%)"] = (100 * df["Returned"] / df["Enrolled"]).round(1)
    from evaluation.publish.view import current

    view = current()
    if view is not None:  # the joint decision: the same cells as every other artefact
        from evaluation.publish.gate import MARK, support_points_shown
        from evaluation.publish.view import legend

        used = [p for p in projects if cv.nothing_to_evaluate(tables, p) is None]
        total = df[["Returned", "Not returned", "Enrolled"]].sum()
        rate = round(100 * total.iloc[0] / total.iloc[2], 1)
        df.loc[len(df)] = ["Total", *total.astype(int), rate]
        shown = support_points_shown(df.astype(object), view, ",".join(used))
        hidden = (shown.astype(str) == MARK).to_numpy().any()
        return shown, legend(view.threshold) if hidden else ""
    st = None
    for split in (True, False):
        try:
            st = suppress.suppress_table(
                df,
                ["Returned", "Not returned", "Enrolled"],
                threshold=threshold,
                rate_pairs=[("Returned", "Enrolled", "Return rate (%)")],
                row_total="Enrolled",
                split_markers=split,
            )
            break
        except disclosure.DisclosureError:
            continue
    if st is None:
        return pd.DataFrame(), (
            f"Withheld: the counts per support point are too small "
            f"(fewer than {threshold}) to publish safely."
        )
    return st.table, st.legend


def support_points_shown(table: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """The support-point table as people read it: the points whose return rate is published,
    then the total when it is; the other points in one sentence, with their enrolments where
    those are published. (table, sentence). No cell is added: a combined 'other points' row
    would be a count the disclosure ledger never checked."""
    from evaluation.report.presentation import value_labels

    if table.empty:
        return table, ""

    def shown(v: object) -> bool:
        return str(v).strip() not in ("x", "<5", "", "nan")

    total = table["Support point"].astype(str) == "Total"
    rated = table["Return rate (%)"].map(shown)
    kept = table[rated & ~total]
    if bool((total & table["Enrolled"].map(shown)).any()):
        kept = pd.concat([kept, table[total]])
    rest = table[~rated & ~total]
    if rest.empty:
        return kept.reset_index(drop=True), ""
    labels = value_labels()
    name = lambda code: labels.get(str(code), str(code))  # noqa: E731
    counted = [f"{r['Enrolled']} at {name(r['Support point'])}" for _, r in rest.iterrows()
               if shown(r["Enrolled"])]  # fmt: skip
    hidden = [name(r["Support point"]) for _, r in rest.iterrows() if not shown(r["Enrolled"])]
    parts = [
        f"At {len(rest)} further support points the returns are withheld (too few, or they "
        "would reveal a withheld count), so the table leaves them out."
    ]
    if counted:
        parts.append(f"Clients they enrolled: {_and(counted)}.")
    if hidden:
        parts.append(f"At {_and(hidden)} the enrolments are withheld too.")
    return kept.reset_index(drop=True), " ".join(parts)


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


# --------------------------------------------------------------------------- AMIF


def amif_table(tables: Mapping[str, pd.DataFrame], projects: Sequence[str]) -> pd.DataFrame:
    """AMIF common indicators per return project, in persons (analysis.amif)."""
    from evaluation.analysis.amif import amif_counts

    rows = []
    for p in projects:
        c = amif_counts(tables, p)
        rows.append(
            {
                "Project": p,
                "Persons enrolled": c.enrolled,
                "Persons who returned voluntarily": c.returned,
                "Persons who received reintegration assistance": c.assisted,
            }
        )
    return pd.DataFrame(rows)


def amif_shown(table: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """(the AMIF table as the joint disclosure decision shows it in a pipeline run, the legend
    under it when a cell is withheld)."""
    from evaluation.publish import view

    v = view.current()
    if v is None:
        return table, ""
    from evaluation.publish.gate import TABLES

    shown = TABLES["amif"](table, v, "")
    withheld = (shown.astype(str) == "x").to_numpy().any()
    return shown, view.legend(v.threshold) if withheld else ""
