"""Card branch records (which branch is a card's, where it started, and its merge) and the commands agents ran
on cards' working copies."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from agentworks_orchestrator.models import CardBranch, CommandRunRow, ProjectRemote, Run

LIVE_RUN_STATUSES = ("queued", "running")


async def card_branch(session: AsyncSession, card_id: uuid.UUID) -> CardBranch | None:
    return await session.get(CardBranch, card_id, populate_existing=True)


async def branches_of_project(session: AsyncSession, project_id: uuid.UUID) -> Sequence[CardBranch]:
    query = select(CardBranch).where(CardBranch.project_id == project_id)
    return (await session.scalars(query)).all()


async def add_command_run(session: AsyncSession, row: CommandRunRow) -> None:
    """Record a command run once per (run, call): a step done again on resume finds its command recorded."""
    async with session.begin_nested():
        existing = await session.scalar(
            select(CommandRunRow.id).where(CommandRunRow.run_id == row.run_id, CommandRunRow.call == row.call)
        )
        if existing is None:
            session.add(row)


async def command_runs_of_card(session: AsyncSession, card_id: uuid.UUID, limit: int) -> list[CommandRunRow]:
    query = (
        select(CommandRunRow)
        .where(CommandRunRow.card_id == card_id)
        .order_by(CommandRunRow.started_at.desc(), CommandRunRow.id.desc())
        .limit(limit)
    )
    return list((await session.scalars(query)).all())


async def last_failed_command(session: AsyncSession, card_id: uuid.UUID) -> CommandRunRow | None:
    """The card's newest command run that did not exit 0 (the failure a troubleshooter is given)."""
    query = (
        select(CommandRunRow)
        .where(CommandRunRow.card_id == card_id, CommandRunRow.exit_code != 0)
        .order_by(CommandRunRow.started_at.desc(), CommandRunRow.id.desc())
        .limit(1)
    )
    return await session.scalar(query)


async def project_remote(session: AsyncSession, project_id: uuid.UUID) -> ProjectRemote | None:
    return await session.get(ProjectRemote, project_id, populate_existing=True)


async def save_project_remote(session: AsyncSession, row: ProjectRemote) -> None:
    """Connect the project, or replace the remote it was connected to."""
    await session.merge(row)


async def delete_project_remote(session: AsyncSession, project_id: uuid.UUID) -> ProjectRemote | None:
    """Disconnect the project; the row it had, if any."""
    row = await session.get(ProjectRemote, project_id, with_for_update=True)
    if row is not None:
        await session.delete(row)
    return row


async def forget_project(session: AsyncSession, project_id: uuid.UUID) -> None:
    """Delete the project's card branch records and command runs (deleting again deletes nothing)."""
    await session.execute(delete(CardBranch).where(CardBranch.project_id == project_id))
    await session.execute(delete(CommandRunRow).where(CommandRunRow.project_id == project_id))


async def ended_runs_of_project(session: AsyncSession, project_id: uuid.UUID) -> list[uuid.UUID]:
    """The project's runs that no attempt works on any more (their working copies are strays if any are left)."""
    query = select(Run.id).where(Run.project_id == project_id, Run.status.not_in(LIVE_RUN_STATUSES))
    return list((await session.scalars(query)).all())
