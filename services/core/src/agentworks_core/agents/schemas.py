"""Agent registry and configuration shapes."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from agentworks_core.schemas import StrictBody


class AgentOut(BaseModel):
    key: str
    display_name: str
    lanes: list[int]
    default_provider: str
    default_model: str
    description: str


class AgentConfigOut(BaseModel):
    agent: str
    display_name: str
    lanes: list[int]
    provider: str
    model: str
    enabled: bool
    overridden: bool


class AgentConfigIn(StrictBody):
    provider: Annotated[str, Field(min_length=1, max_length=40)]
    model: Annotated[str, Field(min_length=1, max_length=100)]
    enabled: bool = True


class ModelOut(BaseModel):
    provider: str
    model: str
