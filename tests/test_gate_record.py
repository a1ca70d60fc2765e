"""publish.gate.checking_record: the output-checking record of files published one by one."""

from __future__ import annotations

from pathlib import Path

from evaluation.publish.gate import checking_record


def test_the_record_lists_files_in_the_order_of_their_paths_whatever_order_they_came_in():
    entries = {
        Path("moh1/metrics.conversion.json"): {"file": "m", "dropped": ["b", "c"]},
        Path("moh1-extra/t.csv"): {"file": "x"},
        Path("enh/conversion_chain.csv"): {"file": "t", "table": 2},
        Path("moh1/a.csv"): {"file": "t", "table": 0},
        Path("enh/metrics.conversion.json"): {"file": "m", "dropped": ["a"]},
    }
    record = checking_record(entries)
    # by path parts, as a sorted walk of the folder meets them: 'moh1' before 'moh1-extra'
    # (a string sort of the whole path would put 'moh1-extra/...' first: '-' < '/')
    assert list(record["files"]) == [
        "enh/conversion_chain.csv",
        "enh/metrics.conversion.json",
        "moh1/a.csv",
        "moh1/metrics.conversion.json",
        "moh1-extra/t.csv",
    ]
    assert record["tables"] == {"enh/conversion_chain.csv": 2, "moh1/a.csv": 0}
    assert record["metrics_dropped"] == ["a", "b", "c"]
    assert list(record) == ["tables", "metrics_dropped", "unmapped", "files"]
