"""The ledger: every number the build publishes, as a cell with its population and its links.

A count cell is keyed by *who* it counts (population, numerator and the dimensions it is split
by), not by where it is printed: the same people printed in two tables are one cell, so one
decision covers both. Relations record what a reader knows for certain between cells: a whole
is the sum of its parts (a margin, the union of two projects, a published total split by
cohort), a denominator is the numerator plus its complement. Statistics derived from counts
(rates, intervals, means, curves) are *derived* entries: shown only when every count they
depend on is shown, since a shown rate times a shown N gives back a withheld n.

Amounts (e.g. euros of support in kind) are cells of kind ``amount``; their contributions
(one per person) are kept for the dominance rule and never leave the build.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

COUNT = "count"
AMOUNT = "amount"


class LedgerError(ValueError):
    """Two artefacts disagree about one cell, or a relation does not add up."""


def make_key(*parts: object, **dims: object) -> str:
    """Canonical cell key: parts plus sorted dimensions ('MOH1/returned|cohort=2016-H1')."""
    head = "/".join(str(p) for p in parts)
    tail = "|".join(f"{k}={dims[k]}" for k in sorted(dims) if dims[k] is not None)
    return f"{head}|{tail}" if tail else head


@dataclass
class Cell:
    """One published number before the check: what it counts and where it is printed."""

    key: str
    value: float
    population: str
    numerator: str
    denominator: str | None = None  # key of the denominator cell, if any
    dims: dict[str, str] = field(default_factory=dict)
    artefacts: set[str] = field(default_factory=set)
    public: bool = False  # already public (data/published/figures.csv): never hidden
    kind: str = COUNT
    contributions: tuple[float, ...] = ()  # amounts only: per-person values (internal)
    headline: bool = False  # withholding it costs more (the report's main figures)


@dataclass(frozen=True)
class Relation:
    """whole == sum(parts), known to every reader."""

    whole: str
    parts: tuple[str, ...]
    why: str = ""


@dataclass(frozen=True)
class Derived:
    """A statistic computed from cells (rate, CI, mean, curve point): shown iff all are shown."""

    key: str
    depends: tuple[str, ...]
    artefacts: frozenset[str] = frozenset()
    what: str = ""


@dataclass
class Ledger:
    """All cells, relations and derived statistics of one build."""

    cells: dict[str, Cell] = field(default_factory=dict)
    relations: list[Relation] = field(default_factory=list)
    derived: dict[str, Derived] = field(default_factory=dict)
    # relations already recorded, so that relate() stays linear as the ledger grows (rebuilt
    # when relations were added to the list directly)
    _known: set[Relation] = field(default_factory=set, repr=False, compare=False)

    # ------------------------------------------------------------------ building
    def count(
        self,
        key: str,
        value: float,
        *,
        population: str,
        numerator: str,
        denominator: str | None = None,
        dims: Mapping[str, object] | None = None,
        artefact: str | Iterable[str] = (),
        public: bool = False,
        headline: bool = False,
        kind: str = COUNT,
        contributions: Sequence[float] = (),
    ) -> str:
        """Add (or meet again) a cell; the same key must always carry the same value."""
        arts = {artefact} if isinstance(artefact, str) else set(artefact)
        if kind == COUNT and (value < 0 or value != int(value)):
            raise LedgerError(f"cell {key}: a count must be a whole number ≥ 0, got {value}")
        old = self.cells.get(key)
        if old is not None:
            if abs(old.value - value) > 1e-9:
                raise LedgerError(
                    f"cell {key} is {old.value} in {sorted(old.artefacts)} but {value} in "
                    f"{sorted(arts)}: two artefacts count the same people differently"
                )
            old.artefacts |= arts
            old.public |= public
            old.headline |= headline
            return key
        self.cells[key] = Cell(
            key,
            int(value) if kind == COUNT else float(value),
            population,
            numerator,
            denominator,
            {k: str(v) for k, v in (dims or {}).items() if v is not None},
            arts,
            public,
            kind,
            tuple(map(float, contributions)),
            headline,
        )
        return key

    def relate(self, whole: str, parts: Sequence[str], why: str = "") -> None:
        """Record whole = sum(parts); checked against the cell values at once."""
        for k in (whole, *parts):
            if k not in self.cells:
                raise LedgerError(f"relation {why or whole}: cell {k} is not in the ledger")
        total = sum(self.cells[p].value for p in parts)
        if abs(total - self.cells[whole].value) > 1e-6:
            raise LedgerError(
                f"relation {why or whole}: parts add up to {total}, "
                f"whole {whole} is {self.cells[whole].value}"
            )
        rel = Relation(whole, tuple(dict.fromkeys(parts)), why)
        if len(rel.parts) == 1 and rel.parts[0] == whole:
            return
        if len(self._known) != len(self.relations):
            self._known = set(self.relations)
        if rel not in self._known:
            self.relations.append(rel)
            self._known.add(rel)

    def rate(
        self,
        n_key: str,
        big_n_key: str,
        *,
        artefact: str | Iterable[str] = (),
        what: str = "rate",
        derived_key: str | None = None,
    ) -> str:
        """Register a rate n/N: adds the complement cell N − n (so 'N − n small' is primary)
        with N = n + (N − n), and the derived rate; returns the derived key."""
        n, big = self.cells[n_key], self.cells[big_n_key]
        comp = f"{big_n_key}~not~{n.numerator}"
        self.count(
            comp,
            big.value - n.value,
            population=big.population,
            numerator=f"not {n.numerator}",
            denominator=big_n_key,
            dims=big.dims,
            artefact=(),
        )
        self.relate(big_n_key, [n_key, comp], f"{big_n_key} = {n_key} + complement")
        key = derived_key or f"{what}:{n_key}÷{big_n_key}"
        return self.derive(key, [n_key, big_n_key, comp], artefact=artefact, what=what)

    def derive(
        self,
        key: str,
        depends: Sequence[str],
        *,
        artefact: str | Iterable[str] = (),
        what: str = "",
    ) -> str:
        """Register a statistic shown only when every cell it depends on is shown."""
        arts = frozenset({artefact} if isinstance(artefact, str) else set(artefact))
        for d in depends:
            if d not in self.cells and d not in self.derived:
                raise LedgerError(f"derived {key}: depends on unknown cell {d}")
        old = self.derived.get(key)
        if old is not None:
            arts |= old.artefacts
            depends = tuple(dict.fromkeys([*old.depends, *depends]))
        self.derived[key] = Derived(key, tuple(depends), arts, what)
        return key

    def merge(self, other: Ledger) -> None:
        """Record here, after this ledger's own, everything other recorded (other grew from an
        empty ledger): the ledger that one builder would have made doing both in turn."""
        for c in other.cells.values():
            self.count(c.key, c.value, population=c.population, numerator=c.numerator,
                       denominator=c.denominator, dims=c.dims, artefact=c.artefacts,
                       public=c.public, headline=c.headline, kind=c.kind,
                       contributions=c.contributions)  # fmt: skip
        for r in other.relations:
            self.relate(r.whole, r.parts, r.why)
        for d in other.derived.values():
            self.derive(d.key, d.depends, artefact=d.artefacts, what=d.what)

    # ------------------------------------------------------------------ reading
    def artefacts(self) -> list[str]:
        """Every artefact the ledger knows, sorted."""
        out: set[str] = set()
        for c in self.cells.values():
            out |= c.artefacts
        for d in self.derived.values():
            out |= set(d.artefacts)
        return sorted(out)

    def as_records(self) -> list[dict[str, Any]]:
        """Cells as plain dicts (values included: internal use only)."""
        return [
            {
                "key": c.key,
                "value": c.value,
                "population": c.population,
                "numerator": c.numerator,
                "denominator": c.denominator,
                "dims": c.dims,
                "artefacts": sorted(c.artefacts),
                "public": c.public,
                "kind": c.kind,
            }
            for c in self.cells.values()
        ]


def counted(
    ledger: Ledger,
    key: str,
    value: float,
    population: str,
    numerator: str,
    artefacts: str | Iterable[str],
    public: Mapping[str, int],
    dims: Mapping[str, object] | None = None,
    **kw: Any,
) -> str:
    """ledger.count() of a whole number of people, public when the published figures (public:
    key -> value) hold this very value."""
    return ledger.count(key, int(value), population=population, numerator=numerator, dims=dims,
                        artefact=artefacts, public=key in public and public[key] == int(value),
                        **kw)  # fmt: skip
