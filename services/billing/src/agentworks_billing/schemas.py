"""Types shared by billing's API schemas."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer


def money_text(value: Decimal) -> str:
    """An amount as a plain decimal string without trailing zeros: ``12.25``, ``0.0001234``, ``100``."""
    return format(value.normalize(), "f")


MoneyOut = Annotated[Decimal, PlainSerializer(money_text, return_type=str, when_used="json")]
"""A USD amount in responses: an exact decimal string such as ``"12.25"``."""

Cents = Annotated[Decimal, Field(ge=0, le=Decimal(10) ** 9, decimal_places=2, description="USD, at most 2 decimals.")]


class Schema(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
