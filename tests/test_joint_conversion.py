"""The conversion-side tables in the one joint check (publish.ledger_conversion,
publish.gate_conversion): a hand-worked leak that table-by-table protection lets through and
the joint decision closes, masks never undone, the published incidence figure, and the reader
of tests/reader_conversion.py on the default build."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from adversary import feasible_ranges

THRESHOLD = 5


def _clients() -> pd.DataFrame:
    """40 women (15 returned) and 100 men (36 returned); 5 women (1 returned) and 10 men
    (6 returned) have no age, so the models leave them out: 35 women (14 returned) and
    90 men (30 returned) remain."""
    rows = []
    for sex, n, ret, out, out_ret in (("female", 40, 15, 5, 1), ("male", 100, 36, 10, 6)):
        for i in range(n):
            left_out = i < out
            returned = i < out_ret if left_out else i - out < ret - out_ret
            rows.append({"sex": sex, "age": math.nan if left_out else 30 + i % 20,
                         "years_in_nl": 3.0, "household_type": "single",
                         "returned": bool(returned)})  # fmt: skip
    return pd.DataFrame(rows)


def test_model_table_beside_subgroups_leaks_by_differencing_table_by_table():
    """Each table protected alone prints every count (none is below 5), yet the subgroup
    table (15 of 40 women returned) minus the model table (14 of 35) tells that exactly one
    woman left out of the models for a missing age returned: a count of 1."""
    from evaluation.analysis import conversion as cv
    from evaluation.analysis import models
    from evaluation.report.conversion_tables import publishable_model, publishable_subgroups

    frame = _clients()
    sub = pd.DataFrame([
        {"variable": "sex", "label": "sex", "group": s, "n": int(g["returned"].sum()),
         "N": len(g), "estimate": g["returned"].mean(), "ci_low": 0.0, "ci_high": 1.0}
        for s, g in frame.groupby("sex")])  # fmt: skip
    subgroups, _ = publishable_subgroups(sub, THRESHOLD)
    data, left_out = cv.model_frame(frame)
    logit = models.logistic(data, "returned", ["sex"], min_epv=1000)  # descriptive fallback
    assert not logit.ok and left_out == 15
    model = publishable_model(logit, THRESHOLD)
    women_sub = subgroups[subgroups["group"] == "female"].iloc[0]
    women_model = model[model["group"] == "female"].iloc[0]
    assert (women_sub["n"], women_sub["N"]) == (15, 40)  # printed
    assert (women_model["n"], women_model["N"]) == (14, 35)  # printed
    assert int(women_sub["n"]) - int(women_model["n"]) == 1  # the leak


def _toy_ledger():
    from evaluation.publish.ledger import Ledger, make_key
    from evaluation.publish.ledger_conversion import model_cells

    frame = _clients()
    ledger = Ledger()
    p, arts = "P", ["results/p/conversion_subgroups.csv"]
    total = ledger.count(make_key(p, "enrolled"), 140, population="p", numerator="enrolled",
                         artefact=arts, public=True)  # fmt: skip
    ret = ledger.count(make_key(p, "returned"), 51, population="p", numerator="returned",
                       artefact=arts, public=True)  # fmt: skip
    ns, rs = [], []
    for s, g in frame.groupby("sex"):
        d = {"subgroup": f"sex={s}"}
        ns.append(ledger.count(make_key(p, "enrolled", **d), len(g), population="p",
                               numerator="enrolled", artefact=arts))  # fmt: skip
        rs.append(ledger.count(make_key(p, "returned", **d), int(g["returned"].sum()),
                               population="p", numerator="returned", artefact=arts))  # fmt: skip
        ledger.rate(rs[-1], ns[-1], artefact=arts)
    ledger.relate(total, ns)
    ledger.relate(ret, rs)
    times = pd.DataFrame({"status": frame["returned"].astype(int)}, index=frame.index)
    model_cells(ledger, frame, times, p, "returned")
    return ledger


def test_joint_decision_closes_the_model_table_leak():
    """The same two tables as ledger cells: the model's women are the subgroup's women minus
    those left out (a cell never printed), so the joint check withholds enough that the one
    woman cannot be worked out: every withheld count, and the left-out returns, keep a
    feasible range at least 5 wide under the reader's integer program."""
    from evaluation.publish import joint

    ledger = _toy_ledger()
    rest = "P/model_returned|subgroup=sex=female~rest"
    assert ledger.cells[rest].value == 1
    decision = joint.check(ledger, joint.Rules(threshold=THRESHOLD))
    assert decision.withheld[rest] == joint.PRIMARY
    counts = ledger.cells
    shown = {k: c.value for k, c in counts.items() if c.artefacts and decision.shown(k)}
    withheld = {k for k, c in counts.items() if c.artefacts and not decision.shown(k)}
    unpublished = {k for k, c in counts.items() if not c.artefacts}
    sums = [(r.whole, list(r.parts)) for r in ledger.relations]
    assert withheld  # something had to go
    ranges = feasible_ranges(shown, withheld | {rest}, unpublished - {rest}, sums)
    assert {k: r for k, r in ranges.items() if r[1] - r[0] < THRESHOLD} == {}
    # the left-out woman who returned is not pinned: at most 1 + 4 = 5 values
    assert ranges[rest][0] <= 1 <= ranges[rest][1]


def _view(values: dict, withheld=(), derived=()):
    from evaluation.publish.joint import Decision, Rules
    from evaluation.publish.view import View

    decision = Decision(Rules(), withheld=dict.fromkeys(withheld, "primary"))
    return View(decision, values, frozenset(derived), frozenset(values))


def test_a_masked_count_is_never_unmasked_by_the_gate():
    """A model table the notebook already masked ('x': the model's 14 women who returned are
    withheld) is read again by the gate: the subgroup cell (15, shown) also fits the row's
    labels but is another population, so the mask stays."""
    from evaluation.publish.gate_conversion import model_shown

    view = _view({"P/returned|subgroup=sex=female": 15, "P/model_returned|subgroup=sex=female":
                  14, "P/model_n|subgroup=sex=female": 35, "P/enrolled": 40},
                 withheld=["P/model_returned|subgroup=sex=female"])  # fmt: skip
    df = pd.DataFrame([{"covariate": "Sex", "group": "female", "n": "x", "N": 35,
                        "rate": "x", "95 % CI": "x"}])  # fmt: skip
    out = model_shown(df, view, "P")
    assert out.loc[0, "n"] == "x" and out.loc[0, "N"] == 35
    raw = df.assign(n=14, rate="40.0 %")
    out = model_shown(raw, view, "P")
    assert out.loc[0, "n"] == "x" and out.loc[0, "rate"] == "x"


def test_incidence_figure_on_the_published_grid(monkeypatch):
    """The figure's curve is read at whole months and shown only where the decision shows the
    incidence (here 3 and 12 months; 6 withheld); numbers still followed are the ledger's,
    'x' where withheld. By hand: 10 clients returning at 0.5, 1.5, …, 9.5 months, no censoring:
    incidence 3/10 at 3 months, 10/10 at 12; 7 still followed at 3 months, 0 at 12."""
    from evaluation.analysis.survival import cumulative_incidence
    from evaluation.publish import view as view_mod
    from evaluation.report.plots import published_incidence

    inc = cumulative_incidence(np.arange(10) + 0.5, np.ones(10, dtype=int))
    values = {"P/enrolled": 10, "P/returned_by|months=3": 3, "P/cif_at_risk|months=3": 7,
              "P/returned_by|months=6": 6, "P/cif_at_risk|months=6": 4,
              "P/returned_by|months=12": 10, "P/cif_at_risk|months=12": 0}  # fmt: skip
    derived = [f"P/cif|months={h}" for h in (3, 6, 12)]
    v = _view(values, withheld=["P/cif_at_risk|months=6"], derived=derived)
    v.decision.derived_withheld["P/cif|months=6"] = "P/cif_at_risk|months=6"
    monkeypatch.setattr(view_mod, "current", lambda: v)
    curve = published_incidence.published(inc, (3, 6, 12), "P")
    grid = curve.grid.set_index("months")["estimate"]
    assert list(curve.grid["months"]) == list(range(13))
    assert grid[3] == pytest.approx(0.3) and grid[12] == pytest.approx(1.0)
    assert all(grid[m] == "x" for m in (1, 2, 4, 5, 6, 7, 8, 9, 10, 11))
    assert curve.at_risk == {0.0: "10", 3.0: "7", 6.0: "x", 12.0: "0"}
    # drawn: a point with its interval at 0, 3 and 12 months only, no line across the withheld
    # months between them, and the withheld 6-month horizon marked x on the axis
    import matplotlib.pyplot as plt

    fig = published_incidence.draw({"P": curve})
    ax = fig.axes[0]
    points = [(float(x), float(y)) for line in ax.get_lines() if line.get_marker() == "o"
              for x, y in zip(line.get_xdata(), line.get_ydata(), strict=True)]  # fmt: skip
    assert points == [(0.0, 0.0), (3.0, pytest.approx(30.0)), (12.0, pytest.approx(100.0))]
    assert not [line for line in ax.get_lines() if len(line.get_xdata()) > 1
                and line.get_linestyle() not in ("None", "none", "")]  # fmt: skip
    marks = [t.get_position() for t in ax.texts if t.get_text() == "x"]
    assert [x for x, y in marks if y > 0] == [6.0]  # on the axis; below it, still followed
    assert ax.get_ylim()[1] == 100.0  # the interval at 12 months reaches 100 %
    plt.close(fig)


def test_incidence_axis_and_runs_worked_by_hand():
    """The percentage axis ends a tenth above the highest upper limit, in whole tens, between
    20 and 100 %; shown months are split into runs of consecutive months."""
    from evaluation.report.plots.published_incidence import runs, y_top

    assert y_top([14.4]) == 20.0  # 15.8 -> 20
    assert y_top([3.0]) == 20.0  # at least 20
    assert y_top([49.5, 12.0]) == 60.0  # 54.5 -> 60
    assert y_top([95.0]) == 100.0  # 104.5 -> capped
    assert y_top([]) == 100.0
    assert runs([0.0, 1.0, 2.0, 5.0, 6.0, 9.0]) == [[0.0, 1.0, 2.0], [5.0, 6.0], [9.0]]


def test_conversion_files_checked_cell_by_cell(default_build):
    """Each conversion-side file is checked against the joint decision in the output-checking
    report, and the reader maps its numbers to checked cells (the attack and the no-conflict
    tests in test_joint_publication read them too)."""
    from reader_conversion import read_conversion

    rep = json.loads((default_build / "disclosure" / "report.json").read_text())
    status = {f["file"]: f["protection"] for f in rep["results_files"]}
    files = ["moh1/conversion_cohort_follow_up.csv", "moh1/conversion_exits.csv",
             "moh1/conversion_cox.csv", "enh/conversion_logistic.csv",
             "comparison/comparison_cif_contrasts.csv",
             "comparison/comparison_cohort_follow_up.csv",
             "comparison/comparison_return_rates.csv", "comparison/comparison_sensitivity.csv",
             "efficiency/efficiency.csv"]  # fmt: skip
    for f in files:
        assert status[f"results/{f}"].startswith("checked cell by cell"), f
    cells = pd.read_csv(default_build / "results" / "disclosure" / "checked_cells.csv", dtype=str)
    value = dict(zip(cells["key"], cells["value"], strict=True))
    read = {}
    read_conversion(default_build / "results",
                    lambda k, v, w: read.setdefault(k, v) if v is not None else None,
                    set(value))  # fmt: skip
    # MOH1's cohorts in its follow-up file are the funnel's cohorts (16 + 31 + 30 + 23 + 34 +
    # 14 = 148 enrolled, the published total)
    cohorts = {k: v for k, v in read.items() if k.startswith("MOH1/enrolled|cohort=")}
    assert len(cohorts) == 6 and sum(cohorts.values()) == 148
    assert all(value[k] == f"{v:g}" for k, v in read.items() if value.get(k) not in (None, "x"))


def test_a_contrast_resting_on_a_withheld_incidence_is_left_out_of_metrics():
    """MOH1's incidence at 12 months is withheld (the contrasts file prints 'x' for it): the
    difference at 12 months would give it back beside MOH2's, so metrics.json leaves it out;
    the difference at 6 months, on two shown incidences, stays."""
    from evaluation.publish.gate import publish_metrics

    derived = ["MOH1/cif|months=6", "MOH1/cif|months=12", "MOH2/person_cif|months=6",
               "MOH2/person_cif|months=12", "person_rate:MOH1", "person_rate:MOH2"]  # fmt: skip
    v = _view({}, derived=derived)
    v.decision.derived_withheld["MOH1/cif|months=12"] = "MOH1/returned_by|months=12"
    entry = {"estimate": 0.05, "N": [148, 152], "contrast": "MOH2 − MOH1"}
    shown, dropped = publish_metrics(
        {"moh1_vs_moh2.return_cif_diff_12m": entry, "moh1_vs_moh2.return_cif_diff_6m": entry}, v
    )
    assert dropped == ["moh1_vs_moh2.return_cif_diff_12m"]
    assert shown == {"moh1_vs_moh2.return_cif_diff_6m": entry}


def _model(ok: bool):
    from evaluation.analysis.models import ModelResult

    table = pd.DataFrame(
        {"term": ["sex[female]", "age[30+]"], "variable": ["sex", "age_band"],
         "level": ["female", "30+"], "reference": ["male", "<30"],
         "estimate": [2.0, 0.5], "ci_low": [1.0, 0.25], "ci_high": [4.0, 1.0],
         "p_value": [0.05, 0.05]}
    )  # fmt: skip
    desc = pd.DataFrame(
        {"variable": ["sex", "sex", "age_band", "age_band"],
         "level": ["female", "male", "30+", "<30"], "n": [13, 14, 10, 17], "N": [20, 20, 20, 20],
         "estimate": [0.65, 0.7, 0.5, 0.85], "ci_low": [0.4] * 4, "ci_high": [0.9] * 4}
    )  # fmt: skip
    return ModelResult("logistic", "returned", ok, table if ok else table.iloc[0:0], None,
                       desc, 40, 27)  # fmt: skip


def test_model_figures_draw_only_what_the_decision_shows(monkeypatch):
    """The forest plot (fitted) and the descriptive-rate bars (not fitted) leave out the rows
    whose table row the joint decision masks: here the women's ratio and rate (their counts
    withheld), by hand from the view; per-table rules alone would draw all four rows."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from evaluation.publish import view as view_mod
    from evaluation.report import conversion_tables
    from evaluation.report.plots import conversion as convplots

    values = {"P/enrolled": 40, "P/returned": 27,
              "P/enrolled|subgroup=sex=female": 20, "P/returned|subgroup=sex=female": 13,
              "P/enrolled|subgroup=sex=male": 20, "P/returned|subgroup=sex=male": 14,
              "P/enrolled|subgroup=age_band=30+": 20, "P/returned|subgroup=age_band=30+": 10,
              "P/enrolled|subgroup=age_band=<30": 20,
              "P/returned|subgroup=age_band=<30": 17}  # fmt: skip
    coefs = [f"P/logistic_coef|subgroup={v}" for v in
             ("sex=female", "sex=male", "age_band=30+", "age_band=<30")]  # fmt: skip
    v = _view(values, withheld=["P/returned|subgroup=sex=female"], derived=coefs)
    v.decision.derived_withheld[coefs[0]] = "P/returned|subgroup=sex=female"
    monkeypatch.setattr(view_mod, "current", lambda: v)

    fitted = _model(True)
    assert conversion_tables.rows_shown(fitted, "P") == [False, True]
    shown = conversion_tables.rows_shown(fitted, "P")
    fig = convplots.forest(fitted.table, "Odds ratio", shown=shown)
    ticks = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert len(ticks) == 1 and "30" in ticks[0] and "emale" not in ticks[0]
    plt.close(fig)

    unfitted = _model(False)
    assert conversion_tables.rows_shown(unfitted, "P") == [False, True, True, True]
    fig = convplots.descriptive_rates(
        unfitted.descriptives, shown=conversion_tables.rows_shown(unfitted, "P")
    )
    texts = " ".join(t.get_text() for t in fig.axes[0].texts)
    assert "13/20" not in texts and "14/20" in texts and "10/20" in texts
    plt.close(fig)
    monkeypatch.setattr(view_mod, "current", lambda: None)
    assert conversion_tables.rows_shown(unfitted, "P") is None


def test_incidence_axis_ignores_an_undefined_interval():
    """A shown month whose interval is undefined (NaN) draws its point without a bar and does
    not decide the axis: 12 % at 6 months with 8-16 % gives a top of 20 %."""
    import matplotlib.pyplot as plt

    from evaluation.report.plots.published_incidence import PublishedCurve, draw

    grid = pd.DataFrame({"months": [0, 6], "estimate": [0.0, 0.12], "ci_low": [np.nan, 0.08],
                         "ci_high": [np.nan, 0.16]}).astype(object)  # fmt: skip
    fig = draw({"P": PublishedCurve(grid, {0.0: "50", 6.0: "40"}, "50")})
    assert fig.axes[0].get_ylim()[1] == 20.0
    plt.close(fig)
