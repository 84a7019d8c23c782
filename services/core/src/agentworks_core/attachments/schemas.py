"""Attachment shapes."""

from __future__ import annotations

import uuid

from agentworks_events import UtcDateTime
from pydantic import Field

from agentworks_core.schemas import Out


class AttachmentOut(Out):
    """A file attached to a card; ``content_type`` is what its bytes are, never what the uploader said."""

    id: uuid.UUID
    card_id: uuid.UUID
    filename: str
    content_type: str
    size: int = Field(description="Bytes.")
    uploaded_by: uuid.UUID | None
    created_at: UtcDateTime
