"""What a member sends to create an API key, and what the key endpoints answer (never a key's secret but once)."""

from __future__ import annotations

import uuid
from typing import Annotated

from agentworks_events import UtcDateTime
from agentworks_platform.input_rules import visible_text
from pydantic import BaseModel, ConfigDict, Field


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, visible_text(100)]


class KeyOut(BaseModel):
    """A key as listed: whose it is (the person it acts as) and when it was made, last used and revoked."""

    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    name: str
    prefix: str
    created_by: uuid.UUID
    created_by_email: str | None = Field(default=None, description="The creator's email; none once they are gone.")
    created_at: UtcDateTime
    last_used_at: UtcDateTime | None
    revoked_at: UtcDateTime | None


class NewKeyOut(KeyOut):
    key: str
