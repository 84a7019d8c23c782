"""Types shared by billing's API schemas."""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal
from typing import Annotated

from agentworks_events.base import MONEY_MAX
from pydantic import BaseModel, ConfigDict, Field

from agentworks_billing.models import AMOUNT_MAX, AMOUNT_PLACES

LARGEST_AMOUNT = min(AMOUNT_MAX, MONEY_MAX)
"""What both the ledger's columns and the events' Money can hold; every amount a client sends stays below it."""

Cents = Annotated[
    Decimal,
    Field(
        ge=0,
        le=LARGEST_AMOUNT.quantize(Decimal("0.01"), ROUND_FLOOR),
        decimal_places=2,
        allow_inf_nan=False,
        description="USD, at most 2 decimals.",
    ),
]
LedgerAmount = Annotated[Decimal, Field(le=LARGEST_AMOUNT, decimal_places=AMOUNT_PLACES, allow_inf_nan=False)]
"""An exact amount the ledger stores as it is (at most 10 decimals); narrow it with ``ge``/``le`` where it is used."""


class Schema(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
