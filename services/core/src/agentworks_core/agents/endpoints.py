"""Agent registry and per-project agent configuration endpoints."""

from __future__ import annotations

import uuid

from agentworks_platform.app import SessionDep
from agentworks_platform.errors import error_responses
from fastapi import APIRouter

from agentworks_core.access import PrincipalDep, authorize_resource
from agentworks_core.agents import service
from agentworks_core.agents.schemas import AgentConfigIn, AgentConfigOut, AgentKey, AgentOut, ModelOut
from agentworks_core.state import ModelCatalogDep

router = APIRouter(prefix="/api", tags=["agents"], responses=error_responses(404, 503))


@router.get("/agents", summary="The agent registry")
async def list_agents(_principal: PrincipalDep) -> list[AgentOut]:
    return service.registry()


@router.get("/models", summary="Every (provider, model) the provider router serves, for agent configuration")
async def list_models(_principal: PrincipalDep, catalog: ModelCatalogDep) -> list[ModelOut]:
    return [ModelOut(provider=provider, model=model) for provider, model in sorted(await catalog.models())]


@router.get("/projects/{project_id}/agents", summary="Each agent's provider, model and state for a project")
async def project_agents(project_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> list[AgentConfigOut]:
    await authorize_resource(session, principal, "project", project_id, "read")
    return await service.configs(session, project_id)


@router.put("/projects/{project_id}/agents/{agent}", summary="Map an agent to a provider and model, or disable it")
async def configure_agent(
    project_id: uuid.UUID,
    agent: AgentKey,
    body: AgentConfigIn,
    session: SessionDep,
    principal: PrincipalDep,
    catalog: ModelCatalogDep,
) -> AgentConfigOut:
    access = await authorize_resource(session, principal, "project", project_id, "write")
    return await service.configure(session, access, catalog, project_id, agent, body)
