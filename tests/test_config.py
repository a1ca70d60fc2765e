"""evaluation.yml: typed values, and errors that name the key and what was expected."""

import datetime as dt

import pytest
import yaml

from evaluation import config
from evaluation.errors import ConfigError


def write(tmp_path, data):
    p = tmp_path / "evaluation.yml"
    p.write_text(yaml.safe_dump(data, sort_keys=False))
    return p


@pytest.fixture
def good():
    return yaml.safe_load(open("evaluation.yml"))


def test_default_config_is_typed(good):
    cfg = config.load("evaluation.yml")
    assert [p.id for p in cfg.projects] == ["ENH", "MOH1", "MOH2"]
    moh2 = cfg.project("moh2")
    assert moh2.start == dt.date(2018, 4, 1) and moh2.end == dt.date(2020, 10, 31)
    assert moh2.baseline == "MOH1" and moh2.notebooks == ("conversion", "durability")
    assert cfg.project("ENH").notebooks == ("conversion",)
    assert cfg.disclosure_min_count == 5 and cfg.rss_cutoffs == (0.33, 0.5, 0.66)
    assert [(b.id, p.id) for b, p in cfg.comparisons()] == [("MOH1", "MOH2")]


@pytest.mark.parametrize(
    "mutate,expected",
    [
        (lambda d: d.update(colour="blue"), "unknown key 'colour'"),
        (lambda d: d["projects"][2].update(start="2018-13-01"), "projects[MOH2].start"),
        (lambda d: d["projects"][2].update(end="2017-01-01"), "is before"),
        (lambda d: d["projects"][1].update(kind="returns"), "projects[MOH1].kind"),
        (lambda d: d["projects"][2].update(baseline="MOH9"), "projects[MOH2].baseline"),
        (lambda d: d["thresholds"].update(disclosure_min_count="five"), "disclosure_min_count"),
        (lambda d: d["thresholds"].update(rss_cutoffs=[0.5, 2]), "rss_cutoffs"),
        (lambda d: d["output"].update(formats=["html", "odt"]), "output.formats"),
        (lambda d: d["data"].update(synthetic="yes"), "data.synthetic"),
        (lambda d: d["projects"].append(dict(d["projects"][0])), "appears twice"),
        (lambda d: d["projects"][0].pop("name"), "projects[ENH].name is missing"),
    ],
)
def test_wrong_values_name_the_key(tmp_path, good, mutate, expected):
    mutate(good)
    with pytest.raises(ConfigError) as err:
        config.load(write(tmp_path, good))
    assert expected in str(err.value)


def test_adding_a_project_is_adding_a_block(tmp_path, good):
    good["projects"].append(
        {
            "id": "MOH3",
            "name": "Met Opgeheven Hoofd 3",
            "kind": "return",
            "start": "2020-11-01",
            "end": "2023-10-31",
            "baseline": "MOH2",
            "data": "exports/moh3",
        }
    )
    cfg = config.load(write(tmp_path, good))
    moh3 = cfg.project("MOH3")
    assert moh3.data == tmp_path / "exports/moh3"
    assert ("MOH2", "MOH3") in [(b.id, p.id) for b, p in cfg.comparisons()]


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        config.load(tmp_path / "nope.yml")
    p = tmp_path / "bad.yml"
    p.write_text("projects: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        config.load(p)


def test_narrowed_run_still_validates_other_projects_dates():
    from dataclasses import replace

    cfg = config.load("evaluation.yml")
    narrowed = replace(cfg, projects=(cfg.project("ENH"),), all_periods=cfg.periods)
    assert set(narrowed.periods) == {"ENH", "MOH1", "MOH2"}
    assert narrowed.periods["MOH2"] == (dt.date(2018, 4, 1), dt.date(2020, 10, 31))
