"""Money in API responses: exact decimal strings in plain notation (never ``0E-10``, never a float)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import PlainSerializer


def money_text(value: Decimal) -> str:
    """An amount as a plain decimal string without trailing zeros: ``12.25``, ``0.0001234``, ``100``, ``0``."""
    return format(value.normalize(), "f")


MoneyOut = Annotated[Decimal, PlainSerializer(money_text, return_type=str, when_used="json")]
"""A USD amount in responses: an exact decimal string such as ``"12.25"``."""
