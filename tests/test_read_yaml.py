"""config.read_yaml: libyaml's parser where PyYAML has it, PyYAML's own for its errors."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from evaluation.config import _yaml_loaders, read_yaml

ROOT = Path(__file__).resolve().parents[1]
SKIP = {".venv", "build", "node_modules", ".git"}


def _repository_yaml() -> list[Path]:
    files = [*ROOT.rglob("*.yaml"), *ROOT.rglob("*.yml")]
    return sorted(p for p in files if not SKIP & set(p.relative_to(ROOT).parts))


def test_every_yaml_file_of_the_repository_reads_as_pyyaml_reads_it() -> None:
    files = _repository_yaml()
    assert len(files) >= 10  # schemas, codes, plan, questions, presentation, scenarios, config
    for path in files:
        text = path.read_text(encoding="utf-8-sig")
        assert read_yaml(text) == yaml.load(text, Loader=yaml.SafeLoader), path  # noqa: S506


def test_libyaml_is_used_where_pyyaml_has_it() -> None:
    loaders = _yaml_loaders(False)
    assert loaders[-1] is yaml.SafeLoader
    if getattr(yaml, "__with_libyaml__", False):
        assert loaders[0] is yaml.CSafeLoader


@pytest.mark.parametrize("dates_as_text", [False, True])
def test_dates_stay_text_when_asked(dates_as_text: bool) -> None:
    got = read_yaml("start: 2015-10-01\nn: 12\n", dates_as_text=dates_as_text)
    assert got == {"start": "2015-10-01" if dates_as_text else dt.date(2015, 10, 1), "n": 12}
    if dates_as_text:  # a date that does not exist is left for the caller to name by its key
        assert read_yaml("end: 2020-10-32", dates_as_text=True) == {"end": "2020-10-32"}
    else:
        with pytest.raises(ValueError):
            read_yaml("end: 2020-10-32")


def test_a_broken_text_raises_pyyamls_own_error() -> None:
    text = "projects:\n  - id: MOH1\n   name: bad indent\n"
    with pytest.raises(yaml.YAMLError) as own:
        yaml.load(text, Loader=yaml.SafeLoader)  # noqa: S506
    with pytest.raises(yaml.YAMLError) as ours:
        read_yaml(text)
    assert str(ours.value) == str(own.value)
    assert "line 3" in str(ours.value)
