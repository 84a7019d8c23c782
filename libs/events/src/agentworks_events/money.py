"""The billable price of an agent run (DESIGN §6): exact Decimal arithmetic, rounded up to the increment."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

MINIMUM_MARKUP = Decimal(5)
DEFAULT_INCREMENT = Decimal("0.25")


@dataclass(frozen=True, slots=True)
class RunPrice:
    """``unrounded = markup × cost``; ``price`` is that rounded up to a whole number of increments."""

    cost: Decimal
    markup: Decimal
    increment: Decimal
    unrounded: Decimal
    price: Decimal


def price_run(cost: Decimal, markup: Decimal = MINIMUM_MARKUP, increment: Decimal = DEFAULT_INCREMENT) -> RunPrice:
    """A run that costs nothing is billed nothing; otherwise at least one increment."""
    if markup < MINIMUM_MARKUP:
        raise ValueError(f"markup must be at least {MINIMUM_MARKUP}")
    if increment <= 0:
        raise ValueError("increment must be positive")
    if cost < 0:
        raise ValueError("cost cannot be negative")
    unrounded = markup * cost
    increments = (unrounded / increment).to_integral_value(rounding=ROUND_CEILING)
    return RunPrice(cost, markup, increment, unrounded, increments * increment)
