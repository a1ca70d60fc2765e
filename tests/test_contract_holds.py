"""The vectorised contract pre-check and the identifiers hashed ahead give what pandera and the
one-process hashing give (issue 16): a "holds" must never hide a problem pandera would report."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from conftest_contract import PERIODS, write_dataset

from evaluation.data import hash_ahead, pseudonymise
from evaluation.data.coerce import coerce_table
from evaluation.data.contract import TABLES, load_spec
from evaluation.data.contract_holds import holds
from evaluation.data.read import read_dataset
from evaluation.data.schema_problems import pandera_problems
from evaluation.data.validate import configured_projects


def _typed(folder: Path) -> dict[str, pd.DataFrame]:
    raw = read_dataset(folder, TABLES)
    return {name: coerce_table(raw.tables[name], load_spec(name))[0] for name in TABLES}


# one column of each kind the contract has: text ids (unique, length), codes (nullable or
# not, configured projects), a pattern, whole numbers and numbers with ranges, dates, booleans
# (bool and boolean), free text; and the columns of monitoring's unique pair
COLUMNS = [
    ("clients", "client_id"),
    ("clients", "sex"),
    ("clients", "country_of_return"),
    ("clients", "birth_year"),
    ("clients", "household_size"),
    ("clients", "years_in_nl"),
    ("clients", "medical_needs"),
    ("clients", "vulnerability_note"),
    ("enrolments", "project"),
    ("enrolments", "exit_date"),
    ("enrolments", "consent_research"),
    ("sessions", "session_date"),
    ("support", "partner"),
    ("support", "amount_eur"),
    ("monitoring", "client_id"),
    ("monitoring", "window"),
]


def _mutations(frame: pd.DataFrame, column: str, limits: dict) -> list[tuple[str, pd.DataFrame]]:
    """Frames that differ from frame in one column: an empty cell, a repeated value, values
    outside every code list, length and pattern or on and over range limits, another dtype."""
    values = frame[column]
    first = values.index == values.index[0]
    if isinstance(values.dtype, pd.StringDtype):
        bad = ["Not Valid " + "x" * 60]
    elif pd.api.types.is_bool_dtype(values):
        bad = []
    else:
        lo, hi = limits.get("min_value", 0), limits.get("max_value", 10**6)
        bad = [lo - 1, lo, hi, hi + 1]
    out = [(str(b), frame.assign(**{column: values.where(~first, b)})) for b in bad]
    if not pd.api.types.is_bool_dtype(values) or isinstance(values.dtype, pd.BooleanDtype):
        out.append(("empty", frame.assign(**{column: values.where(~first)})))
    repeated = values.copy()
    repeated.iloc[1] = values.iloc[0]
    out.append(("repeat", frame.assign(**{column: repeated})))
    out.append(("object", frame.assign(**{column: values.astype(object)})))
    return out


def test_holds_agrees_with_pandera_on_every_one_column_change(tmp_path: Path) -> None:
    typed = _typed(write_dataset(tmp_path))
    checked = sent = 0
    for name, column in COLUMNS:
        frame = typed[name]
        spec, schema = load_spec(name), None
        if name == "enrolments":
            spec, schema = configured_projects(spec, sorted(PERIODS))
        assert holds(frame, spec)  # the valid dataset
        limits = spec.columns[column].checks.get("in_range") or {}
        for label, edited in _mutations(frame, column, limits):
            checked += 1
            if not holds(edited, spec):
                sent += 1  # pandera runs and says what is wrong (or that nothing is)
                continue
            # "holds" must never hide a problem pandera would report
            found = pandera_problems(edited, spec, "f.csv", set(), set(), schema)
            assert found == [], (name, column, label, found[0].message)
    # most changes break the contract; those that do not are recognised as clean
    assert checked > 50 and checked // 2 < sent < checked


def test_holds_sends_unknown_dtypes_and_missing_columns_to_pandera(tmp_path: Path) -> None:
    frame = _typed(write_dataset(tmp_path))["clients"]
    spec = load_spec("clients")
    assert not holds(frame.drop(columns=["sex"]), spec)
    assert not holds(frame.assign(birth_year=frame["birth_year"].astype("float64")), spec)
    assert not holds(frame.assign(client_id=frame["client_id"].astype(object)), spec)


def _per_message(texts: list[bytes], key: bytes) -> bytes:
    """The first 8 bytes of HMAC-SHA256 per text, with the standard library."""
    return b"".join(hmac.new(key, t, hashlib.sha256).digest()[:8] for t in texts)


@pytest.mark.parametrize("wait", [0.0, 0.5])
def test_hashing_ahead_gives_the_one_process_prefixes(monkeypatch, wait: float) -> None:
    import time

    monkeypatch.setattr(hash_ahead, "_STEP", 1000)
    rng = np.random.default_rng(7)
    texts = [f"C{v}".encode() for v in rng.integers(0, 10**9, 25_000)] + ["é".encode(), b""]
    array = pa.array(texts, type=pa.large_binary())
    key = b"0123456789abcdef" * 2
    ahead = hash_ahead.HashAhead(array, key)
    assert ahead.child is not None  # more than _FROM texts: a second process was started
    time.sleep(wait)  # with a head start the child has done part of the work
    assert ahead.prefixes(array, key) == _per_message(texts, key)
    assert ahead.child is None  # stopped and waited for


def test_hashing_ahead_of_other_texts_or_a_dead_child_still_gives_the_prefixes() -> None:
    texts = [f"S{i:06d}".encode() for i in range(21_000)]
    array = pa.array(texts, type=pa.large_binary())
    key = b"k" * 16
    ahead = hash_ahead.HashAhead(array, key)
    ahead.child.kill()  # type: ignore[union-attr]
    assert ahead.prefixes(array, key) == _per_message(texts, key)
    other = pa.array(texts[:-1] + [b"x"], type=pa.large_binary())
    ahead = hash_ahead.HashAhead(array, key)
    assert ahead.prefixes(other, key) == _per_message(texts[:-1] + [b"x"], key)


def test_pseudonymise_with_groups_hashed_ahead_equals_pseudonymise(tmp_path: Path) -> None:
    typed = _typed(write_dataset(tmp_path))
    key = b"a-key-of-sixteen-or-more"
    groups = pseudonymise.id_groups(typed)
    ahead = hash_ahead.HashAhead(pseudonymise.all_texts(groups), key)
    finished = {n: df.reset_index(drop=True) for n, df in typed.items()}
    got = pseudonymise.pseudonymise(finished, key, groups, ahead.prefixes)
    want = pseudonymise.pseudonymise(finished, key)
    for name in want:
        pd.testing.assert_frame_equal(got[name], want[name])
    assert got["clients"]["client_id"].iloc[0] == pseudonymise.pseudonym("C001", key)


def test_id_columns_free_of_repeats_are_found_while_grouping(tmp_path: Path) -> None:
    typed = _typed(write_dataset(tmp_path))
    found = pseudonymise.unrepeated(pseudonymise.id_groups(typed))
    # every table's own identifier (each first in its group), worked out from the contract
    own = {(name, f"{name[:-1]}_id") for name in ("clients", "enrolments", "sessions")}
    own |= {("referrals", "referral_id"), ("departures", "departure_id")}
    own |= {("support", "support_id"), ("monitoring", "contact_id")}
    assert found == own
    clients = typed["clients"].copy()
    clients.iloc[2, clients.columns.get_loc("client_id")] = "C001"
    assert ("clients", "client_id") not in pseudonymise.unrepeated(
        pseudonymise.id_groups({**typed, "clients": clients})
    )
