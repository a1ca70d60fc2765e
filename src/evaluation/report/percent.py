"""Proportions as the report writes them: one decimal and a spaced percent sign."""

from __future__ import annotations


def pct(x: float) -> str:
    """0.1234 → '12.3 %'."""
    return f"{100 * x:.1f} %"
