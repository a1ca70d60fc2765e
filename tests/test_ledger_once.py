"""The disclosure ledger computes each analysis once (issue 16): its shortcuts against the
slower second method they replace.

- publish.ledger_tables (only the columns the ledger counts, sessions as distinct enrolments,
  identifiers coded as read) gives the ledger of the whole prepared tables;
- efficiency.stayers_12m read from the durability follow-up grid (grace period, deaths) gives
  the stayers of efficiency's own grid (no grace period, deaths as lost);
- estimands.person_times_each (first projects and carry-over found once) gives the person
  times of the scenarios one by one, and excluding carry-over drops exactly the rows marked.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from evaluation import config
from evaluation.analysis import efficiency, estimands, monitoring_windows
from evaluation.analysis.conversion import client_frame
from evaluation.analysis.plan import load_plan
from evaluation.data import synthetic

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    return synthetic.generate(seed=11)


def _ledger(tables, cfg, plan):
    from evaluation.publish import ledger_build

    return ledger_build.build(
        tables,
        [(p.id, p.kind) for p in cfg.projects],
        pd.read_csv(cfg.published),
        {p.id: p.cutoff or cfg.cutoff for p in cfg.projects},
        plan.durability.follow_up_options,
        plan.return_,
        {p.id: p.end for p in cfg.projects},
        plan.durability.landmark_months,
        min_cell=cfg.disclosure_min_count,
        plan=plan,
    )


def test_ledger_tables_give_the_ledger_of_the_whole_tables(default_build):
    from evaluation.data import prepared
    from evaluation.publish import ledger_tables

    data_dir = next(p for p in (default_build / "data").iterdir() if any(p.glob("*.parquet")))
    cfg = config.load(ROOT / "evaluation.yml")
    plan = load_plan()
    whole = prepared.load(data_dir)
    read = ledger_tables.load(data_dir)
    assert len(read["sessions"]) == whole["sessions"]["enrolment_id"].nunique()
    assert set(read["clients"].columns) < set(whole["clients"].columns)
    a, b = _ledger(whole, cfg, plan), _ledger(read, cfg, plan)
    assert len(a.cells) > 500
    assert {k: c.value for k, c in a.cells.items()} == {k: c.value for k, c in b.cells.items()}
    assert a.relations == b.relations and set(a.derived) == set(b.derived)


def test_stayers_from_the_durability_grid_are_efficiencys_stayers(tables):
    cutoff = dt.date(2020, 6, 30)
    for project in ("MOH1", "MOH2"):
        ret = monitoring_windows.returnees(tables, project)
        own = efficiency.stayers_12m(
            monitoring_windows.follow_up(tables["monitoring"], ret, cutoff=cutoff)
        )
        grid = monitoring_windows.follow_up(
            tables["monitoring"], ret, cutoff=cutoff, grace_days=60, deaths_leave=True
        )
        plain = monitoring_windows.follow_up(tables["monitoring"], ret, cutoff=cutoff)
        # the options do change the grid (more windows not yet due, deaths out) ...
        assert (grid["response"] != plain["response"]).any()
        # ... but not who stayed at 12 months
        assert len(own) > 0
        assert efficiency.stayers_12m(grid).tolist() == own.tolist()


def test_person_times_each_gives_the_scenarios_one_by_one(tables):
    plan = load_plan()
    ends = {"MOH1": dt.date(2018, 3, 31), "MOH2": dt.date(2020, 10, 31)}
    cutoff = dt.date(2020, 12, 31)
    overrides = [
        {},
        {"carry_over": "exclude"},
        {"withdrawal": plan.return_.other_withdrawal_handling},
        {"censor_at": dt.date(2020, 3, 15)},
    ]
    frames = {p: client_frame(tables, p) for p in ends}
    each = estimands.person_times_each(tables, ends, cutoff, plan.return_, overrides, frames)
    for o, got in zip(reversed(overrides), reversed(each), strict=True):
        one = estimands.person_times(tables, ends, cutoff, plan.return_, frames=frames, **o)
        pd.testing.assert_frame_equal(got, one)
    primary, excluded = each[0], each[1]
    assert primary["carry_over"].any()  # the synthetic data has carry-over clients
    kept = primary[~primary["carry_over"]].reset_index(drop=True)
    pd.testing.assert_frame_equal(excluded, kept)
    # censored at an earlier date: nobody is followed past it
    censored = each[3]
    assert (censored["time"] <= primary["time"].max()).all()
    assert (censored["status"] == 1).sum() < (primary["status"] == 1).sum()


def test_pseudonyms_sort_as_their_texts():
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from evaluation.data.id_codes import _hex_numbers, _sort_order

    rng = np.random.default_rng(3)
    hexes = [f"p_{x:016x}" for x in rng.integers(0, 2**63, 500, dtype=np.int64)]
    hexes += ["p_0000000000000000", "p_ffffffffffffffff", "p_00000000000000ff"]
    for words, fast in (
        (hexes, True),
        (["p_000000000000000A", "p_0000000000000009"], False),  # upper case: not a pseudonym
        (["p_1", "p_0000000000000009"], False),  # widths differ
        (["q_0000000000000001", "p_00000000000000ff"], False),  # prefixes differ
    ):
        a = pa.array(words, pa.large_string())
        assert (_hex_numbers(a) is not None) == fast
        assert _sort_order(a).tolist() == pc.sort_indices(a).to_numpy().tolist()
    # by hand: '…0100' comes after '…00ff' as a text ('1' > '0' first) and as a number (256 > 255)
    a = pa.array(["p_0000000000000100", "p_00000000000000ff"], pa.large_string())
    assert _sort_order(a).tolist() == [1, 0]


def test_codes_from_pseudonym_digits_equal_codes_from_their_texts(monkeypatch):
    """code_ids numbers pseudonyms by their digits; the codes are those the text path gives
    (one vocabulary over every linking column, in sorted order), missing ids stay missing,
    and texts that are not all pseudonyms of one width and prefix take the text path."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from evaluation.data import id_codes
    from evaluation.publish.ledger_tables import _distinct

    rng = np.random.default_rng(5)
    pool = [f"p_{x:016x}" for x in rng.integers(0, 2**63, 60, dtype=np.int64)]

    def column(n, missing=0.0):
        return pd.Series([None if rng.random() < missing else pool[i]
                          for i in rng.integers(0, len(pool), n)], dtype="str")  # fmt: skip

    tables = {
        "clients": pd.DataFrame({"client_id": column(40)}),
        "enrolments": pd.DataFrame({"enrolment_id": column(50), "client_id": column(50, 0.1)}),
        "sessions": pd.DataFrame({"enrolment_id": column(80, 0.2)}),
    }
    fast = id_codes.code_ids(tables)
    for name, df in id_codes.code_ids(tables, workers=2).items():  # the digits read in threads
        pd.testing.assert_frame_equal(fast[name], df)
    monkeypatch.setattr(id_codes, "pseudonym_rows", lambda parts, workers=1: None)
    slow = id_codes.code_ids(tables)
    monkeypatch.undo()
    for name, df in slow.items():
        pd.testing.assert_frame_equal(fast[name], df)
    assert (
        fast["sessions"]["enrolment_id"].isna().sum()
        == tables["sessions"]["enrolment_id"].isna().sum()
    )
    for words in (["p_000000000000000A", "p_0000000000000009"],  # upper case
                  ["p_1", "p_0000000000000009"],  # widths differ
                  ["q_0000000000000001", "p_00000000000000ff"]):  # prefixes differ  # fmt: skip
        assert id_codes.pseudonym_rows([pa.array(words, pa.large_string())]) is None
        # the same texts in two columns: each one is sound, the two together are not
        columns = [pa.array([w], pa.large_string()) for w in words]
        assert [id_codes.pseudonym_rows([c]) is None for c in columns[1:]] == [False]
        for workers in (1, 2):
            assert id_codes.pseudonym_rows(columns, workers) is None
    # each enrolment once, in order of first appearance, a missing one included: as Arrow's
    sessions = pa.array(tables["sessions"]["enrolment_id"], from_pandas=True)
    assert _distinct(sessions).to_pylist() == pc.unique(sessions).to_pylist()
