"""Label queries."""

from __future__ import annotations

import uuid

from agentworks_platform.db import is_unique_violation
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from agentworks_core.models import Label


async def labels_of(session: AsyncSession, project_id: uuid.UUID) -> list[Label]:
    query = select(Label).where(Label.project_id == project_id).order_by(Label.name, Label.id)
    return list((await session.scalars(query)).all())


async def named(session: AsyncSession, project_id: uuid.UUID, name: str) -> Label | None:
    return await session.scalar(select(Label).where(Label.project_id == project_id, Label.name == name))


async def saved(session: AsyncSession, label: Label, **values: object) -> bool:
    """Write the label, new or with ``values`` set, in a savepoint: False, with nothing written, when another of its
    project took the name first."""
    savepoint = await session.begin_nested()
    try:
        for field, value in values.items():
            setattr(label, field, value)
        session.add(label)
        await session.flush()
    except IntegrityError as exc:
        await savepoint.rollback()
        if is_unique_violation(exc):
            return False
        raise
    await savepoint.commit()
    return True


async def delete_label(session: AsyncSession, label: Label) -> None:
    await session.delete(label)
