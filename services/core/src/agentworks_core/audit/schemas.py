"""Audit entries as the audit log answers them (another service asks core to record one with
``agentworks_internal_api.core.AuditIn``)."""

from __future__ import annotations

import uuid

from agentworks_events import UtcDateTime

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
