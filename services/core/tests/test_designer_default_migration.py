"""Migration 0009: a project's Designer still on the old image-model default moves to the new tool-using default;
any other choice is kept."""

from __future__ import annotations

import uuid
from pathlib import Path

from agentworks_core.agents.registry import BY_KEY
from agentworks_core.models import MIGRATIONS
from agentworks_platform.migrations import upgrade_async
from sqlalchemy import Boolean, String, Uuid, column, insert, select, table
from sqlalchemy.ext.asyncio import create_async_engine

OLD_DEFAULT = ("nano-banana", "gemini-2.5-flash-image")
# The tables as migration 0008 left them (the models may since have moved on).
WORKSPACES = table("workspaces", column("id", Uuid), column("name", String), column("created_by", Uuid))
PROJECTS = table(
    "projects",
    *(column(name, Uuid) for name in ("id", "workspace_id")),
    *(column(name, String) for name in ("name", "description", "status")),
)
CONFIGS = table(
    "agent_configs",
    *(column(name, Uuid) for name in ("id", "workspace_id", "project_id")),
    *(column(name, String) for name in ("agent", "provider", "model")),
    column("enabled", Boolean),
)


async def test_a_designer_left_on_the_old_image_model_default_moves_to_the_tool_using_default(
    database_url: str,
) -> None:
    await upgrade_async(Path(MIGRATIONS), database_url, "0008")
    workspace = uuid.uuid4()
    projects = {name: uuid.uuid4() for name in ("enabled", "disabled", "chosen", "other_agent")}
    rows = [
        (projects["enabled"], "designer", *OLD_DEFAULT, True),
        (projects["disabled"], "designer", *OLD_DEFAULT, False),
        (projects["chosen"], "designer", "openai", "gpt-5", True),
        (projects["other_agent"], "prd", *OLD_DEFAULT, True),
    ]
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(insert(WORKSPACES).values(id=workspace, name="Shop", created_by=workspace))
            await connection.execute(
                insert(PROJECTS),
                [
                    {"id": p, "workspace_id": workspace, "name": "P", "description": "", "status": "active"}
                    for p in projects.values()
                ],
            )
            await connection.execute(
                insert(CONFIGS),
                [
                    {"id": uuid.uuid4(), "workspace_id": workspace, "project_id": project, "agent": agent,
                     "provider": provider, "model": model, "enabled": enabled}
                    for project, agent, provider, model, enabled in rows
                ],
            )  # fmt: skip
        await upgrade_async(Path(MIGRATIONS), database_url)
        async with engine.connect() as connection:
            found = await connection.execute(
                select(CONFIGS.c.project_id, CONFIGS.c.agent, CONFIGS.c.provider, CONFIGS.c.model, CONFIGS.c.enabled)
            )
            configs = {(row[0], row[1]): (row[2], row[3], row[4]) for row in found}
    finally:
        await engine.dispose()
    designer = BY_KEY["designer"]
    assert configs == {
        (projects["disabled"], "designer"): (designer.provider, designer.model, False),
        (projects["chosen"], "designer"): ("openai", "gpt-5", True),
        (projects["other_agent"], "prd"): (*OLD_DEFAULT, True),
    }
