"""The attack a reader can make on everything the default build publishes: the checked cells
and their relations, the results CSVs (the conversion-side ones read by
tests/reader_conversion.py), metrics.json (percentages times N included) and the rendered
HTML. Numbers are mapped to cells the way a reader would, from file and column names; the
integer program is tests/adversary.py, written apart from publish.joint."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
from adversary import feasible_ranges
from reader_conversion import read_conversion
from reader_durability import read_durability
from textutil import html_text

THRESHOLD = 5
REPO = Path(__file__).resolve().parents[1]
APPROACH = {"complete": ("stayed", "known"), "worst": ("stayed", "due"),
            "best": ("stayed_or_unknown", "due")}  # fmt: skip


AMIF_READ = {"Persons enrolled": "enrolled", "Persons who returned voluntarily": "returnees",
             "Persons who received reintegration assistance": "assisted"}  # fmt: skip


def _num(x) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return None if v != v else v


def reader_view(build) -> tuple[dict, set, list, list[str]]:
    """(shown values, withheld keys, relations, conflicts) from the published files only."""
    res = build / "results"
    cells = pd.read_csv(res / "disclosure" / "checked_cells.csv", dtype=str)
    cells = cells[cells["kind"] == "count"]
    rel = pd.read_csv(res / "disclosure" / "relations.csv", dtype=str)
    sums = [(w, p.split(" + ")) for w, p in zip(rel["whole"], rel["parts"], strict=True)]
    sums = [(w, ps) for w, ps in sums if not w.endswith("amount_eur")]
    shown = {k: float(v) for k, v in zip(cells["key"], cells["value"], strict=True) if v != "x"}
    withheld = set(cells.loc[cells["value"] == "x", "key"])
    conflicts: list[str] = []

    def learn(key: str, value: float | None, where: str) -> None:
        if value is None:
            return
        value = round(value)
        if key in withheld or key not in shown:
            conflicts.append(f"{where}: {key} = {value}")
        shown.setdefault(key, value)

    for path in sorted(res.glob("*/durability_bounds.csv")):
        p = path.parent.name.upper()
        for _, r in pd.read_csv(path, dtype=str).iterrows():
            num, den = APPROACH[r["approach"]]
            w = r["window"]
            learn(f"{p}/{num}|window={w}", _num(r["n"]), path.name)
            learn(f"{p}/{den}|window={w}", _num(r["N"]), path.name)
            est, big = _num(r["estimate"]), _num(r["N"])
            if est is not None and big is not None:  # percentage times N
                learn(f"{p}/{num}|window={w}", est * big, path.name + " (share × N)")
    comp = res / "comparison" / "durability_comparison.csv"
    if comp.exists():
        for _, r in pd.read_csv(comp, dtype=str).iterrows():
            p = r["project"]
            for prefix, (approach, w) in {
                "staying_6m": ("complete", "m6"),
                "complete_12m": ("complete", "m12"),
                "worst_12m": ("worst", "m12"),
                "best_12m": ("best", "m12"),
            }.items():
                num, den = APPROACH[approach]
                learn(f"{p}/{num}|window={w}", _num(r[f"{prefix}_n"]), comp.name)
                learn(f"{p}/{den}|window={w}", _num(r[f"{prefix}_N"]), comp.name)
                e, big = _num(r[f"{prefix}_estimate"]), _num(r[f"{prefix}_N"])
                if e is not None and big is not None:
                    learn(f"{p}/{num}|window={w}", e * big, comp.name + " (share × N)")
    for path in sorted(res.glob("*/durability_km.csv")):
        p = path.parent.name.upper()
        km = pd.read_csv(path, dtype=str)
        if "months" in km and "at_risk" in km:  # the published monthly grid
            for _, r in km.iterrows():
                learn(f"{p}/km_at_risk|month={r['months']}", _num(r["at_risk"]), path.name)
    named = set(shown) | withheld
    checked = dict(shown)

    def learn_checked(key: str, value: float | None, where: str) -> None:
        """learn, and a printed count must be the checked cell's value."""
        if value is not None and key in checked and abs(checked[key] - round(value)) > 0:
            conflicts.append(f"{where}: {key} printed {round(value)}, checked {checked[key]}")
        learn(key, value, where)

    read_durability(res, learn)  # scores, shares, trajectory, curves by group, exits
    read_conversion(res, learn_checked, named)
    metrics = json.loads((res / "metrics.json").read_text())
    for name, v in metrics.items():
        if not isinstance(v, dict):
            continue
        head, _, what = name.rpartition(".")
        p = head.split(".")[-1].upper()
        for w, label in (("m6", "6m"), ("m12", "12m")):
            pairs = []
            if what in (f"staying_{label}", f"durable_complete_{label}"):
                pairs = [(v, *APPROACH["complete"])]
            elif what == f"durability_{label}":
                pairs = [(v[a], *APPROACH[a]) for a in APPROACH if v.get(a)]
            elif what in (f"durable_worst_{label}", f"durable_best_{label}"):
                pairs = [(v, *APPROACH[what.split("_")[1]])]
            elif what == f"reached_{label}":
                pairs = [(v, "reached", "due")]
            for r, num, den in pairs:
                learn(f"{p}/{num}|window={w}", _num(r.get("n")), name)
                learn(f"{p}/{den}|window={w}", _num(r.get("N")), name)
        if what.endswith("durability_12m_complete_difference"):
            a, b = head.split(".")[-1].split("_vs_")
            for q, n, big in zip((a, b), v["n"], v["N"], strict=True):
                learn(f"{q.upper()}/stayed|window=m12", n, name)
                learn(f"{q.upper()}/known|window=m12", big, name)
    # the rendered report: "n of N" next to a project's durability at 12 months
    text = html_text(build / "report" / "index.html")
    for m in re.finditer(r"at 12 months \((\w+)\): among returnees with a known residence"
                         r" \(complete cases\) [\d.]+ % \((\d+) of (\d+)", text):  # fmt: skip
        p, n, big = m.group(1), float(m.group(2)), float(m.group(3))
        learn(f"{p}/stayed|window=m12", n, "report")
        learn(f"{p}/known|window=m12", big, "report")
    for m in re.finditer(r"Monitoring partners reached the (\w+) returnees due in (.*?)\.(?: |$)",
                         text):  # fmt: skip
        for n, big, label in re.findall(r"(\d+) of (\d+)\) at (\d+) months", m.group(2)):
            learn(f"{m.group(1)}/reached|window=m{label}", float(n), "report")
            learn(f"{m.group(1)}/due|window=m{label}", float(big), "report")
    amif = res / "summary" / "amif.csv"  # AMIF indicators: persons per return project
    if amif.exists():
        for _, r in pd.read_csv(amif, dtype=str).iterrows():
            for col, what in AMIF_READ.items():
                learn(f"{r['Project']}/{what}", _num(r[col]), amif.name)
    # the survival sentence of each return project, in the report's order (MOH1, MOH2)
    sentences = [t for t in text.split("Kaplan–Meier estimate of still being in the country")
                 if re.match(r" of return \d+ months after return:", t)]  # fmt: skip
    for p, sentence in zip(("MOH1", "MOH2"), sentences, strict=True):
        m = re.search(r"from (\d+) returnees with at least one contact", sentence)
        if m:
            learn(f"{p}/km_at_risk|month=0", float(m.group(1)), "report (survival sentence)")
        out = re.search(r"\b(\d+) (?:of the (\d+) )?returnees? (?:was|were) never", sentence)
        if m and out:
            total = float(m.group(1)) + float(out.group(1))
            learn(f"{p}/returnees", total, "report (survival sentence)")
    return shown, withheld, sums, conflicts


def test_no_artefact_prints_what_another_withholds(default_build):
    _, _, _, conflicts = reader_view(default_build)
    assert conflicts == []


def test_attack_on_everything_published(default_build):
    shown, withheld, sums, _ = reader_view(default_build)
    named = set(shown) | withheld
    unpublished = {k for w, ps in sums for k in (w, *ps) if k not in named}
    still_withheld = {k for k in withheld if k not in shown}
    ranges = feasible_ranges(shown, still_withheld, unpublished, sums)
    narrow = {k: r for k, r in ranges.items() if r[1] - r[0] < THRESHOLD}
    assert narrow == {}


def test_withheld_headline_states_a_safe_bound(default_build):
    """MOH1's complete-case share at 6 months is withheld; its denominator (28 returnees with
    known residence) is shown, so the report gives the bound the joint check found safe instead
    of a bare 'withheld'. (At 12 months the denominator is withheld too, since MOH1's 51
    returnees are its published 51 verified returns.)"""
    text = html_text(default_build / "report" / "index.html")
    decision = json.loads(
        next((default_build / "internal" / "disclosure").glob("*/decision.json")).read_text()
    )
    bound = decision["bounds"]["MOH1/stayed|window=m6"]
    lo, hi = decision["ranges"]["MOH1/stayed|window=m6"]
    # stating "≥ bound" leaves a range of at least the threshold on either side
    assert hi - bound >= THRESHOLD and bound - 1 - lo >= THRESHOLD
    assert f"at least {int(100 * bound // 28)} % (at least {bound:.0f} of 28" in text


def test_two_definitions_of_a_return_are_shown_alike(default_build):
    """The efficiency table's verified returns and the durability's returnees are the same
    people on the default data (51 in MOH1, 58 in MOH2). A reader who takes them for the same
    learns one from the other, so the decision must show both or neither. MOH1's 51 is a
    published figure, so its returnees are shown (the check protects around them)."""
    folder = next((default_build / "internal" / "disclosure").glob("*/decision.json")).parent
    withheld = json.loads((folder / "decision.json").read_text())["withheld"]
    cells = {c["key"]: c["value"] for c in json.loads((folder / "ledger.json").read_text())}
    pairs = 0
    for project in ("MOH1", "MOH2"):
        a, b = f"{project}/returned", f"{project}/returnees"
        if cells[a] == cells[b]:
            pairs += 1
            assert (a in withheld) == (b in withheld), (project, cells[a])
    assert pairs == 2 and "MOH1/returnees" not in withheld


def test_time_to_event_files_on_monthly_grid(default_build):
    for path in default_build.glob("results/*/conversion_cif_curve.csv"):
        months = pd.read_csv(path)["months"]
        assert list(months) == list(range(13))
    km = pd.read_csv(default_build / "results" / "moh1" / "durability_km.csv", dtype=str)
    decision = json.loads(
        next((default_build / "internal" / "disclosure").glob("*/decision.json")).read_text()
    )
    steps = {f"MOH1/km_step|month={m}" for m in range(13)}
    assert "MOH1/km_step|month=6" in decision["derived_withheld"]  # 2 re-migrations in month 6
    first_hidden = min(int(k.split("=")[1]) for k in steps & set(decision["derived_withheld"]))
    # the curve ends before the first withheld step: nothing after it is printed
    assert list(km["months"].astype(int)) == list(range(13))
    assert (km.loc[km["months"].astype(int) > first_hidden, "survival"] == "x").all()
    assert (km.loc[km["months"].astype(int) <= first_hidden, "survival"] != "x").all()
    assert not (default_build / "results" / "internal").exists()
    assert (default_build / "internal" / "results" / "moh1" / "durability_km.csv").exists()


# --------------------------------------------------------------------------- tables in the report

FUNNEL = {  # a funnel row label, as printed, -> what it counts
    "Counselled (≥ 1 session)": "counselled",
    "Referred to a return organisation": "referred",
    "to MOH": "referred_moh",
    "to other organisations": "referred_other",
    "Reintegration plan made": "plan",
    "Returned (verified departure)": "returned",
    **{f"to {name}": f"referred_to_{code}" for code, name in (
        ("bridge_to_better", "Bridge to Better"), ("ros", "ROS"), ("solid_road", "Solid Road"),
        ("wereldwijd", "WereldWijd"), ("iom", "IOM"), ("other", "other organisation"))},
}  # fmt: skip
CHAIN = ("chain_referred_moh", "chain_enrolled_moh", "chain_returned", "chain_returned")
CHAIN_OF = ("enrolled", "chain_referred_moh", "chain_enrolled_moh", "chain_referred_moh")
SUBGROUP = {"Country of return": "country_of_return", "Region": "region",
            "Support point": "support_point", "Sex": "sex", "Age band": "age_band",
            "Household": "household_type", "Length of stay in NL": "stay_band",
            "Intake route": "intake_route"}  # fmt: skip


def _code_of() -> dict[str, str]:
    """Printed name -> code, from the contract's code lists (the report prints names)."""
    import yaml
    from conftest import ROOT

    raw = yaml.safe_load((ROOT / "data_schemas" / "codes.yaml").read_text(encoding="utf-8"))
    out = {}
    for spec in raw.values():
        for code, v in (spec.get("codes") or {}).items() if isinstance(spec, dict) else ():
            out[str(v["name"] if isinstance(v, dict) else v)] = str(code)
    shown = ROOT / "src" / "evaluation" / "report" / "presentation.yaml"
    values = yaml.safe_load(shown.read_text(encoding="utf-8"))["values"]
    out.update({str(label): str(code) for code, label in values.items()})
    return out


def report_table_cells(build) -> list[tuple[str, str, str]]:
    """(ledger key, printed text, where) of every funnel, cohort, chain, subgroup, support
    point and cumulative-incidence count in the rendered report and annex, mapped from the
    printed labels."""
    from textutil import html_tables

    code = _code_of()
    out = []
    for name in ("index.html", "annex.html"):
        for heading, rows in html_tables(build / "report" / name):
            head, body = rows[0], rows[1:]
            project = heading.split(":")[0].strip()
            where = f"{name} / {heading.splitlines()[0]} / {head[0]}"
            if head[0] in ("Step", "Cohort") and project in ("ENH", "MOH1", "MOH2"):
                chain = body and body[0][0].startswith("ENH clients referred to MOH")
                for i, r in enumerate(body):
                    cells = dict(zip(head, r, strict=False))
                    if chain:
                        n, big = f"ENH/{CHAIN[i]}", f"ENH/{CHAIN_OF[i]}"
                    else:
                        dims = f"|cohort={cells['Cohort']}" if "Cohort" in cells else ""
                        what = FUNNEL.get(cells["Step"].strip(), "enrolled")
                        n, big = f"{project}/{what}{dims}", f"{project}/enrolled{dims}"
                    out += [(n, cells["n"], where), (big, cells["N"], where)]
            elif head[0] == "Subgroup" and project in ("ENH", "MOH1", "MOH2"):
                outcome = head[2].lower()
                for r in body:
                    var, group = SUBGROUP[r[0]], r[1]
                    dims = "" if group == "All" else f"|subgroup={var}={code.get(group, group)}"
                    out += [(f"{project}/{outcome}{dims}", r[2], where),
                            (f"{project}/enrolled{dims}", r[3], where)]  # fmt: skip
            elif head[0] == "Months after enrolment" and project in ("ENH", "MOH1", "MOH2"):
                for r in body:
                    cells = dict(zip(head, r, strict=False))
                    h = cells["Months after enrolment"]
                    out += [(f"{project}/returned_by|months={h}", cells["Returned (n)"], where),
                            (f"{project}/cif_at_risk|months={h}", cells["Still followed"],
                             where)]  # fmt: skip
            elif head[0] == "Support point":
                for r in body:
                    dims = "" if r[0] == "Total" else f"|first_point={code.get(r[0], r[0])}"
                    out += [(f"MOH1+MOH2/returned{dims}", r[1], where),
                            (f"MOH1+MOH2/enrolled{dims}~not~returned", r[2], where),
                            (f"MOH1+MOH2/enrolled{dims}", r[3], where)]  # fmt: skip
    return out


def table_conflicts(build) -> list[str]:
    """Cells a report table prints that the checked cells withhold (or print otherwise), and
    cells a report table withholds that the checked cells print."""
    cells = pd.read_csv(build / "results" / "disclosure" / "checked_cells.csv", dtype=str)
    value = dict(zip(cells["key"], cells["value"], strict=True))
    out = []
    for key, printed, where in report_table_cells(build):
        hidden = printed == "x" or printed.startswith("<")
        checked = value.get(key)
        if checked is None:
            if not hidden and printed not in ("", "0", "—"):
                out.append(f"{where}: {key} = {printed} is no checked cell")
        elif hidden != (checked == "x") or (not hidden and printed != checked):
            out.append(f"{where}: {key} printed {printed!r}, checked cells say {checked!r}")
    return out


def test_report_tables_show_the_one_decision(default_build):
    """Every funnel, cohort, chain, subgroup and support-point count printed in the report is
    the checked cell's value, and every one it withholds is withheld in the checked cells: no
    table decides its own suppression."""
    assert len(report_table_cells(default_build)) > 300  # the tables were found and read
    assert table_conflicts(default_build) == []


def test_key_findings_state_the_safe_bound_not_a_bare_withheld(default_build):
    """The executive summary's headline for MOH1 durability at 12 months (worst case: stayed
    of all due) is withheld by the joint check. Where the due count is printed, its row states
    the lower bound the check found safe over it; where the due count is withheld too (the
    default data: MOH1's returnees are its published 51 returns, so the check withholds the
    12-month due count), the row prints no number at all."""
    from textutil import html_tables

    decision = json.loads(
        next((default_build / "internal" / "disclosure").glob("*/decision.json")).read_text()
    )
    bound = int(decision["bounds"]["MOH1/stayed|window=m12"])
    cells = pd.read_csv(default_build / "results" / "disclosure" / "checked_cells.csv", dtype=str)
    due = cells.loc[cells["key"] == "MOH1/due|window=m12", "value"].iloc[0]
    summary = next(
        rows for heading, rows in html_tables(default_build / "report" / "index.html")
        if heading.startswith("Executive summary")
    )  # fmt: skip
    row = next(r for r in summary if r[1].startswith("MOH1: still in the country"))
    if due == "x":
        assert row[2] == "withheld (disclosure control)"
        assert not re.search(r"\d", row[2] + row[3])
    else:
        assert row[2] == f"at least {100 * bound // int(due)} % (exact figure withheld)"
        assert row[3] == f"at least {bound} of {due}"


def test_reader_maps_the_durability_files_to_cells(default_build):
    """The attack above reads the converted durability and exit files (tests/reader_durability):
    each gives the reader checked cells, so they are in the integer program, not skipped."""
    shown, withheld, _, _ = reader_view(default_build)
    named = set(shown) | withheld
    for p in ("MOH1", "MOH2"):
        assert f"{p}/scored|score=composite|window=m12" in named
        assert f"{p}/score_at_or_above|cutoff=0.5|window=m12" in named
        assert any(k.startswith(f"{p}/km_at_risk|country=") for k in named)
        assert any(k.startswith(f"{p}/km_at_risk|main_support=") for k in named)
        assert f"{p}/exit|cause=returned" in named
        assert f"{p}/landmark_followed" in named


def test_summary_sentences_print_no_durability_share_the_decision_withholds(default_build):
    """The executive summary and the conclusions print a 12-month worst/best-case share only
    where the joint decision shows it: a withheld share times its shown denominator gives the
    withheld numerator (MOH1's worst case 22 of 50 gave 24 − 22 = 2 re-migrated)."""
    folder = next((default_build / "internal" / "disclosure").glob("*/decision.json")).parent
    decision = json.loads((folder / "decision.json").read_text())
    cells = {c["key"]: c["value"] for c in json.loads((folder / "ledger.json").read_text())}
    nb = json.loads((default_build / "notebooks" / "summary" / "summary.ipynb").read_text())
    said = " ".join(  # the executed notebook is published too
        "".join(o.get("data", {}).get("text/markdown", ""))
        for c in nb["cells"]
        if c["cell_type"] == "code"
        for o in c.get("outputs", [])
    )
    text = html_text(default_build / "report" / "index.html") + " " + said
    checked = 0
    for project in ("MOH1", "MOH2"):
        for approach, num in (("worst", "stayed"), ("best", "stayed_or_unknown")):
            if f"{project}/durability_{approach}|window=m12" not in decision["derived_withheld"]:
                continue
            n, big = cells[f"{project}/{num}|window=m12"], cells[f"{project}/due|window=m12"]
            checked += 1
            share = f"{100 * n / big:.1f} %"
            for start in (f"{project} durability.", f"{project}: of the returnees whose"):
                at = text.find(start)
                assert at >= 0, start
                sentence = text[at : text.find(".", at + len(start)) + 1]
                assert share not in sentence, (project, approach, n, big, sentence)
    assert checked >= 1  # MOH1's worst case is withheld on the default data


def _figure_texts(fig) -> str:
    from matplotlib.text import Text

    return " ".join(t.get_text() for t in fig.findobj(Text) if t.get_text())


def test_durability_figures_label_only_what_the_decision_shows(default_build, monkeypatch):
    """The three-way bars of each project and of the comparison, redrawn from the build's
    results store under the build's decision: every 'n/N' label and 'N returnees due' title
    is a shown cell of that value, and a withheld share draws no bar (MOH1's worst case at 12
    months printed '44.0 % (22/50)' beside a table of x)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from evaluation.publish import store
    from evaluation.publish.view import ENV
    from evaluation.report.plots import durability as dplots

    folder = next((default_build / "internal" / "disclosure").glob("*/decision.json")).parent
    monkeypatch.setenv(ENV, str(folder))
    decision = json.loads((folder / "decision.json").read_text())
    cells = {c["key"]: c["value"] for c in json.loads((folder / "ledger.json").read_text())}
    withheld = set(decision["withheld"]) | set(decision["derived_withheld"])
    summaries = {}
    for p in ("MOH1", "MOH2"):
        found = sorted((default_build / "store").glob(f"*/durability-{p.lower()}/durability.json"))
        summaries[p] = store.load(found[-1].parent, "durability")
    labels = {"Complete cases": "complete", "Worst case": "worst", "Best case": "best"}
    checked = hidden = 0
    for p, a in summaries.items():
        fig = dplots.bounds_figure(a, "m12")
        if fig is None:  # no bar to draw: every share withheld
            assert all(f"{p}/durability_{x}|window=m12" in withheld for x in APPROACH), p
            hidden += 3
            continue
        ax = fig.axes[0]
        ticks = [t.get_text() for t in ax.get_yticklabels()]
        for y, name in zip(range(len(ticks))[::-1], ticks, strict=True):
            approach = labels[name]
            num, den = APPROACH[approach]
            said = [t.get_text() for t in ax.texts if abs(t.get_position()[1] - y) < 0.01]
            assert len(said) == 1, said
            if f"{p}/durability_{approach}|window=m12" in withheld:
                assert said[0].startswith("withheld"), (p, approach, said)
                hidden += 1
                continue
            n, big = re.search(r"\((\w+)/(\w+)\)", said[0]).groups()
            for key, printed in ((f"{p}/{num}|window=m12", n), (f"{p}/{den}|window=m12", big)):
                if printed != "x":
                    assert key not in withheld and cells[key] == int(printed), (key, printed)
                    checked += 1
        plt.close(fig)
    fig = dplots.comparison_bounds_figure(list(summaries.values()))
    for ax, p in zip(fig.axes, summaries, strict=True):
        m = re.search(r"\((\d+) returnees due\)", ax.get_title(loc="left"))
        due = f"{p}/due|window=m12"
        assert (m is None) == (due in withheld), (p, ax.get_title(loc="left"))
        if m:
            assert cells[due] == int(m.group(1))
    assert "22/50" not in _figure_texts(fig)
    plt.close(fig)
    assert hidden >= 1 and checked >= 2  # MOH1 withheld, MOH2 shown on the default data


def test_staying_curve_says_from_which_month_it_is_withheld(default_build, monkeypatch):
    """A staying curve the decision cuts short is not left as an empty chart: the months after
    its last shown step are shaded and labelled as withheld, naming that month and the
    threshold. The month is worked out here from the decision's withheld km steps (survival
    at month m rests on the steps of every month before m); a curve shown to the end carries
    no such label (MOH1 is cut short on the default data, MOH2 has no curve at all)."""
    import matplotlib.pyplot as plt

    from evaluation import config
    from evaluation.analysis import durability
    from evaluation.analysis.plan import load_plan, plan_path
    from evaluation.data import prepared
    from evaluation.publish.view import ENV
    from evaluation.report.plots import durability as dplots

    folder = next((default_build / "internal" / "disclosure").glob("*/decision.json")).parent
    monkeypatch.setenv(ENV, str(folder))
    decision = json.loads((folder / "decision.json").read_text())
    withheld = set(decision["withheld"]) | set(decision["derived_withheld"])
    cfg = config.load(REPO / "evaluation.yml")
    plan = load_plan(plan_path(REPO / "evaluation.yml"))
    data = next(d for d in (default_build / "data").iterdir() if (d / "clients.parquet").exists())
    tables = prepared.load(data, durability.COLUMNS, columns=durability.COLUMNS)
    cut = 0
    for p in ("MOH1", "MOH2"):
        a = durability.analyse(tables, p, cutoff=cfg.project(p).cutoff,
                               min_cell=cfg.disclosure_min_count,
                               **plan.durability.analysis_options,
                               threshold=cfg.disclosure_min_count)  # fmt: skip
        fig = dplots.analysis_survival_figure(a)
        if fig is None:
            continue
        grid = [int(t) for t in a.at_risk_times]
        last = 0  # the last month shown: month m + 1 needs the step of month m
        while last < grid[-1] and f"{p}/km_step|month={last}" not in withheld:
            last += 1
        texts = _figure_texts(fig)
        ax = fig.axes[0]
        shaded = [q for q in ax.patches if q.get_hatch() == "//"]
        if last < grid[-1]:
            assert f"Withheld after month {last}:" in texts, (p, last, texts)
            assert f"fewer than {THRESHOLD} people" in texts
            assert len(shaded) == 1
            x0, x1 = shaded[0].get_x(), shaded[0].get_x() + shaded[0].get_width()
            assert (x0, x1) == (last, grid[-1]), (p, x0, x1)
            cut += 1
        else:
            assert "Withheld after" not in texts and not shaded, p
        plt.close(fig)
    assert cut >= 1  # MOH1 on the default data


def test_completeness_sentence_names_each_window_the_decision_withholds(default_build):
    """Each return project's sentence on who was reached gives 'n of N' at 6 and 12 months
    exactly where the decision shows reached, due and their difference, and says in words
    which share is withheld otherwise (it read 'in a withheld share at 6 months')."""
    folder = next((default_build / "internal" / "disclosure").glob("*/decision.json")).parent
    decision = json.loads((folder / "decision.json").read_text())
    cells = {c["key"]: c["value"] for c in json.loads((folder / "ledger.json").read_text())}
    gone = set(decision["withheld"]) | set(decision["derived_withheld"])
    withheld_seen = 0
    for p in ("MOH1", "MOH2"):
        nb = json.loads((default_build / "notebooks" / p.lower() / "durability.ipynb").read_text())
        cell = next(c for c in nb["cells"] if "txt-durability-completeness" in "".join(c["source"]))
        text = "".join("".join(o["data"]["text/markdown"]) for o in cell["outputs"] if "data" in o)
        for w, words in (("m6", "6 months"), ("m12", "12 months")):
            reached, due = f"{p}/reached|window={w}", f"{p}/due|window={w}"
            shown = reached not in gone and due not in gone
            shown = shown and f"{due}~not~reached" not in gone
            said = re.search(rf"(\d+) of (\d+)[^)]*\) at {words}", text)
            if shown:
                assert said and (int(said[1]), int(said[2])) == (cells[reached], cells[due])
            else:
                withheld_seen += 1
                assert said is None, (p, w, text)
                assert re.search(rf"at ({words}|6 and 12 months)[^.]* withheld", text), (p, w, text)
    assert withheld_seen >= 2  # MOH1 at 6 and 12 months on the default data
