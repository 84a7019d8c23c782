"""Types shared by billing's API schemas."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

Cents = Annotated[Decimal, Field(ge=0, le=Decimal(10) ** 9, decimal_places=2, description="USD, at most 2 decimals.")]


class Schema(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
