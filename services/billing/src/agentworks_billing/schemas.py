"""Types shared by billing's API schemas."""

from __future__ import annotations

import re
from datetime import date
from decimal import ROUND_FLOOR, Decimal
from typing import Annotated

from agentworks_events.base import MONEY_MAX
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from agentworks_billing.models import AMOUNT_MAX, AMOUNT_PLACES

CENT = Decimal("0.01")
LARGEST_AMOUNT = min(AMOUNT_MAX, MONEY_MAX)
"""What both the ledger's columns and the events' Money can hold; every amount a client sends stays below it."""

LARGEST_CENTS = LARGEST_AMOUNT.quantize(CENT, ROUND_FLOOR)
_WHOLE_DIGITS = len(str(int(LARGEST_CENTS)))
POSITIVE_CENTS_TEXT = rf"^(?=[0-9.]*[1-9])[0-9]{{1,{_WHOLE_DIGITS}}}(\.[0-9]{{1,2}})?$"
"""An amount above zero written as text: digits, and at most two decimals (no sign, exponent or spaces)."""


def _text_as_documented(pattern: str) -> BeforeValidator:
    """Amounts may be sent as JSON numbers or as exact decimal text; text must match the documented pattern."""
    compiled = re.compile(pattern)

    def check(value: object) -> object:
        if isinstance(value, str) and compiled.fullmatch(value) is None:
            raise ValueError(
                "An amount written as text must be digits with at most two decimals, like '25' or '12.50'."
            )
        return value

    return BeforeValidator(check)


PositiveCents = Annotated[
    Decimal,
    _text_as_documented(POSITIVE_CENTS_TEXT),
    Field(gt=0, le=LARGEST_CENTS, decimal_places=2, multiple_of=CENT, allow_inf_nan=False),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "exclusiveMinimum": 0, "maximum": float(LARGEST_CENTS), "multipleOf": float(CENT)},
                {"type": "string", "pattern": POSITIVE_CENTS_TEXT},
            ],
            "description": f"USD above zero, at most {LARGEST_CENTS} with 2 decimals, as a number or as text.",
        }
    ),
]
LedgerAmount = Annotated[
    Decimal,
    Field(
        le=LARGEST_AMOUNT,
        decimal_places=AMOUNT_PLACES,
        multiple_of=Decimal(1).scaleb(-AMOUNT_PLACES),
        allow_inf_nan=False,
    ),
]
"""An exact amount the ledger stores as it is (at most 10 decimals); narrow it with ``ge``/``le`` where it is used."""


ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _iso_day(value: object) -> object:
    """Only the calendar date the document promises (YYYY-MM-DD): no timestamps, week dates or numbers."""
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or ISO_DAY.fullmatch(value) is None:
        raise ValueError("A day is written YYYY-MM-DD.")
    return value


Day = Annotated[date, BeforeValidator(_iso_day)]
"""A calendar day (UTC) in a query or body."""


class Schema(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
