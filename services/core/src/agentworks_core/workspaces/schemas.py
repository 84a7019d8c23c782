"""Workspace and member shapes."""

from __future__ import annotations

import uuid
from typing import Literal

from agentworks_events import UtcDateTime
from agentworks_internal_api.core import RoleName
from agentworks_platform.input_rules import EmailAddress
from pydantic import Field

from agentworks_core.schemas import Name, Out, StrictBody


class WorkspaceCreate(StrictBody):
    name: Name


class WorkspaceUpdate(StrictBody):
    name: Name


class WorkspaceOut(Out):
    id: uuid.UUID
    name: str
    created_at: UtcDateTime
    role: RoleName


class Invite(StrictBody):
    email: EmailAddress
    role: RoleName = "member"


class RoleChange(StrictBody):
    role: RoleName


class MemberOut(Out):
    id: uuid.UUID
    user_id: uuid.UUID | None
    email: str
    role: RoleName
    status: Literal["invited", "active"]
    created_at: UtcDateTime


class InvitationLink(Out):
    """The secret of a fresh invitation, shown once: the invitee accepts with it (the web app's ``/invite#token``)."""

    token: str
    expires_at: UtcDateTime


class InvitedMemberOut(MemberOut):
    """A pending member with the one-time link that lets the invited person accept."""

    invitation: InvitationLink


class AcceptInvitation(StrictBody):
    token: str = Field(min_length=1, max_length=128)
