"""Projects own one board; a new board gets the default lanes of DESIGN §6."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

from agentworks_events import ProjectDeleted, utc_text
from agentworks_platform.errors import AppError, Conflict, Forbidden, NotFound
from agentworks_platform.pagination import decode_cursor, encode_cursor
from agentworks_pubsub import Outbox
from pydantic_core import to_json
from sqlalchemy.ext.asyncio import AsyncSession

from agentworks_core.access import Access, Role, index_resource
from agentworks_core.audit import service as audit
from agentworks_core.cards import repository as cards
from agentworks_core.labels import repository as labels
from agentworks_core.labels.schemas import LabelOut
from agentworks_core.models import Board, Lane, Project
from agentworks_core.projects import repository
from agentworks_core.projects.board_cache import BoardCache
from agentworks_core.projects.schemas import (
    BoardOut,
    LaneOrder,
    LaneOut,
    LaneUpdate,
    ProjectCreate,
    ProjectOut,
    ProjectUpdate,
)

DEFAULT_LANES = (
    "Vision & Strategy",
    "Product",
    "Design",
    "Architecture",
    "Ready",
    "Build",
    "Review",
    "Test",
    "Done",
)


def key_for(name: str, taken: set[str]) -> str:
    """A project's key from its name: the initials of a name of several words (up to five), else the first five
    letters of its one word, upper case; a digit is added when the workspace has the key already."""
    words = re.findall(r"[A-Za-z][A-Za-z0-9]*", name)
    base = ("".join(w[0] for w in words[:5]) if len(words) > 1 else (words[0][:5] if words else "P")).upper()
    key, suffix = base, 2
    while key in taken:
        key, suffix = f"{base[: 10 - len(str(suffix))]}{suffix}", suffix + 1
    return key


async def create(session: AsyncSession, access: Access, body: ProjectCreate) -> ProjectOut:
    project = Project(
        id=uuid.uuid4(), workspace_id=access.workspace_id, name=body.name, description=body.description, status="active"
    )
    # Another project created meanwhile may take the key chosen: the next free one is taken then.
    for _ in range(5):
        key = key_for(body.name, await repository.keys_in(session, access.workspace_id))
        if await repository.saved(session, project, key=key):
            break
    else:
        raise Conflict("Projects are being created too fast to give this one a key; try again.", code="key_taken")
    board = Board(id=uuid.uuid4(), workspace_id=access.workspace_id, project_id=project.id, name=body.name)
    session.add(board)
    await session.flush()
    for number, name in enumerate(DEFAULT_LANES):
        lane = Lane(
            id=uuid.uuid4(),
            workspace_id=access.workspace_id,
            board_id=board.id,
            number=number,
            position=number,
            name=name,
        )
        session.add(lane)
        index_resource(session, "lane", lane.id, access.workspace_id)
    index_resource(session, "project", project.id, access.workspace_id)
    index_resource(session, "board", board.id, access.workspace_id)
    await session.flush()
    await session.refresh(project)
    audit.record(
        session, access, "project.created", "project", project.id, after={"name": project.name, "key": project.key}
    )
    return _project_out(project, board.id)


def _project_out(project: Project, board_id: uuid.UUID | None) -> ProjectOut:
    out = ProjectOut.model_validate(project)
    out.board_id = board_id
    return out


async def page(
    session: AsyncSession, access: Access, cursor: str | None, limit: int
) -> tuple[list[ProjectOut], str | None]:
    after = decode_cursor(cursor, (datetime.fromisoformat, uuid.UUID))
    rows = await repository.projects(session, access.workspace_id, after, limit)
    more, rows = len(rows) > limit, rows[:limit]
    cursor_out = encode_cursor(rows[-1].created_at.isoformat(), rows[-1].id) if more and rows else None
    boards = await repository.first_boards(session, [p.id for p in rows])
    return [_project_out(p, boards.get(p.id)) for p in rows], cursor_out


async def _project(session: AsyncSession, project_id: uuid.UUID) -> Project:
    project = await session.get(Project, project_id)
    if project is None:
        raise NotFound(f"No project with id {project_id}.")
    return project


async def get(session: AsyncSession, project_id: uuid.UUID) -> ProjectOut:
    project = await _project(session, project_id)
    boards = await repository.boards_of(session, project_id)
    return _project_out(project, boards[0].id if boards else None)


def _settings(project: Project) -> dict[str, object]:
    return {"name": project.name, "description": project.description, "key": project.key}


async def update(session: AsyncSession, access: Access, project_id: uuid.UUID, body: ProjectUpdate) -> ProjectOut:
    project = await _project(session, project_id)
    before = _settings(project)
    for field, value in body.model_dump(exclude_none=True, exclude={"key"}).items():
        setattr(project, field, value)
    if body.key is not None and body.key != project.key:
        await _rekey(session, access, project, body.key)
    audit.record(session, access, "project.updated", "project", project.id, before, _settings(project))
    return await get(session, project_id)


async def _rekey(session: AsyncSession, access: Access, project: Project, key: str) -> None:
    """Give the project a new key (owners only), and every card of it the short id the key makes."""
    if access.role != Role.OWNER:
        raise Forbidden("Only an owner may change a project's key: every card's short id changes with it.")
    if not await repository.saved(session, project, key=key):
        raise Conflict(f"Another project of this workspace has the key {key}.", code="key_taken")
    await cards.rename_human_ids(session, project.id, key)


async def delete(session: AsyncSession, access: Access, outbox: Outbox, project_id: uuid.UUID) -> None:
    """Delete the project with its boards, lanes and cards; ``project.deleted`` (in the same transaction) has the
    orchestrator remove its repository."""
    project = await _project(session, project_id)
    audit.record(session, access, "project.deleted", "project", project.id, {"name": project.name})
    await repository.delete_project(session, project)
    await session.flush()
    await outbox.add(
        session,
        ProjectDeleted(workspace_id=access.workspace_id, project_id=project_id, actor_id=access.principal.user_id),
    )


async def boards(session: AsyncSession, project_id: uuid.UUID) -> list[BoardOut]:
    await _project(session, project_id)
    return [BoardOut.model_validate(b) for b in await repository.boards_of(session, project_id)]


async def board_revision(session: AsyncSession, board_id: uuid.UUID) -> int:
    """The board's revision as this transaction sees it (read before the board itself, so a rendering is
    never older than the revision it is filed under)."""
    revision = await repository.revision_of(session, board_id)
    if revision is None:
        raise NotFound(f"No board with id {board_id}.")
    return revision


async def board_json(session: AsyncSession, cache: BoardCache, board_id: uuid.UUID, revision: int) -> bytes:
    """The board with its lanes and cards as JSON, in ``BoardDetail``'s shape, rendered once per revision.

    Built from plain rows and serialised once: a board of thousands of cards would otherwise be loaded
    as ORM objects, validated into models and validated again on the way out."""
    cached = cache.get(board_id, revision)
    if cached is not None:
        return cached
    board = await session.get(Board, board_id)
    if board is None:
        raise NotFound(f"No board with id {board_id}.")
    lanes = await repository.lanes_of(session, board_id)
    by_lane: dict[uuid.UUID, list[dict[str, Any]]] = {lane.id: [] for lane in lanes}
    badges = await repository.run_badges(session, board_id)
    for card in await repository.card_rows_of_board(session, board_id):
        badge = badges.get(card["id"])
        card["runs"] = None if badge is None else _badge(badge)
        # Plain rows skip CardOut, so its timestamp format is applied here (SQLite's are naive).
        card["created_at"], card["updated_at"] = utc_text(card["created_at"]), utc_text(card["updated_at"])
        by_lane[card["lane_id"]].append(card)
    project_labels = await labels.labels_of(session, board.project_id)
    body = {
        **BoardOut.model_validate(board).model_dump(),
        "labels": [LabelOut.model_validate(label).model_dump(mode="json") for label in project_labels],
        "lanes": [
            {
                **LaneOut.model_validate(lane).model_dump(),
                "card_count": len(by_lane[lane.id]),
                "cards": by_lane[lane.id],
            }
            for lane in lanes
        ],
    }
    rendered = to_json(body)
    cache.put(board_id, revision, rendered)
    return rendered


def _lane_settings(lane: Lane) -> dict[str, Any]:
    return {"name": lane.name, "wip_limit": lane.wip_limit, "requires_approval": lane.requires_approval}


def _badge(badge: repository.Badge) -> dict[str, Any]:
    return {
        "last_status": badge.last_status,
        "last_agent": badge.last_agent,
        "runs": badge.runs,
        "total_price": format(badge.total_price, "f"),
        "awaiting_approval": badge.awaiting_approval,
    }


async def update_lane(session: AsyncSession, access: Access, lane_id: uuid.UUID, body: LaneUpdate) -> LaneOut:
    lane = await session.get(Lane, lane_id)
    if lane is None:
        raise NotFound(f"No lane with id {lane_id}.")
    before = _lane_settings(lane)
    if body.name is not None:
        lane.name = body.name
    if body.clear_wip_limit:
        lane.wip_limit = None
    elif body.wip_limit is not None:
        lane.wip_limit = body.wip_limit
    if body.requires_approval is not None:
        lane.requires_approval = body.requires_approval
    audit.record(session, access, "lane.updated", "lane", lane.id, before, _lane_settings(lane))
    counts = await repository.lane_counts(session, lane.board_id)
    return LaneOut(**LaneOut.model_validate(lane).model_dump(exclude={"card_count"}), card_count=counts.get(lane.id, 0))


async def reorder_lanes(session: AsyncSession, access: Access, board_id: uuid.UUID, body: LaneOrder) -> list[LaneOut]:
    lanes = await repository.lanes_of(session, board_id)
    if sorted(body.lane_ids) != sorted(lane.id for lane in lanes):
        raise AppError(
            "lane_ids must list every lane of the board exactly once.", code="invalid_lane_order", status_code=422
        )
    by_id = {lane.id: lane for lane in lanes}
    before = {str(lane.id): lane.position for lane in lanes}
    for position, lane_id in enumerate(body.lane_ids):
        by_id[lane_id].position = position
    audit.record(
        session,
        access,
        "board.lanes_reordered",
        "board",
        board_id,
        before,
        {str(i): p for p, i in enumerate(body.lane_ids)},
    )
    counts = await repository.lane_counts(session, board_id)
    return [
        LaneOut(**LaneOut.model_validate(by_id[i]).model_dump(exclude={"card_count"}), card_count=counts.get(i, 0))
        for i in body.lane_ids
    ]
