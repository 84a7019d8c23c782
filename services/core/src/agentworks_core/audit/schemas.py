"""Audit entries: as the audit log answers them, and as another service asks core to record one."""

from __future__ import annotations

import uuid
from typing import Annotated

from agentworks_events import UtcDateTime
from pydantic import BaseModel, ConfigDict, Field

from agentworks_core.schemas import Out


class AuditOut(Out):
    id: uuid.UUID
    actor_id: uuid.UUID | None
    action: str
    resource_type: str
    resource_id: uuid.UUID
    before: dict[str, object] | None
    after: dict[str, object] | None
    request_id: str
    client_ip: str
    created_at: UtcDateTime


class AuditIn(BaseModel):
    """An entry recorded on behalf of another service (the gateway's API-key changes)."""

    model_config = ConfigDict(extra="forbid")
    actor_id: uuid.UUID | None
    action: Annotated[str, Field(pattern=r"^[a-z_]+\.[a-z_]+$", max_length=64)]
    resource_type: Annotated[str, Field(max_length=32)]
    resource_id: uuid.UUID
    before: dict[str, object] | None = None
    after: dict[str, object] | None = None
    request_id: Annotated[str, Field(max_length=64)] = ""
    client_ip: Annotated[str, Field(max_length=64)] = ""
