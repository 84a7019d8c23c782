"""Invitation links: a pending member becomes a member only through the secret token made for them.

The token is random (256 bits), shown once, stored only as its SHA-256 and valid for a limited time. Accepting
needs the token and an account with the invited email; failures never say which workspace the link was for.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import timedelta

from agentworks_events import utc_now
from agentworks_events.timestamps import as_utc
from agentworks_platform.db import set_tenant
from agentworks_platform.errors import AppError, Conflict, Forbidden, NotFound
from agentworks_platform.principal import Principal
from sqlalchemy.ext.asyncio import AsyncSession

from agentworks_core.access import Access, Role
from agentworks_core.audit import service as audit
from agentworks_core.models import Invitation, Member, Workspace
from agentworks_core.workspaces import repository
from agentworks_core.workspaces.schemas import InvitationLink, InvitedMemberOut, MemberOut, WorkspaceOut

TOKEN_PREFIX = "awi_"  # noqa: S105 - marks a token as an invitation's, not a secret


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def issue(session: AsyncSession, member: Member, ttl: timedelta) -> InvitedMemberOut:
    """A fresh link for a pending member; any earlier link of theirs stops working."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    invitation = Invitation(
        token_hash=token_hash(token),
        member_id=member.id,
        workspace_id=member.workspace_id,
        expires_at=utc_now() + ttl,
    )
    await repository.replace_invitation(session, invitation)
    link = InvitationLink(token=token, expires_at=invitation.expires_at)
    return InvitedMemberOut(**MemberOut.model_validate(member).model_dump(), invitation=link)


async def reissue(session: AsyncSession, access: Access, member_id: uuid.UUID, ttl: timedelta) -> InvitedMemberOut:
    member = await repository.member(session, access.workspace_id, member_id)
    if member is None:
        raise NotFound(f"No member with id {member_id}.")
    if member.user_id is not None:
        raise Conflict(f"{member.email} has already accepted; there is nothing to re-issue.", code="already_member")
    issued = await issue(session, member, ttl)
    after = {"role": member.role, "expires_at": issued.invitation.expires_at}
    audit.record(session, access, "member.invitation_reissued", "member", member.id, after=after)
    return issued


async def accept(session: AsyncSession, principal: Principal, token: str) -> WorkspaceOut:
    """Make the signed-in person the member the token was issued for, if the invited email is theirs."""
    if principal.key_workspace_id is not None:
        raise Forbidden("An API key cannot accept an invitation; sign in as the invited person.")
    invitation = await repository.invitation(session, token_hash(token))
    if invitation is None:
        raise NotFound(
            "No such invitation: the link is wrong, was already used, or was revoked.", code="invitation_not_found"
        )
    if as_utc(invitation.expires_at) <= utc_now():
        raise AppError(
            "This invitation link has expired; ask for a new one.", code="invitation_expired", status_code=410
        )
    await set_tenant(session, workspace_id=invitation.workspace_id, user_id=principal.user_id, email=principal.email)
    member = await session.get(Member, invitation.member_id)
    assert member is not None  # the invitation is deleted with its member
    if member.email.lower() != principal.email.lower():
        raise Forbidden(
            "This invitation was made for another email address; sign in with that address to accept it.",
            code="invitation_email_mismatch",
        )
    return await _join(session, principal, member, invitation)


async def _join(session: AsyncSession, principal: Principal, member: Member, invitation: Invitation) -> WorkspaceOut:
    if await repository.member_by_user(session, member.workspace_id, principal.user_id) is not None:
        raise Conflict("You are already a member of this workspace.", code="already_member")
    member.user_id, member.status = principal.user_id, "active"
    await session.delete(invitation)
    await session.flush()
    access = Access(principal, member.workspace_id, Role(member.role))
    audit.record(session, access, "member.invitation_accepted", "member", member.id, after={"role": member.role})
    workspace = await session.get(Workspace, member.workspace_id)
    assert workspace is not None
    return WorkspaceOut(id=workspace.id, name=workspace.name, created_at=workspace.created_at, role=member.role)
