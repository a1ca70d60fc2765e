"""Which prepared folders hold integer codes for the identifiers that link tables.

One dataset: its folder holds codes, in the pseudonyms' order (`data.id_codes`). Several
datasets: each keeps its pseudonyms, and the combined folder holds the same identifiers, since
the per-project results stores are joined to it (codes number one vocabulary only).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from conftest import TEST_KEY
from conftest_contract import config_for, valid_frames, write_dataset

from evaluation.data import prepared
from evaluation.data.pseudonymise import load_key
from evaluation.pipeline import prepare
from evaluation.pipeline.jobs import Progress

SHARED = "C001"  # the one client in both datasets


def _second_dataset() -> dict[str, pd.DataFrame]:
    """The valid dataset with every row identifier and every client but one renamed."""
    frames = valid_frames()
    for df in frames.values():
        for c in [c for c in df.columns if c.endswith("_id")]:
            keep = df[c] == SHARED if c == "client_id" else pd.Series(False, index=df.index)
            df[c] = df[c].where(keep, "B" + df[c])
    return frames


def test_combined_datasets_keep_the_pseudonyms_that_link_them(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("EVALUATION_PSEUDONYM_KEY", TEST_KEY)
    monkeypatch.delenv("EVALUATION_PSEUDONYM_KEY_FILE", raising=False)
    a = write_dataset(tmp_path / "a")
    b = write_dataset(tmp_path / "b", _second_dataset())
    cfg, build = config_for(tmp_path, a), tmp_path / "build"
    dirs = sorted(prepare.prepare_dataset(d, cfg, build, load_key(), Progress())[0] for d in (a, b))
    parts = [prepared.load(d) for d in dirs]
    combined = prepared.load(prepare.combine(dirs, build))
    # the per-project notebooks' results stores (one row per client) join the combined folder
    # on the datasets' own identifiers: the combined folder must hold exactly those
    own = set().union(*(set(p["clients"]["client_id"]) for p in parts))
    assert len(own) == 5 + 5 - 1  # by hand: 5 clients each, C001 in both
    assert set(combined["clients"]["client_id"]) == own and len(combined["clients"]) == 9
    for name, table in combined.items():
        for c in ("client_id", "enrolment_id"):
            if c in table.columns:
                ids = set().union(*(set(p[name][c]) for p in parts if name in p))
                assert set(table[c]) == ids, (name, c)


def test_one_dataset_is_coded_in_its_own_folder(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("EVALUATION_PSEUDONYM_KEY", TEST_KEY)
    folder = write_dataset(tmp_path / "a")
    cfg, build = config_for(tmp_path, folder), tmp_path / "build"
    plain, _, _ = prepare.prepare_dataset(folder, cfg, build, load_key(), Progress())
    coded, _, _ = prepare.prepare_dataset(folder, cfg, build, load_key(), Progress(), coded=True)
    assert plain != coded  # the choice is part of the folder's key
    plain_t, coded_t = prepared.load(plain), prepared.load(coded)
    assert plain_t["clients"]["client_id"].map(type).eq(str).all()
    assert pd.api.types.is_integer_dtype(coded_t["clients"]["client_id"])
    # the same rows, the codes in the pseudonyms' order
    order = plain_t["clients"]["client_id"].rank().astype(int).tolist()
    assert coded_t["clients"]["client_id"].rank().astype(int).tolist() == order
