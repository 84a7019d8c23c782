"""Common envelope fields and value types shared by every event."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from agentworks_events.timestamps import AwareUtcDateTime

MONEY_DIGITS, MONEY_PLACES = 18, 10
MONEY_MAX = Decimal(10) ** (MONEY_DIGITS - MONEY_PLACES) - Decimal(10) ** -MONEY_PLACES
"""The largest amount an event can carry: 99999999.9999999999."""

Money = Annotated[
    Decimal,
    Field(max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES),
    PlainSerializer(lambda value: format(value, "f"), return_type=str, when_used="json"),
]
"""A USD amount: exact Decimal, serialised as a plain decimal string."""

AgentKey = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,39}$")]
"""An agent's registry key, e.g. ``prd`` or ``dev_backend``."""

NonNegative = Annotated[int, Field(ge=0)]


def utc_now() -> datetime:
    return datetime.now(UTC)


class Frozen(BaseModel):
    """Immutable value object; unknown fields are ignored so schemas can grow additively."""

    model_config = ConfigDict(frozen=True, extra="ignore")


class Event(Frozen):
    """Fields every event carries. ``id`` is the idempotency key for every consumer."""

    id: UUID = Field(default_factory=uuid4)
    type: str
    schema_version: int = 1
    occurred_at: AwareUtcDateTime = Field(default_factory=utc_now)
    workspace_id: UUID
    project_id: UUID

    @property
    def ordering_key(self) -> str:
        """The Pub/Sub ordering key for this event ('' means unordered)."""
        return ""
