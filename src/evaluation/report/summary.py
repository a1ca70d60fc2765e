"""Cross-project report parts: headline and conclusion sentences, validation summary, the
reconciliation of published figures, the network, AMIF indicators and provenance.

The summary notebook runs beside the per-project notebooks (not after them), so it recomputes
its headline numbers from the case data with the same library functions they use.
"""

from __future__ import annotations

import platform
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from evaluation.analysis.rates import Difference, Rate
from evaluation.hashing import file_sha256

PACKAGES = (
    "pandas",
    "numpy",
    "scipy",
    "statsmodels",
    "matplotlib",
    "pandera",
    "papermill",
    "nbformat",
    "pyarrow",
    "pyyaml",
)
WIDE = 0.20  # an interval wider than 20 percentage points is called imprecise in the text
STAFF = (
    "vwn.support_points",
    "vwn.volunteers",
    "vwn.counsellors",
    "vwn.origin_country_consultants",
    "vwn.regional_project_leaders",
    "vwn.focus_countries",
    "vwn.return_org_agreements",
)


@dataclass(frozen=True)
class Headline:
    """The key numbers of one project, recomputed from the case records."""

    project: str
    kind: str
    return_rate: Rate | None
    referral_rate: Rate | None = None
    durable_complete: Rate | None = None
    durable_worst: Rate | None = None
    durable_best: Rate | None = None
    nothing: str | None = None  # why there is nothing to evaluate (no enrolments), else None


def _pct(x: float) -> str:
    return f"{100 * x:.1f} %"


def _points(x: float) -> str:
    return f"{100 * x:+.1f}"


# --------------------------------------------------------------------------- headline numbers


def headline(
    tables: Mapping[str, pd.DataFrame],
    project: str,
    kind: str,
    cutoff=None,
    grace_days: int = 0,
    deaths_leave: bool = False,
) -> Headline:
    """Return (and for ENH referral) rate, and 12-month durability three ways, for a project
    (grace_days, deaths_leave: the plan's handling of monitoring windows and deaths)."""
    from evaluation.analysis import attrition, monitoring_windows
    from evaluation.analysis import conversion as cv

    nothing = cv.nothing_to_evaluate(tables, project)
    if nothing is not None:
        return Headline(project, kind, None, nothing=nothing)
    frame = cv.client_frame(tables, project, kind=kind)
    ret = cv.rate(frame, "returned")
    if kind == "counselling":
        return Headline(project, kind, ret, referral_rate=cv.rate(frame, "referred"))
    follow = monitoring_windows.follow_up(
        tables["monitoring"],
        monitoring_windows.returnees(dict(tables), project),
        cutoff=cutoff,
        grace_days=grace_days,
        deaths_leave=deaths_leave,
    )
    b = attrition.durability_bounds(follow, "m12")
    return Headline(project, kind, ret, None, b.complete, b.worst, b.best)


def headline_metrics(heads: Sequence[Headline]) -> dict[str, object]:
    """Metric fragment (summary.<project>.<name>) for every number the summary sentences use."""
    out: dict[str, object] = {}
    for h in heads:
        k = f"summary.{h.project.lower()}"
        if h.nothing is not None:
            out[f"{k}.nothing_to_evaluate"] = {"reason": h.nothing}
            continue
        out[f"{k}.return_rate"] = h.return_rate
        for name in ("referral_rate", "durable_complete", "durable_worst", "durable_best"):
            r = getattr(h, name)
            if r is not None:
                out[f"{k}.{name}_12m" if name.startswith("durable") else f"{k}.{name}"] = r
    return out


def _said(r: Rate, threshold: int) -> str:
    from evaluation.publish.disclosure import describe_rate

    return describe_rate(r, threshold)


def conversion_sentence(heads: Sequence[Headline], threshold: int = 5) -> str:
    """Executive-summary paragraph on conversion, from the case records of every project."""
    bits = [h.nothing for h in heads if h.nothing is not None]
    for h in heads:
        if h.referral_rate is not None:
            bits.append(
                f"In {h.project}, {_said(h.referral_rate, threshold)} of the clients "
                f"counselled were referred to a return organisation."
            )
    ret = [h for h in heads if h.kind == "return" and h.return_rate is not None]
    if ret:
        bits.append(
            "The share of enrolled clients who returned with a verified departure was "
            + "; ".join(f"{_said(h.return_rate, threshold)} in {h.project}" for h in ret)
            + "."
        )
    return " ".join(bits) or "No project in the configuration has case records."


def _share(r: Rate, threshold: int) -> str:
    """'43.1 %', or 'withheld' when the rate with its public N would reveal a small count."""
    from evaluation.publish.disclosure import is_withheld

    if is_withheld(r.n, r.N, threshold):
        return f"withheld (fewer than {threshold} either way)"
    return _pct(r.estimate)


def durability_sentence(heads: Sequence[Headline], threshold: int = 5) -> str:
    """Executive-summary paragraph on durability at 12 months, with the loss-to-follow-up bounds."""
    bits = []
    for h in heads:
        if h.kind != "return" or h.durable_worst is None:
            continue
        cc = (
            _said(h.durable_complete, threshold)
            if h.durable_complete is not None
            else "not estimable (no returnee with known residence)"
        )
        bits.append(
            f"{h.project}: of the returnees whose residence was known at 12 months, the share "
            f"still in the country of return was {cc}; counting everyone not reached as having "
            f"left (worst case) gives {_share(h.durable_worst, threshold)}, counting them as "
            f"having stayed (best case) {_share(h.durable_best, threshold)}."
        )
    return " ".join(bits) or "No return project had returnees due for the 12-month contact."


def _precision(r: Rate) -> str:
    if r.ci_high - r.ci_low > WIDE:
        return (
            f"imprecise: the data are consistent with any value from {_pct(r.ci_low)} "
            f"to {_pct(r.ci_high)}"
        )
    return f"reasonably precise ({_pct(r.ci_low)} to {_pct(r.ci_high)})"


def comparisons(
    tables: Mapping[str, pd.DataFrame], pairs: Sequence[tuple[str, str]], carry_over: str
) -> list[tuple[str, str, Difference]]:
    """(baseline, other, Newcombe difference other − baseline in the crude return share) per
    pair of projects with case records, each person counted once (analysis.comparison
    .person_comparisons; carry_over: the plan's rule), so the samples are independent."""
    from evaluation.analysis import conversion as cv
    from evaluation.analysis.comparison import person_comparisons

    enrolled = set(tables["enrolments"]["project"])
    pairs = [(b, o) for b, o in pairs if b in enrolled and o in enrolled]
    if not pairs:
        return []
    projects = list(dict.fromkeys(p for pair in pairs for p in pair))
    frames = {p: cv.client_frame(tables, p, kind="return") for p in projects}
    spec = ",".join(f"{b}:{o}" for b, o in pairs)
    _, comps = person_comparisons(frames, tables["enrolments"], spec, carry_over)
    return [(c.baseline, c.other, c.difference) for c in comps if c.independent]


def primary_contrasts(tables: Mapping[str, pd.DataFrame], cfg, plan) -> list:
    """The plan's contrasts on the primary return estimand at every horizon (CifDifference),
    recomputed here with the same library calls as the comparison notebook."""
    from evaluation.analysis import contrasts, estimands

    enrolled = set(tables["enrolments"]["project"].astype("str").str.upper())
    ends = {p.id: p.end for p in cfg.projects if p.kind == "return" and p.id.upper() in enrolled}
    declared = plan.contrasts_for(tuple(ends))
    if not declared:
        return []
    cutoffs = {p.id: getattr(p, "cutoff", None) or cfg.cutoff for p in cfg.projects}
    person = estimands.person_times(tables, ends, cutoffs, plan.return_)
    return [
        contrasts.cif_difference(person, c.baseline, c.other, h, plan.inference)
        for c in declared
        for h in plan.return_.horizons
    ]


def conclusions(
    heads: Sequence[Headline],
    diffs: Sequence[tuple[str, str, Difference]],
    threshold: int = 5,
    contrasts: Sequence = (),
    plan=None,
) -> str:
    """Conclusions that follow from the numbers, hedged where intervals are wide.

    Project differences are judged on the plan's primary estimand (contrasts: CifDifference
    at the horizons, plan: the analysis plan); crude shares are described, never used to
    claim that projects do not differ.
    """
    items = []
    for h in heads:
        r = h.referral_rate if h.kind == "counselling" else h.return_rate
        what = "referral" if h.kind == "counselling" else "return"
        if r is None or r.N == 0:
            continue
        items.append(
            f"- **{h.project} {what} rate.** {_pct(r.estimate)} ({r.n} of {r.N}); "
            f"the estimate is {_precision(r)}."
        )
    for base, other, d in diffs:
        lo, hi = d.ci_low, d.ci_high
        verdict = (
            f"The crude share returned of all enrolled (each person counted once, in the "
            f"project of first enrolment) differed by {_points(d.estimate)} "
            f"percentage points (95 % CI {_points(lo)} to {_points(hi)}). This is a description "
            f"only: clients who enrolled late could not be followed as long, so crude shares "
            f"are not compared as evidence"
            + (
                "; an interval that includes zero does not show the projects are alike"
                if lo <= 0 <= hi
                else ""
            )
        )
        items.append(f"- **{other} compared with {base}, crude shares.** {verdict}.")
    if plan is not None:
        from evaluation.report.estimand_text import conclusion_items

        items += conclusion_items(list(contrasts), plan)
    for h in heads:
        if h.kind != "return" or h.durable_worst is None or h.durable_best is None:
            continue
        gap = h.durable_best.estimate - h.durable_worst.estimate
        worst, best = _share(h.durable_worst, threshold), _share(h.durable_best, threshold)
        if gap > WIDE:
            text = (
                f"Whether returns lasted cannot be settled from these records: the share "
                f"still in the country at 12 months lies between {worst} (all not reached "
                f"left) and {best} (all stayed), because many returnees were not reached"
            )
        else:
            text = (
                f"Between {worst} and {best} of returnees were still in the country at "
                f"12 months, whatever happened to those not reached"
            )
        items.append(f"- **{h.project} durability.** {text}.")
    items += [f"- **{h.project}.** {h.nothing}" for h in heads if h.nothing is not None]
    if not items:
        return "No conclusion can be drawn: no project has case records."
    return "\n".join(items)


# --------------------------------------------------------------------------- data and methods

_ROW = re.compile(r"^\|\s*(\w+)\s*\|\s*(\d+)\s*\|\s*(\d+)\s*\|\s*(\d+)\s*\|\s*$")


def validation_summary(data_dir: str | Path, tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Per table: rows read, errors and warnings from <data_dir>/validation.md (written by
    prepare); rows recounted from the prepared tables where the report lacks a table."""
    found: dict[str, tuple[int, int, int]] = {}
    report = Path(data_dir) / "validation.md"
    if report.is_file():
        for line in report.read_text(encoding="utf-8").splitlines():
            m = _ROW.match(line)
            if m:
                found[m.group(1)] = (int(m.group(2)), int(m.group(3)), int(m.group(4)))
    rows = []
    for name in sorted(set(found) | set(tables), key=lambda t: (t not in tables, t)):
        if name in found:
            n, err, warn = found[name]
            rows.append({"Table": name, "Rows": n, "Errors": err, "Warnings": warn})
        else:
            rows.append(
                {"Table": name, "Rows": len(tables[name]), "Errors": pd.NA, "Warnings": pd.NA}
            )
    out = pd.DataFrame(rows)
    total = {
        "Table": "Total",
        "Rows": int(out["Rows"].sum()),
        "Errors": pd.to_numeric(out["Errors"]).sum(min_count=1),
        "Warnings": pd.to_numeric(out["Warnings"]).sum(min_count=1),
    }
    return pd.concat([out, pd.DataFrame([total])], ignore_index=True)


def validation_sentence(summary: pd.DataFrame) -> str:
    """One sentence on the validation outcome (summary as from validation_summary)."""
    body, total = summary.iloc[:-1], summary.iloc[-1]
    errors = int(pd.to_numeric(pd.Series([total["Errors"]]), errors="coerce").fillna(0).iloc[0])
    warnings = int(pd.to_numeric(pd.Series([total["Warnings"]]), errors="coerce").fillna(0).iloc[0])
    return (
        f"All {len(body)} tables ({int(total['Rows'])} rows) were checked against "
        f"the data contract before analysis: {errors} errors and {warnings} warnings."
    )


def reconciliation(tables: Mapping[str, pd.DataFrame], figures: pd.DataFrame) -> pd.DataFrame:
    """Published figure beside the same count recomputed from the case records, flagged."""
    from evaluation.analysis.reconcile import reconciliation_table

    t = reconciliation_table(dict(tables), figures)
    return pd.DataFrame(
        {
            "Figure": t["indicator"],
            "Published": t["published"],
            "Recomputed": t["recomputed"],
            "Difference": t["difference"],
            "Check": t["match"].map({True: "matches", False: "DIFFERS"}),
        }
    )


def reconciliation_sentence(rec: pd.DataFrame) -> str:
    """How many published figures the case records reproduce, and which do not."""
    bad = rec[rec["Check"] != "matches"]
    if bad.empty:
        return (
            f"The case records reproduce all {len(rec)} published figures that can be "
            f"recounted from them (@tbl-reconciliation)."
        )
    return (
        f"The case records reproduce {len(rec) - len(bad)} of {len(rec)} published figures; "
        f"{len(bad)} differ and are flagged in @tbl-reconciliation: "
        + "; ".join(bad["Figure"])
        + "."
    )


# --------------------------------------------------------------------------- organisation


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
    tables: Mapping[str, pd.DataFrame], projects: Sequence[str], threshold: int = 5
) -> tuple[pd.DataFrame, str]:
    """Per support point: clients enrolled in the return projects and those who returned,
    after small-cell suppression (evaluation.publish.disclosure); (table, legend)."""
    from evaluation.analysis import conversion as cv
    from evaluation.publish import disclosure, suppress

    rows = []
    for p in projects:
        if cv.nothing_to_evaluate(tables, p) is not None:
            continue
        frame = cv.client_frame(tables, p, kind="return")
        enr = tables["enrolments"]
        first = (
            enr[enr["project"] == p]
            .sort_values("enrolment_date")
            .drop_duplicates("client_id")
            .set_index("client_id")["support_point"]
        )
        frame = frame.assign(support_point=frame["client_id"].map(first).astype("str"))
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


# --------------------------------------------------------------------------- AMIF


def amif_table(tables: Mapping[str, pd.DataFrame], projects: Sequence[str]) -> pd.DataFrame:
    """AMIF common indicators per return project, in persons (wording unverified).

    Returned voluntarily = distinct clients with a verified departure linked to the project;
    received reintegration assistance = distinct clients enrolled in the project with at
    least one support record.
    """
    from evaluation.analysis import monitoring_windows

    enr, sup = tables["enrolments"], tables["support"]
    rows = []
    for p in projects:
        enrolled = pd.Index(enr.loc[enr["project"] == p, "client_id"].unique())
        returned = monitoring_windows.returnees(dict(tables), p)["client_id"].nunique()
        assisted = enrolled.intersection(pd.Index(sup["client_id"].unique())).size
        rows.append(
            {
                "Project": p,
                "Persons enrolled": len(enrolled),
                "Persons who returned voluntarily": int(returned),
                "Persons who received reintegration assistance": int(assisted),
            }
        )
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- appendices

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*$")


def demote_headings(markdown: str) -> str:
    """Drop a leading H1 and turn other headings into bold lines, so an embedded document
    adds no sections (and no section numbers) to the report."""
    lines = markdown.strip().splitlines()
    if lines and lines[0].startswith("# "):
        lines = lines[1:]
    out = []
    for line in lines:
        m = _HEADING.match(line)
        out.append(f"**{m.group(2)}**" if m else line)
    return "\n".join(out).strip()


def dictionary_for_report() -> str:
    """The generated data dictionary, headings demoted, for the appendix."""
    from evaluation.report.dictionary import dictionary_markdown

    return demote_headings(dictionary_markdown())


def validation_details(data_dir: str | Path) -> str:
    """The prepare step's validation report without its title and row-count table (shown
    separately in the validation summary table)."""
    report = Path(data_dir) / "validation.md"
    if not report.is_file():
        return "_No validation report was found next to the prepared data._"
    kept = [
        ln
        for ln in report.read_text(encoding="utf-8").splitlines()
        if not ln.lstrip().startswith("|")
    ]
    return demote_headings("\n".join(kept))


# --------------------------------------------------------------------------- provenance


def projects_table(cfg) -> pd.DataFrame:
    """The configured projects and their periods (so years in the report come from results)."""
    return pd.DataFrame(
        [
            {
                "id": p.id,
                "name": p.name,
                "kind": p.kind,
                "start": str(p.start),
                "end": str(p.end),
                "start_year": p.start.year,
                "end_year": p.end.year,
            }
            for p in cfg.projects
        ]
    )


def provenance(inputs: Mapping[str, Path], parameters: Mapping[str, object]) -> pd.DataFrame:
    """What this evaluation was computed from: input hashes, parameters, versions, platform."""
    from importlib.metadata import PackageNotFoundError, version

    rows = []
    for name, path in inputs.items():
        files = [Path(path)]
        if Path(path).is_dir():
            files = sorted(
                p for p in Path(path).glob("*") if p.is_file() and not p.name.startswith(".")
            )
        for f in files:
            label = f"{name}/{f.name}" if Path(path).is_dir() else name
            rows.append(
                {"Section": "input (sha256, first 16)", "Item": label, "Value": file_sha256(f)[:16]}
            )
    for k, v in parameters.items():
        rows.append({"Section": "parameter", "Item": k, "Value": str(v)})
    rows.append({"Section": "version", "Item": "python", "Value": platform.python_version()})
    for pkg in PACKAGES:
        try:
            v = version(pkg)
        except PackageNotFoundError:
            v = "not installed"
        rows.append({"Section": "version", "Item": pkg, "Value": v})
    rows.append(
        {
            "Section": "platform",
            "Item": "system",
            "Value": f"{platform.system()} {platform.machine()}",
        }
    )
    return pd.DataFrame(rows)
