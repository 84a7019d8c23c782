"""What the usage page answers: totals and series of usage and charges."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Literal

from agentworks_platform.money import MoneyOut
from pydantic import Field

from agentworks_billing.schemas import Schema
from agentworks_billing.usage.service import UsageRow


class UsageRowOut(Schema):
    key: str | None = Field(default=None, description="The group (a date, provider, model, agent or id).")
    provider_calls: int
    input_tokens: int
    output_tokens: int
    images: int
    cost: MoneyOut | None = Field(description="Provider cost; hidden (null) from viewers.")
    runs: int
    price: MoneyOut | None = Field(description="Charges; null when grouped by provider or model (runs are billed).")

    @classmethod
    def of(cls, row: UsageRow, with_cost: bool) -> UsageRowOut:
        return cls(
            key=row.key,
            provider_calls=row.provider_calls,
            input_tokens=row.input_tokens,
            output_tokens=row.output_tokens,
            images=row.images,
            cost=row.cost if with_cost else None,
            runs=row.runs,
            price=row.price,
        )


class UsageOut(Schema):
    workspace_id: uuid.UUID
    start: date
    end: date
    currency: Literal["USD"] = "USD"
    totals: UsageRowOut
    series: dict[str, list[UsageRowOut]]
