"""Core's internal routes: who owns a card, board or project, a user's role in a workspace, what an agent run
needs to know (its context and its card's documents), a card's approval gate, and the audit entries other
services record."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from agentworks_events import ChecklistItem, UtcDateTime
from agentworks_platform.internal_http import InternalClient
from pydantic import BaseModel, ConfigDict, Field, RootModel

from agentworks_internal_api.answers import Answer
from agentworks_internal_api.route import Command, Lookup, PeerUnavailableError

RoleName = Literal["owner", "member", "viewer"]


class MembershipOut(Answer):
    """What another service needs to know about a user's place in a workspace."""

    workspace_id: uuid.UUID
    user_id: uuid.UUID
    role: RoleName


class CardOwnerOut(Answer):
    """The workspace, project and board a card belongs to."""

    workspace_id: uuid.UUID
    project_id: uuid.UUID
    board_id: uuid.UUID


class BoardOwnerOut(Answer):
    """The workspace a board belongs to."""

    workspace_id: uuid.UUID


class ProjectOwnerOut(Answer):
    """The workspace a project belongs to, and the project itself."""

    workspace_id: uuid.UUID
    project_id: uuid.UUID


class ContextProjectOut(BaseModel):
    """The project a run works in."""

    id: uuid.UUID
    workspace_id: uuid.UUID
    name: str
    description: str


class ContextCardOut(BaseModel):
    """The card a run works on."""

    id: uuid.UUID
    human_id: str = Field(default="", description="The card's short id in its project (SHOP-42), for commit trailers.")
    title: str
    description: str
    card_type: str
    parent_id: uuid.UUID | None = None
    acceptance_criteria: list[str] = Field(default_factory=list)
    checklist: list[ChecklistItem] = Field(default_factory=list)


class ContextDocumentOut(BaseModel):
    """The latest version of one of the project's documents."""

    kind: str
    title: str
    version: int
    content: str


class ContextAgentOut(BaseModel):
    """How an agent is configured for the project: its lanes, provider and model, and whether it runs."""

    agent: str
    display_name: str
    lanes: list[int]
    provider: str
    model: str
    enabled: bool
    overridden: bool


class RunContextOut(BaseModel):
    """What an agent run needs to know: its project, card and lane, the project's latest documents, and how
    each agent is configured for the project."""

    project: ContextProjectOut
    card: ContextCardOut | None
    lane_name: str
    lane_number: int | None
    requires_approval: bool
    documents: list[ContextDocumentOut]
    agents: list[ContextAgentOut]


class CardDocumentOut(Answer):
    """A card's document (its own lineage, apart from other cards' documents of the same name) at its newest
    version, and who wrote that version: an agent's run or a person."""

    name: str
    title: str
    card_id: uuid.UUID
    version: int
    content_type: str
    agent: str | None
    run_id: uuid.UUID | None
    author_id: uuid.UUID | None
    created_at: UtcDateTime


class CardDocumentVersionOut(CardDocumentOut):
    """A card's document at its newest version, with its content."""

    content: str


class CardDocumentsOut(RootModel[list[CardDocumentOut]]):
    """A card's documents, the newest version of each, without content."""


class CardGateOut(Answer):
    """A card as a merge of its branch must see it: who owns it, its title (its branch is named from it), its
    short id (the merge commit's trailer), its lane, and whether a run on it waits at an approval gate (then nothing
    of it may be merged yet)."""

    workspace_id: uuid.UUID
    project_id: uuid.UUID
    card_id: uuid.UUID
    human_id: str = Field(default="", description="The card's short id in its project (SHOP-42).")
    title: str
    lane_number: int
    lane_name: str
    requires_approval: bool
    approval_pending: bool


class AuditIn(BaseModel):
    """An entry recorded on behalf of another service (the gateway's API-key changes). ``entry_id`` is the caller's,
    the same on every retry of one change: core records one entry per id, so a retried command is recorded once."""

    model_config = ConfigDict(extra="forbid")
    entry_id: uuid.UUID
    actor_id: uuid.UUID | None
    action: Annotated[str, Field(pattern=r"^[a-z_]+\.[a-z_]+$", max_length=64)]
    resource_type: Annotated[str, Field(max_length=32)]
    resource_id: uuid.UUID
    before: dict[str, object] | None = None
    after: dict[str, object] | None = None
    request_id: Annotated[str, Field(max_length=64)] = ""
    client_ip: Annotated[str, Field(max_length=64)] = ""


MEMBERSHIP = Lookup("core", "/internal/workspaces/{workspace_id}/members/{user_id}", MembershipOut)
CARD_OWNER = Lookup("core", "/internal/cards/{card_id}", CardOwnerOut)
BOARD_OWNER = Lookup("core", "/internal/boards/{board_id}", BoardOwnerOut)
PROJECT_OWNER = Lookup("core", "/internal/projects/{project_id}", ProjectOwnerOut)
RUN_CONTEXT = Lookup("core", "/internal/projects/{project_id}/run-context", RunContextOut)
CARD_DOCUMENTS = Lookup("core", "/internal/cards/{card_id}/documents", CardDocumentsOut)
CARD_DOCUMENT = Lookup("core", "/internal/cards/{card_id}/documents/{name}", CardDocumentVersionOut)
CARD_GATE = Lookup("core", "/internal/cards/{card_id}/gate", CardGateOut)
AUDIT = Command("core", "/internal/workspaces/{workspace_id}/audit", AuditIn, idempotent=True)


class MemberLookupError(PeerUnavailableError):
    """Core could not say whether a user belongs to a workspace (unreachable or an unexpected answer)."""


async def member_role(core: InternalClient, workspace_id: uuid.UUID | str, user_id: uuid.UUID | str) -> RoleName | None:
    """The user's role in the workspace as core records it, or None when they are not a member."""
    member = await MEMBERSHIP.ask(core, workspace_id, user_id, unavailable=MemberLookupError)
    return None if member is None else member.role
