"""Labels: named and coloured per project; deleting one takes it off every card holding it."""

from __future__ import annotations

import uuid

from agentworks_events import utc_now
from agentworks_platform.errors import Conflict, NotFound
from agentworks_pubsub import Outbox
from sqlalchemy.ext.asyncio import AsyncSession

from agentworks_core.access import Access, index_resource
from agentworks_core.audit import service as audit
from agentworks_core.cards import service as cards
from agentworks_core.labels import repository
from agentworks_core.labels.schemas import LabelChangeIn, LabelIn, LabelOut
from agentworks_core.models import Label, Project

LABELS_PER_PROJECT = 100


def _taken(name: str) -> Conflict:
    return Conflict(f"The project already has a label named '{name}'.", code="label_exists")


async def labels(session: AsyncSession, project_id: uuid.UUID) -> list[LabelOut]:
    if await session.get(Project, project_id) is None:
        raise NotFound(f"No project with id {project_id}.")
    return [LabelOut.model_validate(label) for label in await repository.labels_of(session, project_id)]


async def create(session: AsyncSession, access: Access, project_id: uuid.UUID, body: LabelIn) -> LabelOut:
    if await session.get(Project, project_id) is None:
        raise NotFound(f"No project with id {project_id}.")
    if len(await repository.labels_of(session, project_id)) >= LABELS_PER_PROJECT:
        raise Conflict(f"A project has at most {LABELS_PER_PROJECT} labels.", code="too_many_labels")
    label = Label(
        id=uuid.uuid4(),
        workspace_id=access.workspace_id,
        project_id=project_id,
        name=body.name,
        color=body.color,
        created_at=utc_now(),
    )
    if not await repository.saved(session, label):
        raise _taken(body.name)
    index_resource(session, "label", label.id, access.workspace_id)
    audit.record(session, access, "label.created", "label", label.id, after={"name": label.name, "color": label.color})
    return LabelOut.model_validate(label)


async def _label(session: AsyncSession, label_id: uuid.UUID) -> Label:
    label = await session.get(Label, label_id)
    if label is None:
        raise NotFound(f"No label with id {label_id}.")
    return label


async def change(session: AsyncSession, access: Access, label_id: uuid.UUID, body: LabelChangeIn) -> LabelOut:
    label = await _label(session, label_id)
    before = {"name": label.name, "color": label.color}
    if body.name is not None and body.name != label.name and not await repository.saved(session, label, name=body.name):
        raise _taken(body.name)
    if body.color is not None:
        label.color = body.color
    audit.record(
        session, access, "label.updated", "label", label.id, before, {"name": label.name, "color": label.color}
    )
    return LabelOut.model_validate(label)


async def delete(session: AsyncSession, access: Access, outbox: Outbox, label_id: uuid.UUID) -> None:
    label = await _label(session, label_id)
    await cards.drop_label(session, access, outbox, label)
    audit.record(session, access, "label.deleted", "label", label.id, {"name": label.name, "color": label.color})
    await repository.delete_label(session, label)
