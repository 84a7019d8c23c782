"""Request and response shapes shared across the core's domains."""

from __future__ import annotations

from typing import Annotated

from agentworks_platform.input_rules import visible_text
from pydantic import BaseModel, ConfigDict

Name = Annotated[str, visible_text(100)]
MAX_PAGE = 200
"""The most items one page of a list answers."""


class StrictBody(BaseModel):
    """Request bodies refuse unknown fields, so a typo is an error rather than silently ignored."""

    model_config = ConfigDict(extra="forbid", str_max_length=100_000)


class Out(BaseModel):
    """Response shapes. A response always carries every field, so the published schema requires even those
    with defaults (the web app's generated types then need no checks for absent fields)."""

    model_config = ConfigDict(from_attributes=True, json_schema_serialization_defaults_required=True)
