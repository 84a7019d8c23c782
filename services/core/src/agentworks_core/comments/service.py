"""Comments on a card, by people and by agents' runs: a person's comment may name agents (each then runs on the
card with the comment as its instructions) and people (each notified, and from then on following the card, as
its author does); an agent's names people alone (agents never start agents); its author edits and deletes it,
and an owner may delete any comment."""

from __future__ import annotations

import uuid

from agentworks_events import utc_now
from agentworks_platform.errors import AppError, Forbidden, NotFound
from agentworks_pubsub import Outbox
from sqlalchemy.ext.asyncio import AsyncSession

from agentworks_core.access import Access
from agentworks_core.agents.registry import BY_KEY
from agentworks_core.audit import service as audit
from agentworks_core.comments import repository
from agentworks_core.comments.mentions import Mentions, Person, mentions_in
from agentworks_core.comments.schemas import CommentIn, CommentOut, CommentPostedOut
from agentworks_core.models import Card, CardComment
from agentworks_core.notifications import repository as people
from agentworks_core.notifications import service as notifications
from agentworks_core.runs import service as runs
from agentworks_core.runs.schemas import RunRequested

INSTRUCTIONS_MAX = 4000
"""The most of a comment an agent it names is given as instructions (what a person's run request may carry)."""


async def _card(session: AsyncSession, card_id: uuid.UUID) -> Card:
    card = await session.get(Card, card_id)
    if card is None:
        raise NotFound(f"No card with id {card_id}.")
    return card


def _out(comment: CardComment) -> CommentOut:
    return CommentOut.model_validate(comment).model_copy(update={"deleted": comment.deleted_at is not None})


async def comments(session: AsyncSession, card_id: uuid.UUID) -> list[CommentOut]:
    await _card(session, card_id)
    return [_out(c) for c in await repository.comments_of_card(session, card_id)]


async def add(
    session: AsyncSession, access: Access, outbox: Outbox, card_id: uuid.UUID, body: CommentIn
) -> CommentPostedOut:
    """Save the comment, start each agent it names and notify each person it names, all in one transaction: an
    agent that may not run (turned off) refuses the whole comment, so nothing is half done."""
    card = await _card(session, card_id)
    comment = _comment(card, body.body, author_id=access.principal.user_id)
    session.add(comment)
    await session.flush()
    audit.record(session, access, "comment.added", "card", card.id, after={"comment_id": comment.id})
    await notifications.follow(session, card, access.principal.user_id, unless_muted=True)
    named = await _mentions(session, card, body.body)
    started = await _run_agents(session, access, outbox, card, named.agents, body.body)
    await _notify_people(session, access, outbox, card, comment, named.people - {access.principal.user_id})
    return CommentPostedOut(**_out(comment).model_dump(), runs=started)


async def _mentions(session: AsyncSession, card: Card, body: str) -> Mentions:
    members = await people.active_people(session, card.workspace_id)
    return mentions_in(body, [Person(m.user_id, m.email) for m in members if m.user_id is not None])


async def _run_agents(
    session: AsyncSession, access: Access, outbox: Outbox, card: Card, agents: list[str], body: str
) -> list[RunRequested]:
    if agents and not access.can("agent_run"):
        raise Forbidden("Your role does not allow running agents; remove the @agent mention to comment.")
    instructions = body[:INSTRUCTIONS_MAX]
    return [await runs.request_run(session, access, outbox, card.id, agent, instructions) for agent in agents]


async def _notify_people(
    session: AsyncSession, access: Access, outbox: Outbox, card: Card, comment: CardComment, named: set[uuid.UUID]
) -> None:
    for person in named:
        await notifications.follow(session, card, person, unless_muted=True)
    news = notifications.News(
        kind="mention",
        title=f"{access.principal.email} mentioned you on {card.title}",
        body=comment.body,
        actor_id=access.principal.user_id,
        comment_id=comment.id,
    )
    await notifications.notify(session, outbox, card, named, news)


async def _own_comment(session: AsyncSession, card_id: uuid.UUID, comment_id: uuid.UUID) -> CardComment:
    comment = await session.get(CardComment, comment_id)
    if comment is None or comment.card_id != card_id:
        raise NotFound(f"No comment with id {comment_id} on that card.")
    if comment.deleted_at is not None:
        raise AppError("This comment was deleted.", code="comment_deleted", status_code=409)
    return comment


async def edit(
    session: AsyncSession, access: Access, card_id: uuid.UUID, comment_id: uuid.UUID, body: CommentIn
) -> CommentOut:
    """Only its author edits a comment (an agent's comment is never edited); agents and people it names are not
    asked or notified again."""
    comment = await _own_comment(session, card_id, comment_id)
    if comment.author_id != access.principal.user_id:
        raise Forbidden("Only its author may edit a comment.")
    comment.body, comment.edited_at = body.body, utc_now()
    audit.record(session, access, "comment.edited", "card", card_id, after={"comment_id": comment.id})
    return _out(comment)


async def delete(session: AsyncSession, access: Access, card_id: uuid.UUID, comment_id: uuid.UUID) -> None:
    """Its author, or an owner of the workspace (an agent's comment too), deletes a comment: it stays in the thread
    as deleted, its text gone."""
    comment = await _own_comment(session, card_id, comment_id)
    if comment.author_id != access.principal.user_id and not access.can("delete"):
        raise Forbidden("Only its author or an owner of the workspace may delete a comment.")
    comment.body, comment.deleted_at, comment.deleted_by = "", utc_now(), access.principal.user_id
    audit.record(session, access, "comment.deleted", "card", card_id, after={"comment_id": comment.id})


async def add_for_run(
    session: AsyncSession, outbox: Outbox, card: Card, run_id: uuid.UUID, agent: str, body: str
) -> None:
    """An agent's comment (its run's ``comment`` effect, applied once). The people it names are notified and follow
    the card as a person's mention makes them; the agents it names are not run, so agents never start each other
    in a loop."""
    comment = _comment(card, body, agent=agent, run_id=run_id)
    session.add(comment)
    await session.flush()
    named = await _mentions(session, card, body)
    for person in named.people:
        await notifications.follow(session, card, person, unless_muted=True)
    name = BY_KEY[agent].display_name if agent in BY_KEY else agent
    news = notifications.News(
        kind="mention",
        title=f"{name} mentioned you on {card.title}",
        body=comment.body,
        agent=agent,
        run_id=run_id,
        comment_id=comment.id,
    )
    await notifications.notify(session, outbox, card, named.people, news)


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
