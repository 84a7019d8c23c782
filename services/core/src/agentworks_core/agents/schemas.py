"""Agent registry and configuration shapes."""

from __future__ import annotations

from typing import Annotated

from agentworks_internal_api.core import ContextAgentOut
from fastapi import Path
from pydantic import BaseModel, Field

from agentworks_core.agents.registry import BY_KEY
from agentworks_core.schemas import StrictBody

AgentKey = Annotated[str, Path(description="The agent's key.", json_schema_extra={"enum": list(BY_KEY)})]
"""An agent named in a path: the document lists the keys; the service answers an unknown one with 404."""


class AgentOut(BaseModel):
    key: str
    display_name: str
    lanes: list[int]
    default_provider: str
    default_model: str
    description: str


class AgentConfigOut(ContextAgentOut):
    """How an agent is configured for the project: its lanes, provider and model, and whether it runs (the same
    shape the run context gives the orchestrator)."""


class AgentConfigIn(StrictBody):
    provider: Annotated[str, Field(min_length=1, max_length=40)]
    model: Annotated[str, Field(min_length=1, max_length=100)]
    enabled: bool = True


class ModelOut(BaseModel):
    provider: str
    model: str
