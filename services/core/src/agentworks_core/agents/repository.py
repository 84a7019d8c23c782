"""Agent configuration queries: a project's overrides of the registry's defaults."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agentworks_core.models import AgentConfig


async def overrides(session: AsyncSession, project_id: uuid.UUID) -> dict[str, AgentConfig]:
    """The project's configured agents, by agent key."""
    rows = await session.scalars(select(AgentConfig).where(AgentConfig.project_id == project_id))
    return {row.agent: row for row in rows}


async def override(session: AsyncSession, project_id: uuid.UUID, agent: str) -> AgentConfig | None:
    query = select(AgentConfig).where(AgentConfig.project_id == project_id, AgentConfig.agent == agent)
    return await session.scalar(query)
