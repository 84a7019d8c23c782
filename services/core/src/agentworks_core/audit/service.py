"""Every state change leaves an audit entry: actor, action, resource, before/after, request and address."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from agentworks_events import CodeMerged, utc_now
from agentworks_internal_api.core import AuditIn
from agentworks_platform.db import set_tenant
from agentworks_platform.pagination import decode_cursor, encode_cursor
from sqlalchemy.ext.asyncio import AsyncSession

from agentworks_core.access import Access
from agentworks_core.audit import repository
from agentworks_core.models import AuditEntry


def record(
    session: AsyncSession,
    access: Access,
    action: str,
    resource_type: str,
    resource_id: uuid.UUID,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    repository.add(
        session,
        workspace_id=access.workspace_id,
        actor_id=access.principal.user_id,
        action=action,
        resource_type=resource_type,
        resource_id=resource_id,
        before=_plain(before),
        after=_plain(after),
        request_id=access.principal.request_id[:64],
        client_ip=access.principal.client_ip[:64],
        created_at=utc_now(),
    )


def record_for_run(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    run_id: uuid.UUID,
    action: str,
    resource_type: str,
    resource_id: uuid.UUID,
    after: dict[str, Any] | None = None,
) -> None:
    """A change an agent's run made: no person is its actor; the request names the run."""
    repository.add(
        session,
        workspace_id=workspace_id,
        actor_id=None,
        action=action,
        resource_type=resource_type,
        resource_id=resource_id,
        before=None,
        after=_plain(after),
        request_id=f"run:{run_id}"[:64],
        client_ip="",
        created_at=utc_now(),
    )


def record_merge(session: AsyncSession, event: CodeMerged) -> None:
    """A person merged the card's branch (through the orchestrator): the entry is theirs, on the card."""
    repository.add(
        session,
        workspace_id=event.workspace_id,
        actor_id=event.merged_by,
        action="code.merged",
        resource_type="card",
        resource_id=event.card_id,
        before={"sha": event.base_sha},
        after={"branch": event.branch, "sha": event.merged_sha},
        request_id=f"event:{event.id}"[:64],
        client_ip="",
        created_at=event.occurred_at,
    )


def _plain(values: dict[str, Any] | None) -> dict[str, Any] | None:
    if values is None:
        return None
    return {k: v if isinstance(v, str | int | bool | float | type(None)) else str(v) for k, v in values.items()}


async def entries(
    session: AsyncSession, access: Access, cursor: str | None, limit: int
) -> tuple[list[AuditEntry], str | None]:
    after = decode_cursor(cursor, (datetime.fromisoformat, uuid.UUID))
    rows = await repository.page(session, access.workspace_id, after, limit)
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1].created_at.isoformat(), rows[-1].id) if more and rows else None


async def record_for_service(session: AsyncSession, workspace_id: uuid.UUID, entry: AuditIn) -> None:
    """Record another service's entry once per its ``entry_id``: a retry of the same entry adds nothing."""
    await set_tenant(session, workspace_id=workspace_id)
    await repository.add_once(
        session,
        id=entry.entry_id,
        workspace_id=workspace_id,
        actor_id=entry.actor_id,
        action=entry.action,
        resource_type=entry.resource_type,
        resource_id=entry.resource_id,
        before=_plain(entry.before),
        after=_plain(entry.after),
        request_id=entry.request_id,
        client_ip=entry.client_ip,
        created_at=utc_now(),
    )
