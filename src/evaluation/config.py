"""evaluation.yml parsed into a typed, validated object; errors name the key and the expectation."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from evaluation.errors import ConfigError

KINDS = ("counselling", "return")
FORMATS = ("html", "docx", "pdf")
NOTEBOOKS = {"counselling": ("conversion",), "return": ("conversion", "durability")}


@dataclass(frozen=True)
class Project:
    """One evaluated project: its period, kind, notebooks and optional own data folder."""

    id: str
    name: str
    kind: str
    start: dt.date
    end: dt.date
    funder: str = ""
    baseline: str | None = None
    data: Path | None = None
    notebooks: tuple[str, ...] = ()
    # the last date this project's records can know about (follow-up is censored there);
    # its own `cutoff:` or else data.cutoff, so that one project's change leaves the others be
    cutoff: dt.date | None = None

    @property
    def key(self) -> str:
        """Lower-case id used in metric keys and paths ('moh1')."""
        return self.id.lower()


@dataclass(frozen=True)
class Config:
    """The whole evaluation.yml."""

    path: Path
    title: str
    language: str
    published: Path
    cases: Path
    synthetic: bool
    cutoff: dt.date
    projects: tuple[Project, ...]
    disclosure_min_count: int = 5
    rss_cutoffs: tuple[float, ...] = (0.33, 0.5, 0.66)
    min_cell_for_models: int = 10
    formats: tuple[str, ...] = FORMATS
    # periods of every configured project, kept when a run is narrowed to some projects:
    # the data may still hold the others' enrolments, which validate against their periods
    all_periods: dict[str, tuple[dt.date, dt.date]] | None = None

    def project(self, project_id: str) -> Project:
        """The project with this id (case-insensitive)."""
        for p in self.projects:
            if p.id.lower() == project_id.lower():
                return p
        known = ", ".join(p.id for p in self.projects)
        raise ConfigError(f"project '{project_id}' is not in {self.path.name} (known: {known})")

    @property
    def periods(self) -> dict[str, tuple[dt.date, dt.date]]:
        """Project id -> (start, end), for the validation of dates."""
        own = {p.id: (p.start, p.end) for p in self.projects}
        return {**(self.all_periods or {}), **own}

    def comparisons(self) -> list[tuple[Project, Project]]:
        """(baseline, project) pairs declared with `baseline:`, both among the projects run."""
        ids = {p.id for p in self.projects}
        return [(self.project(p.baseline), p) for p in self.projects if p.baseline in ids]

    def only(self, ids: str | Sequence[str]) -> Config:
        """This configuration narrowed to some projects ('MOH2' or 'ENH,MOH2'; empty = all).

        The periods of all configured projects are kept: the data may still hold the others'
        enrolments, which validate against their own periods.
        """
        wanted = [i.strip() for i in (ids.split(",") if isinstance(ids, str) else ids)]
        wanted = [i for i in wanted if i]
        if not wanted:
            return self
        chosen = tuple(self.project(i) for i in wanted)
        return replace(self, projects=chosen, all_periods=self.periods)


def _where(path: Path, key: str) -> str:
    return f"{path.name}: key '{key}'"


def _require(d: dict, key: str, where: str, kind: type | tuple[type, ...], expected: str) -> Any:
    if key not in d:
        raise ConfigError(f"{where}.{key} is missing; expected {expected}")
    value = d[key]
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise ConfigError(f"{where}.{key} is {value!r}; expected {expected}")
    return value


def parse_date(value: Any, where: str) -> dt.date:
    """A YAML date or YYYY-MM-DD text as a date; ConfigError naming `where` otherwise."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ConfigError(f"{where} is {value!r}; expected a date as YYYY-MM-DD") from None


def _check_keys(d: dict, allowed: set[str], where: str) -> None:
    unknown = sorted(set(d) - allowed)
    if unknown:
        raise ConfigError(
            f"{where}: unknown key '{unknown[0]}'; allowed keys are {', '.join(sorted(allowed))}"
        )


def _project(raw: Any, i: int, root: Path, where: str, cutoff: dt.date) -> Project:
    w = f"{where}.projects[{i}]"
    if not isinstance(raw, dict):
        raise ConfigError(f"{w} is {raw!r}; expected a block with id, name, kind, start, end")
    allowed = {
        "id", "name", "kind", "start", "end", "funder", "baseline", "data", "notebooks", "cutoff"
    }  # fmt: skip
    named = isinstance(raw.get("id"), str)
    _check_keys(raw, allowed, f"{where}.projects[{raw['id']}]" if named else w)
    pid = _require(raw, "id", w, str, "a short project id such as MOH2")
    if not pid.replace("_", "").isalnum():
        raise ConfigError(f"{w}.id is {pid!r}; expected letters, digits and underscores only")
    w = f"{where}.projects[{pid}]"
    kind = _require(raw, "kind", w, str, f"one of {', '.join(KINDS)}")
    if kind not in KINDS:
        raise ConfigError(f"{w}.kind is {kind!r}; expected one of {', '.join(KINDS)}")
    start = parse_date(_require(raw, "start", w, (str, dt.date), "a date"), f"{w}.start")
    end = parse_date(_require(raw, "end", w, (str, dt.date), "a date"), f"{w}.end")
    if end < start:
        raise ConfigError(f"{w}.end ({end}) is before {w}.start ({start}); expected end ≥ start")
    notebooks = raw.get("notebooks", list(NOTEBOOKS[kind]))
    if not isinstance(notebooks, list) or not all(
        n in ("conversion", "durability") for n in notebooks
    ):
        raise ConfigError(
            f"{w}.notebooks is {notebooks!r}; expected a list of conversion, durability"
        )
    data = raw.get("data")
    own_cutoff = parse_date(raw["cutoff"], f"{w}.cutoff") if "cutoff" in raw else cutoff
    if "cutoff" in raw and own_cutoff < start:
        raise ConfigError(
            f"{w}.cutoff ({own_cutoff}) is before {w}.start ({start}); expected the date the "
            "export was taken, on or after the project's start"
        )
    return Project(
        id=pid,
        name=str(_require(raw, "name", w, str, "the project's name")),
        kind=kind,
        start=start,
        end=end,
        funder=str(raw.get("funder", "")),
        baseline=raw.get("baseline"),
        data=(root / data) if data else None,
        notebooks=tuple(notebooks),
        cutoff=own_cutoff,
    )


@functools.cache
def _yaml_loaders(dates_as_text: bool) -> tuple[type, ...]:
    """Safe YAML loaders, libyaml's first where PyYAML has it. dates_as_text: dates stay text,
    so that a bad date is reported by its key (PyYAML's own timestamp parsing raises a bare
    ValueError for 2020-10-32, naming no key)."""
    import yaml

    bases = [b for b in (getattr(yaml, "CSafeLoader", None), yaml.SafeLoader) if b is not None]
    if not dates_as_text:
        return tuple(bases)
    timestamp = "tag:yaml.org,2002:timestamp"
    resolvers = {
        first: [(tag, rx) for tag, rx in pairs if tag != timestamp]
        for first, pairs in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    return tuple(type("DatesAsText", (b,), {"yaml_implicit_resolvers": resolvers}) for b in bases)


def read_yaml(text: str, dates_as_text: bool = False) -> Any:
    """YAML text as Python objects (safe loading). libyaml's parser reads it where PyYAML has it,
    about ten times faster and to the same objects; a text it rejects is read again by PyYAML's
    own parser, whose error (yaml.YAMLError) names the line and shows it."""
    import yaml

    loaders = _yaml_loaders(dates_as_text)
    if len(loaders) > 1:
        try:
            return yaml.load(text, Loader=loaders[0])  # noqa: S506 (a safe loader)
        except yaml.YAMLError:
            pass
    return yaml.load(text, Loader=loaders[-1])  # noqa: S506 (a safe loader)


def _missing(path: Path) -> str:
    """The file that was looked for, by its full path, and how to point at the right one."""
    text = f"configuration file {path.resolve()} does not exist"
    if not path.is_absolute() and len(path.parts) == 1:
        text += (
            f"; run the command from the folder that holds {path} (the repository's top "
            f"folder), or name the file with --config PATH/TO/{path}"
        )
    return text


def _yaml_problem(path: Path, exc: Exception) -> str:
    """'/full/path/evaluation.yml line 12, column 5: <problem> (<context>)' for a YAML error."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    where = f" line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context = getattr(exc, "context", None)
    detail = f"{problem} ({context})" if context else problem
    return (
        f"{path.resolve()} is not valid YAML at{where}: {detail}. Check the indentation "
        "(spaces, not tabs) and the colons on that line and the one before"
    )


def load(
    path: str | Path = "evaluation.yml", root: Path | None = None, projects: str = ""
) -> Config:
    """Read and validate the configuration file; relative paths are taken from its folder.

    projects: evaluate only these ('MOH2' or 'ENH,MOH2'; empty = every configured project).
    """
    import yaml

    path = Path(path)
    if not path.is_file():
        raise ConfigError(_missing(path))
    root = root or path.resolve().parent
    try:
        raw = read_yaml(path.read_text(encoding="utf-8"), dates_as_text=True)
    except yaml.YAMLError as exc:
        raise ConfigError(_yaml_problem(path, exc)) from None
    where = path.name
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be a mapping of keys to values")
    allowed = {"version", "title", "language", "data", "projects", "thresholds", "output"}
    _check_keys(raw, allowed, where)
    if raw.get("version", 1) != 1:
        raise ConfigError(f"{where}.version is {raw.get('version')!r}; expected 1")
    data = _require(raw, "data", where, dict, "a block with published, cases, synthetic, cutoff")
    _check_keys(data, {"published", "cases", "synthetic", "cutoff"}, f"{where}.data")
    raw_projects = _require(raw, "projects", where, list, "a list of project blocks")
    cutoff = parse_date(data.get("cutoff", "2020-12-31"), f"{where}.data.cutoff")
    blocks = tuple(_project(p, i, root, where, cutoff) for i, p in enumerate(raw_projects))
    ids = [p.id for p in blocks]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise ConfigError(f"{where}.projects: id '{dup[0]}' appears twice; ids must be unique")
    for p in blocks:
        if p.baseline is not None and p.baseline not in ids:
            raise ConfigError(
                f"{where}.projects[{p.id}].baseline is {p.baseline!r}; "
                f"expected one of {', '.join(ids)}"
            )
    thr = raw.get("thresholds", {}) or {}
    _check_keys(
        thr, {"disclosure_min_count", "rss_cutoffs", "min_cell_for_models"}, f"{where}.thresholds"
    )
    min_count = thr.get("disclosure_min_count", 5)
    if not isinstance(min_count, int) or isinstance(min_count, bool) or min_count < 1:
        raise ConfigError(
            f"{where}.thresholds.disclosure_min_count is {min_count!r}; expected a whole number ≥ 1"
        )
    cutoffs = thr.get("rss_cutoffs", [0.33, 0.5, 0.66])
    if not isinstance(cutoffs, list) or not all(
        isinstance(c, int | float) and not isinstance(c, bool) and 0 < c < 1 for c in cutoffs
    ):
        raise ConfigError(
            f"{where}.thresholds.rss_cutoffs is {cutoffs!r}; "
            "expected a list of numbers between 0 and 1"
        )
    min_cell = thr.get("min_cell_for_models", 10)
    if not isinstance(min_cell, int) or isinstance(min_cell, bool) or min_cell < 1:
        raise ConfigError(
            f"{where}.thresholds.min_cell_for_models is {min_cell!r}; expected a whole number ≥ 1"
        )
    out = raw.get("output", {}) or {}
    _check_keys(out, {"formats"}, f"{where}.output")
    formats = out.get("formats", list(FORMATS))
    if not isinstance(formats, list) or not formats or any(f not in FORMATS for f in formats):
        raise ConfigError(
            f"{where}.output.formats is {formats!r}; "
            f"expected a list drawn from {', '.join(FORMATS)}"
        )
    synthetic = data.get("synthetic", False)
    if not isinstance(synthetic, bool):
        raise ConfigError(f"{where}.data.synthetic is {synthetic!r}; expected true or false")
    cfg = Config(
        path=path,
        title=str(raw.get("title", "Evaluation")),
        language=str(raw.get("language", "en")),
        published=root / _require(data, "published", f"{where}.data", str, "a path to a CSV"),
        cases=root / _require(data, "cases", f"{where}.data", str, "a path to a folder"),
        synthetic=synthetic,
        cutoff=cutoff,
        projects=blocks,
        disclosure_min_count=min_count,
        rss_cutoffs=tuple(float(c) for c in cutoffs),
        min_cell_for_models=min_cell,
        formats=tuple(formats),
    )
    return cfg.only(projects)
