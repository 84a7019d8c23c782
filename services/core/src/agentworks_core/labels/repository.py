"""Label queries."""

from __future__ import annotations

import uuid

from agentworks_platform.db import saved_unless_taken
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agentworks_core.models import Label


async def labels_of(session: AsyncSession, project_id: uuid.UUID) -> list[Label]:
    query = select(Label).where(Label.project_id == project_id).order_by(Label.name, Label.id)
    return list((await session.scalars(query)).all())


async def named(session: AsyncSession, project_id: uuid.UUID, name: str) -> Label | None:
    return await session.scalar(select(Label).where(Label.project_id == project_id, Label.name == name))


async def saved(session: AsyncSession, label: Label, **values: object) -> bool:
    """Write the label, new or with ``values`` set: False, with nothing written, when another of its project took the
    name first."""
    return await saved_unless_taken(session, label, **values)


async def delete_label(session: AsyncSession, label: Label) -> None:
    await session.delete(label)
