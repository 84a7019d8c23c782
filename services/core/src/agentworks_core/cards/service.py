"""Cards: ordered by keys within a lane (a move writes one row), WIP limits that hold under concurrency, one event
per committed change."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from agentworks_events import (
    CardArchived,
    CardCreated,
    CardDeleted,
    CardFields,
    CardMoved,
    CardSnapshot,
    CardUnarchived,
    CardUpdated,
    utc_now,
)
from agentworks_events.cards import LABELS_MAX
from agentworks_platform.errors import AppError, Conflict, NotFound
from agentworks_platform.pagination import decode_cursor, encode_cursor
from agentworks_pubsub import Outbox
from sqlalchemy.ext.asyncio import AsyncSession

from agentworks_core.access import Access, index_resource
from agentworks_core.agents.registry import BY_KEY
from agentworks_core.audit import service as audit
from agentworks_core.cards import order, repository
from agentworks_core.cards.image_files import ImageFile, ImageFiles
from agentworks_core.cards.schemas import CardCreate, CardImageOut, CardMove, CardOut, CardUpdate
from agentworks_core.models import Card, CardImage, Label, Lane, Project
from agentworks_core.projects import repository as projects
from agentworks_core.workspaces import repository as workspaces

EDITABLE = tuple(CardFields.model_fields)


def snapshot(card: Card, lane: Lane, position: int) -> CardSnapshot:
    return CardSnapshot(
        card_id=card.id,
        board_id=card.board_id,
        lane_id=lane.id,
        lane_number=lane.number,
        position=position,
        human_id=card.human_id,
        **{field: getattr(card, field) for field in EDITABLE},
    )


def card_out(card: Card, position: int) -> CardOut:
    """The card as the API shows it, at ``position`` (its index in its lane, counted from the order keys)."""
    fields = {name: getattr(card, name) for name in CardOut.model_fields if name not in ("position", "runs")}
    return CardOut.model_validate({**fields, "position": position})


def _json_item(value: object) -> object:
    return str(value) if isinstance(value, uuid.UUID) else value


def stored(fields: dict[str, Any]) -> dict[str, Any]:
    """Field values as the card's columns hold them: JSON lists (of ids as text) where the shapes have tuples."""
    return {
        name: [_json_item(item) for item in value] if isinstance(value, tuple) else value
        for name, value in fields.items()
    }


def _summary(card: Card, position: int) -> dict[str, object]:
    return {**{field: getattr(card, field) for field in (*EDITABLE, "lane_id")}, "position": position}


def _refuse_full(lane: Lane, count: int) -> None:
    if lane.wip_limit is not None and count >= lane.wip_limit:
        raise Conflict(
            f"Lane '{lane.name}' is at its WIP limit ({count}/{lane.wip_limit}); finish or move a card out first.",
            code="wip_limit_reached",
            details={"lane_id": str(lane.id), "wip_limit": lane.wip_limit, "cards": count},
        )


async def _check_assignee(session: AsyncSession, access: Access, assignee_id: uuid.UUID | None) -> None:
    if assignee_id is None:
        return
    member = await workspaces.member_by_user(session, access.workspace_id, assignee_id)
    if member is None or member.status != "active":
        raise AppError("The assignee must be a member of this workspace.", code="invalid_assignee", status_code=422)


def _check_assignee_agent(agent: str | None) -> None:
    if agent is not None and agent not in BY_KEY:
        raise AppError(
            f"No agent '{agent}'; the assignee must be one of the project's agents ({', '.join(BY_KEY)}).",
            code="invalid_assignee",
            status_code=422,
        )


def _one_assignee(changes: dict[str, Any]) -> None:
    """A card has one assignee: a person or an agent. Setting one clears the other; naming both is refused."""
    person, agent = changes.get("assignee_id"), changes.get("assignee_agent")
    if person is not None and agent is not None:
        raise AppError(
            "A card has one assignee: give assignee_id (a person) or assignee_agent (an agent), not both.",
            code="invalid_assignee",
            status_code=422,
        )
    if person is not None:
        changes["assignee_agent"] = None
    elif agent is not None:
        changes["assignee_id"] = None


async def _check_labels(session: AsyncSession, project_id: uuid.UUID, label_ids: list[str]) -> list[str]:
    """The labels, each once in the order given, when all are the project's."""
    unique = list(dict.fromkeys(label_ids))
    for label_id in unique:
        label = await session.get(Label, uuid.UUID(label_id))
        if label is None or label.project_id != project_id:
            raise AppError(f"No label with id {label_id} in this project.", code="invalid_label", status_code=422)
    return unique


async def _checked(
    session: AsyncSession, access: Access, project_id: uuid.UUID, changes: dict[str, Any], card_id: uuid.UUID | None
) -> dict[str, Any]:
    """The changes to a card's fields once every rule about them holds."""
    _one_assignee(changes)
    if changes.get("assignee_id") is not None:
        await _check_assignee(session, access, changes["assignee_id"])
    _check_assignee_agent(changes.get("assignee_agent"))
    if "parent_id" in changes:
        await _check_parent(session, project_id, changes["parent_id"], card_id)
    if "label_ids" in changes:
        changes["label_ids"] = await _check_labels(session, project_id, changes["label_ids"])
    return changes


async def _check_parent(
    session: AsyncSession, project_id: uuid.UUID, parent_id: uuid.UUID | None, card_id: uuid.UUID | None = None
) -> None:
    if parent_id is None:
        return
    parent = await session.get(Card, parent_id)
    if parent is None or parent.project_id != project_id:
        raise AppError("The parent must be a card of the same project.", code="invalid_parent", status_code=422)
    if card_id is not None and card_id in await repository.ancestors(session, parent_id):
        raise AppError("A card cannot be its own ancestor.", code="invalid_parent", status_code=422)


def _changed_meanwhile() -> Conflict:
    return Conflict(
        "Another change to this lane came first (a WIP limit, or its order); try again.", code="concurrent_move"
    )


async def _needs_lane_alone(
    session: AsyncSession, lane_id: uuid.UUID, index: int, card_id: uuid.UUID, counted: bool
) -> bool:
    """Whether putting the card at ``index`` must hold the lane alone: to count it against a WIP limit, or
    because the gap there has closed and the lane must be re-keyed. Read without locks, to choose the lock to
    take; the attempt checks again under it."""
    if counted and await repository.has_wip_limit(session, lane_id):
        return True
    return order.key_between(*await repository.keys_around(session, lane_id, index, card_id)) is None


async def _key_at(
    session: AsyncSession, lane_id: uuid.UUID, index: int, card_id: uuid.UUID, exclusive: bool
) -> int | None:
    """A key that puts the card at ``index`` among the lane's other cards; None when the lane must be re-keyed
    first and is not held exclusively."""
    key = order.key_between(*await repository.keys_around(session, lane_id, index, card_id))
    if key is not None or not exclusive:
        return key
    return await _key_after_rekey(session, lane_id, index, card_id)


async def _key_after_rekey(session: AsyncSession, lane_id: uuid.UUID, index: int, card_id: uuid.UUID) -> int:
    """Re-key the lane (held alone) and return the key that puts the card at ``index`` among its other cards."""
    await repository.rekey_lane(session, lane_id, card_id)
    key = order.key_between(*await repository.keys_around(session, lane_id, index, card_id))
    assert key is not None, "a freshly spread lane has room everywhere"
    return key


async def create(
    session: AsyncSession, access: Access, outbox: Outbox, project_id: uuid.UUID, body: CardCreate
) -> CardOut:
    project = await session.get(Project, project_id)
    board = await projects.first_board(session, project_id)
    if project is None or board is None:
        raise NotFound(f"No project with id {project_id}.")
    lane_id = body.lane_id or (await _first_lane(session, board.id)).id
    fields = await _checked(session, access, project_id, stored(body.model_dump(include=set(EDITABLE))), None)
    card_id = uuid.uuid4()
    number = await repository.next_number(session, project_id)

    async def attempt(exclusive: bool) -> tuple[Card, Lane] | None:
        lane = (await repository.lock_lanes(session, [lane_id], [lane_id] if exclusive else [])).get(lane_id)
        if lane is None or lane.board_id != board.id:
            raise AppError("The lane must belong to this project's board.", code="invalid_lane", status_code=422)
        if lane.wip_limit is not None and not exclusive:
            return None
        count = await repository.count_in_lane(session, lane.id)
        _refuse_full(lane, count)
        index = count if body.position is None else min(body.position, count)
        key = await _key_at(session, lane.id, index, card_id, exclusive)
        if key is None:
            return None
        card = Card(
            id=card_id,
            workspace_id=access.workspace_id,
            project_id=project_id,
            board_id=board.id,
            lane_id=lane.id,
            order_key=key,
            **fields,
            number=number,
            human_id=f"{project.key}-{number}",
            created_by=access.principal.user_id,
            created_at=utc_now(),
            updated_at=utc_now(),
        )
        session.add(card)
        await session.flush()
        return card, lane

    count = await repository.count_in_lane(session, lane_id)
    wanted = count if body.position is None else min(body.position, count)
    alone = await _needs_lane_alone(session, lane_id, wanted, card_id, counted=True)
    created = await repository.under_lane_locks(session, attempt, alone)
    if created is None:
        raise _changed_meanwhile()
    card, lane = created
    index_resource(session, "card", card.id, access.workspace_id)
    position = await repository.position_of(session, card)
    audit.record(session, access, "card.created", "card", card.id, after=_summary(card, position))
    await outbox.add(
        session,
        CardCreated(
            workspace_id=access.workspace_id,
            project_id=project_id,
            card_id=card.id,
            actor_id=access.principal.user_id,
            card=snapshot(card, lane, position),
        ),
    )
    return card_out(card, position)


async def add_agent_child(
    session: AsyncSession,
    outbox: Outbox,
    parent: Card,
    lane: Lane,
    card_id: uuid.UUID,
    fields: dict[str, Any],
    run_id: uuid.UUID,
) -> Card:
    """A child card an agent's run asks for, under ``parent`` at the end of ``lane``, announced as the run's."""
    project = await session.get(Project, parent.project_id)
    assert project is not None, "a card's project outlives it"
    number = await repository.next_number(session, project.id)

    async def attempt(exclusive: bool) -> Card | None:
        await repository.lock_lanes(session, [lane.id], [lane.id] if exclusive else [])
        count = await repository.count_in_lane(session, lane.id)
        key = await _key_at(session, lane.id, count, card_id, exclusive)
        if key is None:
            return None
        now = utc_now()
        child = Card(
            id=card_id,
            workspace_id=parent.workspace_id,
            project_id=parent.project_id,
            board_id=parent.board_id,
            lane_id=lane.id,
            order_key=key,
            **stored(fields),
            parent_id=parent.id,
            number=number,
            human_id=f"{project.key}-{number}",
            created_at=now,
            updated_at=now,
        )
        session.add(child)
        await session.flush()
        return child

    count = await repository.count_in_lane(session, lane.id)
    alone = await _needs_lane_alone(session, lane.id, count, card_id, counted=False)
    child = await repository.under_lane_locks(session, attempt, alone)
    if child is None:
        raise _changed_meanwhile()
    index_resource(session, "card", child.id, parent.workspace_id)
    position = await repository.position_of(session, child)
    created = CardCreated(
        workspace_id=parent.workspace_id,
        project_id=parent.project_id,
        card_id=child.id,
        card=snapshot(child, lane, position),
        created_by_run_id=run_id,
    )
    await outbox.add(session, created)
    return child


async def _first_lane(session: AsyncSession, board_id: uuid.UUID) -> Lane:
    lane = await repository.first_lane(session, board_id)
    if lane is None:
        raise Conflict("This board has no lanes.", code="no_lanes")
    return lane


async def get(session: AsyncSession, card_id: uuid.UUID) -> Card:
    card = await session.get(Card, card_id)
    if card is None:
        raise NotFound(f"No card with id {card_id}.")
    return card


async def read(session: AsyncSession, card_id: uuid.UUID) -> CardOut:
    card = await get(session, card_id)
    return card_out(card, await repository.position_of(session, card))


async def update(
    session: AsyncSession, access: Access, outbox: Outbox, card_id: uuid.UUID, body: CardUpdate
) -> CardOut:
    card = await repository.card_for_update(session, card_id)
    if card is None:
        raise NotFound(f"No card with id {card_id}.")
    changes = stored(body.model_dump(exclude_unset=True, exclude={"clear"}))
    changes.update(dict.fromkeys(body.clear))
    return await _change(
        session, access, outbox, card, await _checked(session, access, card.project_id, changes, card.id)
    )


async def label_card(
    session: AsyncSession, access: Access, outbox: Outbox, card_id: uuid.UUID, label_id: uuid.UUID, on: bool
) -> CardOut:
    """Put the label on the card (``on``) or take it off; either is a no-op when already so."""
    card = await repository.card_for_update(session, card_id)
    if card is None:
        raise NotFound(f"No card with id {card_id}.")
    label = await session.get(Label, label_id)
    if label is None or label.project_id != card.project_id:
        raise NotFound(f"No label with id {label_id} in this card's project.")
    kept = [existing for existing in card.label_ids if existing != str(label_id)]
    labels = [*kept, str(label_id)] if on else kept
    if on and len(labels) > LABELS_MAX:
        raise AppError(f"A card holds at most {LABELS_MAX} labels.", code="too_many_labels", status_code=422)
    if labels == card.label_ids:
        return card_out(card, await repository.position_of(session, card))
    return await _change(session, access, outbox, card, {"label_ids": labels})


async def drop_label(session: AsyncSession, access: Access, outbox: Outbox, label: Label) -> None:
    """Take a label being deleted off every card of its project that holds it (each change announced)."""
    for card_id in await repository.cards_with_label(session, label.project_id, label.id):
        await label_card(session, access, outbox, card_id, label.id, on=False)


async def _change(
    session: AsyncSession, access: Access, outbox: Outbox, card: Card, changes: dict[str, Any]
) -> CardOut:
    """Apply checked changes to the card's fields: audited with what changed, announced as ``card.updated``."""
    changed = tuple(f for f, v in changes.items() if getattr(card, f) != v)
    position = await repository.position_of(session, card)
    if not changed:
        return card_out(card, position)
    before = _summary(card, position)
    for field in changed:
        setattr(card, field, changes[field])
    card.updated_at = utc_now()
    lane = await session.get(Lane, card.lane_id)
    assert lane is not None
    audit.record(session, access, "card.updated", "card", card.id, before, _summary(card, position))
    await outbox.add(
        session,
        CardUpdated(
            workspace_id=access.workspace_id,
            project_id=card.project_id,
            card_id=card.id,
            actor_id=access.principal.user_id,
            card=snapshot(card, lane, position),
            changed_fields=changed,
        ),
    )
    return card_out(card, position)


async def _lock_card_and_lanes(
    session: AsyncSession, card_id: uuid.UUID, other_lanes: Sequence[uuid.UUID], exclusive: Sequence[uuid.UUID]
) -> tuple[Card, dict[uuid.UUID, Lane]]:
    """Lock the card's lane and the others it needs, then the card; retried while the card changes lane."""
    for _ in range(3):
        lane_id = await repository.lane_of_card(session, card_id)
        if lane_id is None:
            raise NotFound(f"No card with id {card_id}.")
        locked = await repository.lock_card_in_lane(session, card_id, lane_id, other_lanes, exclusive)
        if locked is not None:
            return locked
    raise Conflict("The card keeps moving; try again.", code="concurrent_move")


@dataclass(frozen=True)
class _Moved:
    """A move's outcome: the card, its position now, and the lane and position before and after (None when it
    stayed where it was)."""

    card: Card
    position: int
    change: tuple[dict[str, object], dict[str, object]] | None


async def move(session: AsyncSession, access: Access, outbox: Outbox, card_id: uuid.UUID, body: CardMove) -> CardOut:
    """Move within or across lanes. A full destination lane refuses with 409; locks make races exact."""
    moved = await _move(session, outbox, card_id, body.lane_id, body.position, access.principal.user_id)
    if moved.change is not None:
        audit.record(session, access, "card.moved", "card", card_id, *moved.change)
    return card_out(moved.card, moved.position)


async def move_for_run(session: AsyncSession, outbox: Outbox, card_id: uuid.UUID, lane_id: uuid.UUID) -> Card:
    """A run's move of its card to the end of another lane of its board: the same locks, WIP limit (409) and
    ``card.moved`` as a person's move, with no person as its actor. The caller audits it."""
    return (await _move(session, outbox, card_id, lane_id, None, None)).card


async def _move(
    session: AsyncSession,
    outbox: Outbox,
    card_id: uuid.UUID,
    target_id: uuid.UUID,
    wanted: int | None,
    actor_id: uuid.UUID | None,
) -> _Moved:
    """Put the card at index ``wanted`` (the end by default) of lane ``target_id`` by writing its own row: its
    lane and a key between its new neighbours'.

    A move first shares the lanes: one statement locks them, one more locks the card and reads its position and its
    new neighbours' keys. Only a move that finds it needs the target lane alone (to count it against a WIP limit,
    or to re-key a closed gap) runs again holding it so."""

    async def attempt(exclusive: bool) -> _Moved | None:
        if exclusive:
            lanes = (await _lock_card_and_lanes(session, card_id, [target_id], [target_id]))[1]
        else:
            lanes = await repository.share_lanes_of_move(session, card_id, target_id)
        placing = await repository.placing(session, card_id, target_id, wanted)
        if placing is None:
            raise NotFound(f"No card with id {card_id}.")
        card = placing.card
        if card.lane_id not in lanes:
            return None  # it left the lane that was locked for it in the meantime: run again
        source, target = lanes[card.lane_id], lanes.get(target_id)
        if card.archived_at is not None:
            raise Conflict("The card is archived; unarchive it to move it.", code="card_archived")
        if target is None or target.board_id != card.board_id:
            raise AppError("The lane must belong to the card's board.", code="invalid_lane", status_code=422)
        leaving = target.id != source.id
        if leaving and target.wip_limit is not None:
            if not exclusive:
                return None
            _refuse_full(target, placing.others)
        index = placing.others if wanted is None else min(wanted, placing.others)
        if not leaving and index == placing.position:
            return _Moved(card, placing.position, None)
        key = order.key_between(placing.before, placing.after)
        if key is None:
            if not exclusive:
                return None
            key = await _key_after_rekey(session, target.id, index, card.id)
        card.lane_id, card.order_key, card.updated_at = target.id, key, utc_now()
        await session.flush()
        # The key lies strictly between the neighbours at ``index``, so the card's position now is ``index``.
        await outbox.add(
            session,
            CardMoved(
                workspace_id=card.workspace_id,
                project_id=card.project_id,
                card_id=card.id,
                actor_id=actor_id,
                board_id=card.board_id,
                from_lane_id=source.id,
                from_lane_number=source.number,
                to_lane_id=target.id,
                to_lane_number=target.number,
                from_position=placing.position,
                to_position=index,
                card=snapshot(card, target, index),
            ),
        )
        before = {"lane_id": source.id, "position": placing.position}
        return _Moved(card, index, (before, {"lane_id": target.id, "position": index}))

    moved = await repository.under_lane_locks(session, attempt, exclusive=False)
    if moved is None:
        raise _changed_meanwhile()
    return moved


async def delete(session: AsyncSession, access: Access, outbox: Outbox, card_id: uuid.UUID) -> None:
    """Delete the card: the cards after it move up by themselves, as positions are counted from the keys."""
    card, _lanes = await _lock_card_and_lanes(session, card_id, [], [])
    position = await repository.position_of(session, card)
    audit.record(session, access, "card.deleted", "card", card.id, before=_summary(card, position))
    await repository.delete_card(session, card)
    await session.flush()
    await outbox.add(
        session,
        CardDeleted(
            workspace_id=access.workspace_id,
            project_id=card.project_id,
            card_id=card.id,
            actor_id=access.principal.user_id,
            board_id=card.board_id,
            lane_id=card.lane_id,
        ),
    )


async def archive(session: AsyncSession, access: Access, outbox: Outbox, card_id: uuid.UUID) -> CardOut:
    """Take the card off the board, keeping its lane and key for an unarchive; archiving it again is a no-op."""
    card, _lanes = await _lock_card_and_lanes(session, card_id, [], [])
    position = await repository.position_of(session, card)
    if card.archived_at is not None:
        return card_out(card, position)
    card.archived_at = card.updated_at = utc_now()
    audit.record(session, access, "card.archived", "card", card.id, {"lane_id": card.lane_id, "position": position})
    await outbox.add(
        session,
        CardArchived(
            workspace_id=access.workspace_id,
            project_id=card.project_id,
            card_id=card.id,
            actor_id=access.principal.user_id,
            board_id=card.board_id,
            lane_id=card.lane_id,
        ),
    )
    return card_out(card, position)


async def unarchive(session: AsyncSession, access: Access, outbox: Outbox, card_id: uuid.UUID) -> CardOut:
    """Put an archived card back in the lane it left, at its old place among the cards still there; a lane at its
    WIP limit refuses it (409) as it would a move."""
    home = await repository.lane_of_card(session, card_id)
    if home is None:
        raise NotFound(f"No card with id {card_id}.")

    async def attempt(exclusive: bool) -> tuple[Card, Lane, bool] | None:
        card, lanes = await _lock_card_and_lanes(session, card_id, [], [home] if exclusive else [])
        lane = lanes[card.lane_id]
        if card.archived_at is None:
            return card, lane, False
        if lane.wip_limit is not None:
            if not exclusive:
                return None
            _refuse_full(lane, await repository.count_in_lane(session, lane.id))
        card.archived_at, card.updated_at = None, utc_now()
        await session.flush()
        return card, lane, True

    restored = await repository.under_lane_locks(session, attempt, await repository.has_wip_limit(session, home))
    if restored is None:
        raise _changed_meanwhile()
    card, lane, changed = restored
    position = await repository.position_of(session, card)
    if changed:
        audit.record(
            session, access, "card.unarchived", "card", card.id, after={"lane_id": lane.id, "position": position}
        )
        await outbox.add(
            session,
            CardUnarchived(
                workspace_id=access.workspace_id,
                project_id=card.project_id,
                card_id=card.id,
                actor_id=access.principal.user_id,
                card=snapshot(card, lane, position),
            ),
        )
    return card_out(card, position)


async def resolve(session: AsyncSession, workspace_id: uuid.UUID, human_id: str) -> CardOut:
    """The card a short id (``SHOP-42``, any case) names in the workspace."""
    key, _, number = human_id.upper().rpartition("-")
    card = await repository.by_number(session, workspace_id, key, int(number))
    if card is None:
        raise NotFound(f"No card {human_id.upper()} in this workspace.")
    return card_out(card, await repository.position_of(session, card))


async def children(session: AsyncSession, card_id: uuid.UUID) -> list[CardOut]:
    await get(session, card_id)
    found = await repository.children(session, card_id)
    positions = await repository.positions_of(session, found)
    return [card_out(card, positions[card.id]) for card in found]


async def images(session: AsyncSession, card_id: uuid.UUID) -> list[CardImageOut]:
    await get(session, card_id)
    return [CardImageOut.model_validate(image) for image in await repository.images(session, card_id)]


async def image_file(session: AsyncSession, files: ImageFiles, card_id: uuid.UUID, image_id: uuid.UUID) -> ImageFile:
    """The bytes of one of the card's images, read from the provider router for the card's workspace."""
    image = await session.get(CardImage, image_id)
    if image is None or image.card_id != card_id:
        raise NotFound(f"The card has no image with id {image_id}.")
    found = await files.read(image.workspace_id, image.name)
    if found is None:
        raise NotFound("The image's file is no longer kept.")
    return found


async def page(
    session: AsyncSession,
    project_id: uuid.UUID,
    lane_id: uuid.UUID | None,
    archived: bool,
    cursor: str | None,
    limit: int,
) -> tuple[list[CardOut], str | None]:
    if await session.get(Project, project_id) is None:
        raise NotFound(f"No project with id {project_id}.")
    after = decode_cursor(cursor, (datetime.fromisoformat, uuid.UUID))
    rows = await repository.page(session, project_id, lane_id, archived, after, limit)
    more, rows = len(rows) > limit, rows[:limit]
    next_cursor = encode_cursor(rows[-1].created_at.isoformat(), rows[-1].id) if more and rows else None
    positions = await repository.positions_of(session, rows)
    return [card_out(card, positions[card.id]) for card in rows], next_cursor
