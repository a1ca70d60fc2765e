"""One-sided exact bounds for curves without events, instead of a degenerate 100–100 % interval.

With no event among n people followed to the horizon, the exact (Clopper–Pearson) one-sided
upper bound on the probability of the event is 1 − α^(1/n), α = 1 − level: the share without
the event is at least α^(1/n) (n = 20 gives "at least 86 %").
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NoEventBound:
    """Share without the event is at least `lower` (one-sided, exact), from n followed."""

    lower: float
    n: int
    level: float

    @property
    def upper_event(self) -> float:
        """Upper bound on the probability of the event."""
        return 1 - self.lower

    def describe(self, what: str = "still in the country of return") -> str:
        """'at least 86 % still in the country of return (one-sided 95 % exact bound; no event
        among 20 followed)'."""
        return (
            f"at least {100 * self.lower:.0f} % {what} (one-sided {round(100 * self.level)} % "
            f"exact bound; no event among {self.n} followed)"
        )


def no_event_bound(n: int, level: float = 0.95) -> NoEventBound | None:
    """The one-sided exact bound with no event among n followed; None when nobody was followed."""
    if n <= 0:
        return None
    return NoEventBound((1 - level) ** (1 / n), int(n), level)
