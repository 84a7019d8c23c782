"""Comments on a card, by people and by agents' runs."""

from __future__ import annotations

import uuid

from agentworks_events import utc_now
from agentworks_platform.errors import NotFound
from sqlalchemy.ext.asyncio import AsyncSession

from agentworks_core.access import Access
from agentworks_core.audit import service as audit
from agentworks_core.comments import repository
from agentworks_core.comments.schemas import CommentIn, CommentOut
from agentworks_core.models import Card, CardComment


async def _card(session: AsyncSession, card_id: uuid.UUID) -> Card:
    card = await session.get(Card, card_id)
    if card is None:
        raise NotFound(f"No card with id {card_id}.")
    return card


async def comments(session: AsyncSession, card_id: uuid.UUID) -> list[CommentOut]:
    await _card(session, card_id)
    return [CommentOut.model_validate(c) for c in await repository.comments_of_card(session, card_id)]


async def add(session: AsyncSession, access: Access, card_id: uuid.UUID, body: CommentIn) -> CommentOut:
    card = await _card(session, card_id)
    comment = _comment(card, body.body, author_id=access.principal.user_id)
    session.add(comment)
    await session.flush()
    audit.record(session, access, "comment.added", "card", card.id, after={"comment_id": comment.id})
    return CommentOut.model_validate(comment)


def add_for_run(session: AsyncSession, card: Card, run_id: uuid.UUID, agent: str, body: str) -> None:
    session.add(_comment(card, body, agent=agent, run_id=run_id))


def _comment(
    card: Card,
    body: str,
    *,
    author_id: uuid.UUID | None = None,
    agent: str | None = None,
    run_id: uuid.UUID | None = None,
) -> CardComment:
    return CardComment(
        id=uuid.uuid4(),
        workspace_id=card.workspace_id,
        card_id=card.id,
        author_id=author_id,
        agent=agent,
        run_id=run_id,
        body=body,
        created_at=utc_now(),
    )
