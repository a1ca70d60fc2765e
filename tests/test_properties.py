"""Property-based: every valid dataset runs, every single-field corruption stops at validation.

(1) Generated valid datasets (tests/casegen.py: empty tables, one client, projects without
records, ties, events on the cut-off day) validate, and the analyses return every metric
either present within [0, 1] or absent with a reason: many examples through the library, a few
through the notebooks themselves (in-process), one through `evaluation run` (test_edge_cases).
(2) One field of a valid dataset is corrupted: validation fails and names file, row, column and
rule. Fixed seed (derandomize) and small budgets keep the suite fast.
"""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path

import casegen
import nbrun
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from evaluation import config
from evaluation.data.pseudonymise import pseudonymise
from evaluation.data.validate import validate_dataset

ROOT = Path(__file__).resolve().parents[1]
FAST = settings(
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: a failure is reported as found
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# not proportions: months, counts, differences of proportions, power calculations
NOT_A_SHARE = (
    "median_months",
    "return_exits",
    "returnees",
    "trajectory",
    "mdd_",
    "_diff",
    "support_eur",
)


def metric_problems(metrics: dict) -> list[str]:
    """Metrics that are neither a share within [0, 1] (with an ordered interval) nor absent
    with a reason. Empty when all is well."""
    bad = []

    def check(key: str, value: object) -> None:
        if value is None:
            bad.append(f"{key}: null without a reason")
            return
        if not isinstance(value, dict):
            return
        if "estimate" in value:
            est = value["estimate"]
            if est is None:
                if not value.get("reason"):
                    bad.append(f"{key}: no estimate and no reason")
            elif not any(s in key for s in NOT_A_SHARE):
                lo, hi = value.get("ci_low"), value.get("ci_high")
                if not 0 <= est <= 1 or (isinstance(est, float) and math.isnan(est)):
                    bad.append(f"{key}: estimate {est} outside [0, 1]")
                if lo is not None and hi is not None and not lo - 1e-12 <= est <= hi + 1e-12:
                    bad.append(f"{key}: {est} outside its interval {lo}–{hi}")
        for k, v in value.items():
            if isinstance(v, dict) or (v is None and k.startswith("share_above")):
                check(f"{key}.{k}", v)

    for key, value in metrics.items():
        check(key, value)
    return bad


def _config(tmp: Path) -> config.Config:
    """evaluation.yml with the generated data as the case data."""
    text = (ROOT / "evaluation.yml").read_text(encoding="utf-8")
    text = text.replace(
        "published: data/published/figures.csv", f"published: {ROOT}/data/published/figures.csv"
    )
    text = text.replace("cases: data/synthetic/default", f"cases: {tmp / 'cases'}")
    path = tmp / "evaluation.yml"
    path.write_text(text, encoding="utf-8")
    return config.load(path, root=ROOT)


def _library_metrics(cfg: config.Config, tables: dict) -> dict:
    """The metrics the notebooks compute, through the same library calls."""
    from evaluation.analysis import conversion as cv
    from evaluation.analysis import durability, models, survival, time_to_return
    from evaluation.analysis.plan import load_plan
    from evaluation.publish.results import _plain
    from evaluation.report import conversion_tables, durability_tables
    from evaluation.report import summary as sm

    out: dict = {}
    for p in cfg.projects:
        k = p.key
        if cv.nothing_to_evaluate(tables, p.id):
            out[f"{k}.nothing_to_evaluate"] = {"reason": cv.nothing_to_evaluate(tables, p.id)}
        else:
            frame = cv.client_frame(tables, p.id, kind=p.kind)
            out[f"{k}.return_rate"] = cv.rate(frame, "returned")
            steps, _ = conversion_tables.publishable_steps(cv.funnel(frame, p.id, p.kind), 5)
            assert not steps.astype(str).apply(lambda c: c.str.contains("nan")).any().any()
            if p.kind == "counselling":
                out |= {f"{k}.referral_{n}": r for n, r in cv.referral_rates(frame).items()}
                chain = cv.chain(tables)
                shown, _ = conversion_tables.publishable_chain(chain, 5)
                assert not shown.astype(str).apply(lambda c: c.str.contains("nan")).any().any()
            times = time_to_return.return_times(
                frame, load_plan().return_, end=p.end, cutoff=cfg.cutoff, kind=p.kind
            )
            inc = survival.cumulative_incidence(times["time"], times["status"])
            for h in (3, 6, 12):
                out[f"{k}.return_cif_{h}m"] = inc.at(h)
            out[f"{k}.return_median_months"] = inc.median_metric()
            conversion_tables.publishable_subgroups(cv.subgroup_rates(frame, "returned"), 5)
            covariates = list(cv.MODEL_COVARIATES)
            data, _ = cv.model_frame(frame)  # may be empty: every client lacks a covariate
            ref = {"household_type": "single", "sex": "male"}  # as in conversion.ipynb
            logit = models.logistic(data, "returned", covariates, reference=ref)
            cox_data = data[covariates].join(times[["time", "status"]])
            cox = models.cox(cox_data, "time", "status", covariates, reference=ref)
            for fitted in (logit, cox):
                conversion_tables.publishable_model(fitted, 5)
                assert fitted.describe()
        if p.kind == "return":
            a = durability.analyse(tables, p.id, cutoff=cfg.cutoff)
            out |= durability.metrics(a)
            for show in (durability_tables.bounds_table, durability_tables.shares_table):
                assert "nan" not in show(a)
    heads = [sm.headline(tables, p.id, p.kind, cutoff=cfg.cutoff) for p in cfg.projects]
    out |= sm.headline_metrics(heads)
    assert sm.conversion_sentence(heads) and sm.conclusions(heads, [])
    return json.loads(json.dumps(_plain(out)))


@settings(FAST, max_examples=15)
@given(rows=casegen.datasets())
def test_valid_datasets_validate_and_every_metric_is_a_share_or_has_a_reason(rows) -> None:
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        casegen.write(rows, tmp / "cases")
        cfg = _config(tmp)
        tables, report = validate_dataset(tmp / "cases", cfg.periods, cutoff=cfg.cutoff)
        assert report.ok, [p.message for p in report.errors]
        metrics = _library_metrics(cfg, pseudonymise(tables, nbrun.KEY))
    assert metric_problems(metrics) == []
    n_projects = len({r["project"] for r in rows["enrolments"]})
    reasons = [k for k in metrics if k.endswith("nothing_to_evaluate") and "summary" not in k]
    assert len(reasons) == 3 - n_projects  # every project without records says so


@pytest.mark.e2e
@settings(FAST, max_examples=2)
@given(rows=casegen.datasets(max_clients=5))
def test_valid_datasets_run_through_every_notebook(rows) -> None:
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        casegen.write(rows, tmp / "cases")
        cfg = _config(tmp)
        assert nbrun.prepare(tmp / "cases", cfg, tmp / "prepared").ok
        nbrun.run_all(cfg, tmp / "prepared", tmp / "results")
        metrics = {}
        for frag in sorted((tmp / "results").rglob("metrics.*.json")):
            metrics.update(json.loads(frag.read_text(encoding="utf-8")))
        for csv in (tmp / "results").rglob("*.csv"):
            assert "nan" not in csv.read_text(encoding="utf-8").lower(), csv.name
    assert metric_problems(metrics) == []


# --------------------------------------------------------------------------- corruptions

VALID = casegen.datasets(max_clients=4).filter(lambda r: len(r["enrolments"]) > 0)

# (table, column, bad value, rule): one field made invalid
CORRUPTIONS = [
    ("clients", "sex", "unknown_sex", "unknown_code"),
    ("clients", "household_size", "three", "invalid_integer"),
    ("clients", "birth_year", "1850", "out_of_range"),
    ("clients", "client_id", "", "required"),
    ("enrolments", "enrolment_date", "31-02-2016", "invalid_date"),
    ("enrolments", "enrolment_date", "2030-01-01", "on_or_before_cutoff"),
    ("enrolments", "project", "MOH9", "unknown_code"),
    ("enrolments", "client_id", "NOBODY", "enrolment_client_exists"),
    ("enrolments", "consent_research", "maybe", "invalid_boolean"),
    ("sessions", "session_date", "2099-01-01", "on_or_before_cutoff"),
    ("referrals", "receiving_org", "NASA", "unknown_code"),
    ("departures", "departure_date", "2099-06-01", "on_or_before_cutoff"),
    ("departures", "verification", "rumour", "unknown_code"),
    ("support", "amount_eur", "-5", "out_of_range"),
    ("monitoring", "contact_date", "2099-12-31", "on_or_before_cutoff"),
    ("monitoring", "rss_social", "1.5", "out_of_range"),
    ("monitoring", "window", "m99", "unknown_code"),
]


@settings(FAST, max_examples=25)
@given(rows=VALID, data=st.data())
def test_a_single_corrupted_field_names_file_row_column_and_rule(rows, data) -> None:
    usable = [c for c in CORRUPTIONS if rows[c[0]]]
    table, column, value, rule = data.draw(st.sampled_from(usable))
    i = data.draw(st.integers(0, len(rows[table]) - 1))
    rows[table][i][column] = value
    with tempfile.TemporaryDirectory() as d:
        folder = casegen.write(rows, Path(d) / "cases")
        _, report = validate_dataset(folder, casegen.PERIODS, cutoff=casegen.CUTOFF)
    assert not report.ok
    row = i + 2  # the header is row 1 of the file
    hits = [p for p in report.errors if p.rule == rule and p.row == row and p.column == column]
    assert hits, f"{rule} at {table}.csv row {row}, column {column}: {report.errors}"
    assert hits[0].table == table
    assert hits[0].message.startswith(f"{table}.csv row {row}, column {column}: ")
