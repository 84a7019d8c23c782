"""Project document shapes."""

from __future__ import annotations

import uuid
from typing import Annotated

from agentworks_events import UtcDateTime
from pydantic import Field

from agentworks_core.schemas import Out, StrictBody

DocumentKind = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,63}$")]
STANDARD_KINDS = ("blueprint", "prd", "mvp", "agent_playbook", "infra_design")


class DocumentWrite(StrictBody):
    title: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    content: Annotated[str, Field(max_length=1_000_000)]
    content_type: Annotated[str, Field(pattern=r"^[a-z]+/[a-z0-9.+-]+$")] = "text/markdown"


class DocumentOut(Out):
    id: uuid.UUID
    project_id: uuid.UUID
    kind: str
    title: str
    latest_version: int
    updated_at: UtcDateTime
    card_id: uuid.UUID | None = Field(
        default=None, description="The card whose document this is; none for the project's own documents."
    )
    card_title: str | None = Field(default=None, description="That card's title.")


class VersionOut(Out):
    version: int
    title: str
    content: str
    content_type: str
    author_id: uuid.UUID | None
    source_run_id: uuid.UUID | None
    agent: str | None = Field(default=None, description="The agent whose run wrote this version, if one did.")
    card_id: uuid.UUID | None = Field(default=None, description="The card of the run that wrote this version.")
    card_title: str | None = Field(default=None, description="That card's title.")
    created_at: UtcDateTime


class VersionMeta(Out):
    version: int
    title: str
    content_type: str
    author_id: uuid.UUID | None
    source_run_id: uuid.UUID | None
    agent: str | None = Field(default=None, description="The agent whose run wrote this version, if one did.")
    card_id: uuid.UUID | None = Field(default=None, description="The card of the run that wrote this version.")
    card_title: str | None = Field(default=None, description="That card's title.")
    created_at: UtcDateTime
