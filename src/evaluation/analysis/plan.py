"""analysis_plan.yaml parsed into a typed object: the estimands every analysis reads.

The plan states, for each outcome, the population, time origin, horizons, event, and how
competing exits, withdrawal, censoring, carry-over clients and deaths are handled; the project
contrasts, the equivalence margin, the multiplicity policy and the sensitivity analyses.
Mistakes are reported as ConfigError naming the key (exit code 2).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evaluation.config import parse_date, read_yaml
from evaluation.errors import ConfigError

PLAN_FILE = "analysis_plan.yaml"
DEFAULT_PLAN = Path(__file__).resolve().parents[3] / PLAN_FILE
WITHDRAWAL_HANDLING = ("competing", "censored")
CARRY_OVER = ("first_enrolment", "exclude")
DEATHS = {
    "leave_denominator": "leave the denominators from the window where the death was recorded",
    "count_as_lost": "count as not reached (lost to follow-up)",
}
INTERVAL_METHODS = ("aalen_johansen_variance", "bootstrap")
SENSITIVITY_IDS = (
    "withdrawal_alternative",
    "carry_over_excluded",
    "covid_censored",
    "covid_split",
    "loss_as_remigration",
)


@dataclass(frozen=True)
class Estimand:
    """What every estimand declares: its population, time origin, event and horizons."""

    label: str
    population: str
    time_origin: str
    event: str
    horizons: tuple[float, ...]
    primary_horizon: float
    summary_measure: str


@dataclass(frozen=True)
class ReturnEstimand(Estimand):
    """Primary conversion estimand: cumulative incidence of verified return from enrolment."""

    competing_exits: tuple[str, ...]
    withdrawal_handling: str  # 'competing' or 'censored'
    withdrawal_reasons: tuple[str, ...]
    censoring: str
    carry_over: str  # 'first_enrolment' or 'exclude'
    deaths: str

    @property
    def other_withdrawal_handling(self) -> str:
        """The choice not taken, run as a sensitivity analysis."""
        return "censored" if self.withdrawal_handling == "competing" else "competing"

    def exits_competing(self, withdrawal: str | None = None) -> tuple[str, ...]:
        """Exit reasons treated as competing: the declared ones, plus withdrawal and lost
        contact when they are handled as competing (`withdrawal` overrides the plan)."""
        how = withdrawal or self.withdrawal_handling
        extra = self.withdrawal_reasons if how == "competing" else ()
        return tuple(dict.fromkeys((*self.competing_exits, *extra)))


@dataclass(frozen=True)
class DurabilityEstimand(Estimand):
    """Durability: still in the country of return at monitoring windows after departure."""

    censoring: str
    window_grace_days: int
    deaths: str  # a key of DEATHS
    landmark_months: float

    @property
    def deaths_text(self) -> str:
        """How deaths are handled, in words."""
        return DEATHS[self.deaths]

    @property
    def follow_up_options(self) -> dict:
        """Keyword arguments for analysis.monitoring_windows.follow_up / durability.analyse."""
        return {
            "grace_days": self.window_grace_days,
            "deaths_leave": self.deaths == "leave_denominator",
        }

    @property
    def analysis_options(self) -> dict:
        """Keyword arguments for analysis.durability.analyse: follow_up_options and the
        support-type landmark."""
        return {**self.follow_up_options, "landmark_months": self.landmark_months}


@dataclass(frozen=True)
class Contrast:
    """other − baseline on an outcome's primary estimand."""

    baseline: str
    other: str
    outcome: str = "return"

    @property
    def key(self) -> str:
        """Stable metric prefix, e.g. 'moh1_vs_moh2'."""
        return f"{self.baseline.lower()}_vs_{self.other.lower()}"


@dataclass(frozen=True)
class Inference:
    """Interval level and method, equivalence margin, power and model thresholds."""

    level: float
    interval_method: str
    equivalence_margin: float  # as a proportion (0.10 = 10 points)
    power: float
    min_events_per_parameter: int
    covariates: tuple[str, ...]
    no_event_bound_level: float
    bootstrap_samples: int = 500
    seed: int = 20151001


@dataclass(frozen=True)
class Sensitivity:
    """One declared sensitivity analysis."""

    id: str
    label: str
    date: dt.date | None = None
    threshold: float | None = None


@dataclass(frozen=True)
class Deviation:
    """A change made after the plan was fixed, with its date and reason."""

    date: str
    change: str
    reason: str


@dataclass(frozen=True)
class Plan:
    """The whole analysis plan."""

    path: Path
    version: str
    date: str
    status: str
    return_: ReturnEstimand
    durability: DurabilityEstimand
    contrasts: tuple[Contrast, ...]
    inference: Inference
    multiplicity_policy: str
    primary: str
    sensitivity: tuple[Sensitivity, ...]
    deviations: tuple[Deviation, ...] = field(default_factory=tuple)

    def sensitivity_by_id(self, sid: str) -> Sensitivity | None:
        """The declared sensitivity analysis with this id, or None when not declared."""
        return next((s for s in self.sensitivity if s.id == sid), None)

    def contrasts_for(self, projects: list[str] | tuple[str, ...]) -> tuple[Contrast, ...]:
        """The declared contrasts whose two projects are both present."""
        return tuple(c for c in self.contrasts if c.baseline in projects and c.other in projects)


# --------------------------------------------------------------------------- parsing


def _get(d: dict, key: str, where: str, kind: type | tuple[type, ...], expected: str) -> Any:
    if not isinstance(d, dict) or key not in d:
        raise ConfigError(f"{where}.{key} is missing; expected {expected}")
    value = d[key]
    if isinstance(value, bool) and kind is not bool:
        raise ConfigError(f"{where}.{key} is {value!r}; expected {expected}")
    if not isinstance(value, kind):
        raise ConfigError(f"{where}.{key} is {value!r}; expected {expected}")
    return value


def _text(d: dict, key: str, where: str) -> str:
    return str(_get(d, key, where, str, "a sentence")).strip()


def _choice(d: dict, key: str, where: str, options: tuple[str, ...]) -> str:
    value = _get(d, key, where, str, f"one of {', '.join(options)}")
    if value not in options:
        raise ConfigError(f"{where}.{key} is {value!r}; expected one of {', '.join(options)}")
    return value


def _months(d: dict, key: str, where: str) -> tuple[float, ...]:
    value = _get(d, key, where, list, "a list of months, e.g. [3, 6, 12]")
    if not value or not all(
        isinstance(v, int | float) and not isinstance(v, bool) and v > 0 for v in value
    ):
        raise ConfigError(f"{where}.{key} is {value!r}; expected a list of positive months")
    return tuple(float(v) for v in value)


def _number(d: dict, key: str, where: str, low: float, high: float, default: Any = None) -> float:
    if default is not None and key not in d:
        return float(default)
    value = _get(d, key, where, (int, float), f"a number from {low:g} to {high:g}")
    if not low <= value <= high:
        raise ConfigError(f"{where}.{key} is {value!r}; expected a number from {low:g} to {high:g}")
    return float(value)


def _primary(d: dict, where: str, horizons: tuple[float, ...]) -> float:
    p = _number(d, "primary_horizon_months", where, 0, 1200)
    if p not in horizons:
        raise ConfigError(
            f"{where}.primary_horizon_months is {p:g}; expected one of horizons_months "
            f"({', '.join(f'{h:g}' for h in horizons)})"
        )
    return p


def _shared(d: dict, where: str, horizons: tuple[float, ...]) -> dict[str, Any]:
    """The fields of Estimand, read in the order they are declared."""
    return {
        "label": _text(d, "label", where),
        "population": _text(d, "population", where),
        "time_origin": _text(d, "time_origin", where),
        "event": _text(d, "event", where),
        "horizons": horizons,
        "primary_horizon": _primary(d, where, horizons),
        "summary_measure": _text(d, "summary_measure", where),
    }


def _return(d: dict, where: str) -> ReturnEstimand:
    horizons = _months(d, "horizons_months", where)
    comp = _get(d, "competing_exits", where, list, "a list of exit reasons")
    wr = _get(d, "withdrawal_reasons", where, list, "a list of exit reasons")
    return ReturnEstimand(
        **_shared(d, where, horizons),
        competing_exits=tuple(str(c) for c in comp),
        withdrawal_handling=_choice(d, "withdrawal_and_lost_contact", where, WITHDRAWAL_HANDLING),
        withdrawal_reasons=tuple(str(c) for c in wr),
        censoring=_text(d, "censoring", where),
        carry_over=_choice(d, "carry_over", where, CARRY_OVER),
        deaths=_text(d, "deaths", where),
    )


def _durability(d: dict, where: str) -> DurabilityEstimand:
    horizons = _months(d, "horizons_months", where)
    grace = _get(d, "window_grace_days", where, int, "a whole number of days ≥ 0")
    if grace < 0:
        raise ConfigError(f"{where}.window_grace_days is {grace}; expected a whole number ≥ 0")
    return DurabilityEstimand(
        **_shared(d, where, horizons),
        censoring=_text(d, "censoring", where),
        window_grace_days=int(grace),
        deaths=_choice(d, "deaths", where, tuple(DEATHS)),
        landmark_months=_number(d, "support_type_landmark_months", where, 0, 120),
    )


def _sensitivity(raw: Any, i: int, where: str) -> Sensitivity:
    w = f"{where}.sensitivity[{i}]"
    sid = _choice(raw, "id", w, SENSITIVITY_IDS)
    needs_date = sid in ("covid_censored", "covid_split")
    return Sensitivity(
        id=sid,
        label=_text(raw, "label", w),
        date=parse_date(_get(raw, "date", w, (str, dt.date), "a date"), f"{w}.date")
        if needs_date
        else None,
        threshold=_number(raw, "threshold", w, 0, 1) if sid == "loss_as_remigration" else None,
    )


def load_plan(path: str | Path | None = None) -> Plan:
    """Read and check analysis_plan.yaml (the repository's own when no path is given)."""
    import yaml

    path = Path(path) if path is not None else DEFAULT_PLAN
    if not path.is_file():
        raise ConfigError(f"analysis plan {path} does not exist")
    try:
        raw = read_yaml(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path.name} is not valid YAML: {exc}") from None
    where = path.name
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be a mapping of keys to values")
    version = raw.get("version")
    if version is None or isinstance(version, bool):
        raise ConfigError(f"{where}.version is missing; expected a version such as 1.0.0")
    outcomes = _get(raw, "outcomes", where, dict, "a block with return and durability")
    ret = _return(_get(outcomes, "return", f"{where}.outcomes", dict, "a block"), where + ".return")
    dur = _durability(
        _get(outcomes, "durability", f"{where}.outcomes", dict, "a block"), where + ".durability"
    )
    contrasts = []
    for i, c in enumerate(_get(raw, "contrasts", where, list, "a list of contrasts")):
        w = f"{where}.contrasts[{i}]"
        contrasts.append(
            Contrast(
                str(_get(c, "baseline", w, str, "a project id")),
                str(_get(c, "other", w, str, "a project id")),
                _choice(c, "outcome", w, ("return",)) if "outcome" in c else "return",
            )
        )
    inf = _get(raw, "inference", where, dict, "a block")
    wi = f"{where}.inference"
    covariates = _get(inf, "model_covariates", wi, list, "a list of covariate names")
    inference = Inference(
        level=_number(inf, "confidence_level", wi, 0.5, 0.999),
        interval_method=_choice(inf, "interval_method", wi, INTERVAL_METHODS),
        equivalence_margin=_number(inf, "equivalence_margin_points", wi, 0, 100) / 100,
        power=_number(inf, "power", wi, 0.5, 0.99),
        min_events_per_parameter=int(_number(inf, "min_events_per_parameter", wi, 1, 1000)),
        covariates=tuple(str(c) for c in covariates),
        no_event_bound_level=_number(inf, "no_event_bound_level", wi, 0.5, 0.999),
        bootstrap_samples=int(_number(inf, "bootstrap_samples", wi, 50, 100000, default=500)),
        seed=int(_number(inf, "seed", wi, 0, 2**32 - 1, default=20151001)),
    )
    mult = _get(raw, "multiplicity", where, dict, "a block with policy and primary")
    sens = tuple(
        _sensitivity(s, i, where)
        for i, s in enumerate(_get(raw, "sensitivity", where, list, "a list"))
    )
    devs = []
    for i, d in enumerate(raw.get("deviations") or []):
        w = f"{where}.deviations[{i}]"
        devs.append(
            Deviation(
                str(_get(d, "date", w, (str, dt.date), "a date")),
                _text(d, "change", w),
                _text(d, "reason", w),
            )
        )
    return Plan(
        path=path,
        version=str(version),
        date=str(raw.get("date", "")),
        status=str(raw.get("status", "")),
        return_=ret,
        durability=dur,
        contrasts=tuple(contrasts),
        inference=inference,
        multiplicity_policy=_text(mult, "policy", f"{where}.multiplicity"),
        primary=_text(mult, "primary", f"{where}.multiplicity"),
        sensitivity=sens,
        deviations=tuple(devs),
    )


def plan_path(config_path: str | Path) -> Path:
    """The plan used with a configuration: analysis_plan.yaml beside it, else the repository's."""
    beside = Path(config_path).resolve().parent / PLAN_FILE
    return beside if beside.is_file() else DEFAULT_PLAN
