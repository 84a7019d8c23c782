"""API keys: each member's own (viewers' too), acting with their creator's role at the time of use; shown once,
stored as SHA-256 with a visible prefix. Owners see and revoke every key of the workspace, others their own."""

from __future__ import annotations

import secrets
import uuid

from agentworks_internal_api import PeerUnavailableError
from agentworks_internal_api.core import AUDIT, AuditIn, MemberLookupError, member_role
from agentworks_platform.clock import utc_now
from agentworks_platform.errors import AppError, Forbidden, NotFound, Unavailable
from agentworks_platform.internal_http import InternalClient
from sqlalchemy.ext.asyncio import AsyncSession

from agentworks_gateway.apikeys import repository
from agentworks_gateway.models import ApiKey
from agentworks_gateway.security import API_KEY_PREFIX, Caller, digest

MAX_KEYS_PER_WORKSPACE = 50
MAX_KEYS_PER_PERSON = 10
OWNER = "owner"


async def require_member(core: InternalClient, caller: Caller, workspace_id: uuid.UUID) -> str:
    """The caller's role in the workspace, asked of core: any member manages their own keys, signed in (a key cannot
    mint or revoke keys); 404 for anyone else."""
    if caller.via == "api_key":
        raise Forbidden("API keys cannot manage API keys; sign in to manage them.")
    try:
        role = await member_role(core, workspace_id, caller.principal.user_id)
    except MemberLookupError:
        raise Unavailable("Workspaces are unavailable right now; try again shortly.") from None
    if role is None:
        raise NotFound(f"No workspace with id {workspace_id}.")
    return role


async def create(session: AsyncSession, caller: Caller, workspace_id: uuid.UUID, name: str) -> tuple[ApiKey, str]:
    """A key of the caller's own: it acts as them, with whatever role they hold when it is used."""
    mine = await repository.count_active(session, workspace_id, caller.principal.user_id)
    if mine >= MAX_KEYS_PER_PERSON:
        raise AppError(
            f"A person has at most {MAX_KEYS_PER_PERSON} active keys in a workspace; revoke one first.",
            code="too_many_keys",
            status_code=409,
        )
    if await repository.count_active(session, workspace_id) >= MAX_KEYS_PER_WORKSPACE:
        raise AppError(
            f"A workspace has at most {MAX_KEYS_PER_WORKSPACE} active keys; revoke one first.",
            code="too_many_keys",
            status_code=409,
        )
    prefix = API_KEY_PREFIX + secrets.token_hex(4)
    secret = f"{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey(
        id=uuid.uuid4(),
        workspace_id=workspace_id,
        created_by=caller.principal.user_id,
        name=name,
        prefix=prefix,
        key_hash=digest(secret),
        created_at=utc_now(),
    )
    session.add(key)
    await session.flush()
    return key, secret


async def list_keys(
    session: AsyncSession, caller: Caller, role: str, workspace_id: uuid.UUID
) -> list[tuple[ApiKey, str | None]]:
    """The workspace's keys with their creators' emails: every key for an owner, the caller's own for others."""
    creator = None if role == OWNER else caller.principal.user_id
    return await repository.keys_of_workspace(session, workspace_id, creator)


async def revoke(
    session: AsyncSession, caller: Caller, role: str, workspace_id: uuid.UUID, key_id: uuid.UUID
) -> ApiKey:
    """Revoke a key: owners any of the workspace's, others only their own (another's is not found)."""
    key = await repository.active_key(session, workspace_id, key_id)
    if key is None or (role != OWNER and key.created_by != caller.principal.user_id):
        raise NotFound("No such active API key.")
    key.revoked_at = utc_now()
    return key


async def audit(core: InternalClient, caller: Caller, workspace_id: uuid.UUID, action: str, key: ApiKey) -> None:
    """Record the change in the workspace's audit log (core owns it); failing to, the change is refused. The entry's
    id follows from the key and the action (a key is created once and revoked once), so a retry is recorded once."""
    entry = AuditIn(
        entry_id=uuid.uuid5(key.id, action),
        actor_id=caller.principal.user_id,
        action=action,
        resource_type="api_key",
        resource_id=key.id,
        after={"name": key.name, "prefix": key.prefix},
        request_id=caller.principal.request_id[:64],
        client_ip=caller.principal.client_ip,
    )
    try:
        await AUDIT.send(core, workspace_id, body=entry)
    except PeerUnavailableError:
        raise Unavailable("The audit log is unavailable right now; try again shortly.") from None
