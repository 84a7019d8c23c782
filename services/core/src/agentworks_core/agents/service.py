"""Per-project agent configuration over the registry's defaults, validated against the router's models."""

from __future__ import annotations

import uuid

from agentworks_events import utc_now
from agentworks_platform.errors import AppError, NotFound
from sqlalchemy.ext.asyncio import AsyncSession

from agentworks_core.access import Access
from agentworks_core.agents import repository
from agentworks_core.agents.catalog import ModelCatalog
from agentworks_core.agents.registry import AGENTS, BY_KEY, AgentSpec
from agentworks_core.agents.schemas import AgentConfigIn, AgentConfigOut, AgentOut
from agentworks_core.audit import service as audit
from agentworks_core.models import AgentConfig, Project


def registry() -> list[AgentOut]:
    return [
        AgentOut(
            key=a.key,
            display_name=a.display_name,
            lanes=list(a.lanes),
            default_provider=a.provider,
            default_model=a.model,
            description=a.description,
        )
        for a in AGENTS
    ]


def _view(agent: AgentSpec, config: AgentConfig | None) -> AgentConfigOut:
    return AgentConfigOut(
        agent=agent.key,
        display_name=agent.display_name,
        lanes=list(agent.lanes),
        provider=config.provider if config else agent.provider,
        model=config.model if config else agent.model,
        enabled=config.enabled if config else True,
        overridden=config is not None,
    )


async def _project(session: AsyncSession, project_id: uuid.UUID) -> Project:
    project = await session.get(Project, project_id)
    if project is None:
        raise NotFound(f"No project with id {project_id}.")
    return project


async def configs(session: AsyncSession, project_id: uuid.UUID) -> list[AgentConfigOut]:
    await _project(session, project_id)
    overrides = await repository.overrides(session, project_id)
    return [_view(agent, overrides.get(agent.key)) for agent in AGENTS]


async def is_enabled(session: AsyncSession, project_id: uuid.UUID, agent: str) -> bool:
    """Whether the project lets ``agent`` run (agents are on unless a person turned one off)."""
    config = await repository.override(session, project_id, agent)
    return config.enabled if config is not None else True


async def configure(
    session: AsyncSession,
    access: Access,
    catalog: ModelCatalog,
    project_id: uuid.UUID,
    agent_key: str,
    body: AgentConfigIn,
) -> AgentConfigOut:
    project = await _project(session, project_id)
    agent = BY_KEY.get(agent_key)
    if agent is None:
        raise NotFound(f"No agent named {agent_key!r}.", details={"agents": list(BY_KEY)})
    if (body.provider, body.model) not in await catalog.models():
        raise AppError(
            f"The provider router has no model {body.model!r} from {body.provider!r}.",
            code="unknown_model",
            status_code=422,
        )
    config = await repository.override(session, project.id, agent.key)
    before = _view(agent, config).model_dump(include={"provider", "model", "enabled"})
    if config is None:
        config = AgentConfig(
            id=uuid.uuid4(),
            workspace_id=access.workspace_id,
            project_id=project.id,
            agent=agent.key,
            provider=body.provider,
            model=body.model,
        )
        session.add(config)
    config.provider, config.model, config.enabled, config.updated_at = (
        body.provider,
        body.model,
        body.enabled,
        utc_now(),
    )
    await session.flush()
    after = _view(agent, config)
    audit.record(
        session,
        access,
        "agent.configured",
        "project",
        project.id,
        {"agent": agent.key, **before},
        {"agent": agent.key, **after.model_dump(include={"provider", "model", "enabled"})},
    )
    return after
