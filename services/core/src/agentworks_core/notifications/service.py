"""Each person's inbox: who hears of a card, notifying them (live through ``notification.created``), reading and
marking as read, and watching or muting a card."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from agentworks_events import NotificationCreated, NotificationKind, UsageBudgetExceeded, UsageBudgetWarning, utc_now
from agentworks_platform.errors import NotFound
from agentworks_pubsub import Outbox
from sqlalchemy.ext.asyncio import AsyncSession

from agentworks_core.access import Access
from agentworks_core.models import Card, CardWatcher, Notification, Project
from agentworks_core.notifications import repository
from agentworks_core.notifications.schemas import InboxOut, NotificationOut, UnreadOut, WatchOut

TITLE_MAX, BODY_MAX = 300, 500


@dataclass(frozen=True, slots=True)
class News:
    """What a notification says and what it points at."""

    kind: NotificationKind
    title: str
    body: str = ""
    actor_id: uuid.UUID | None = None
    agent: str | None = None
    run_id: uuid.UUID | None = None
    comment_id: uuid.UUID | None = None


def excerpt(text: str, most: int) -> str:
    """``text`` on one line, cut to ``most`` characters with an ellipsis."""
    flat = " ".join(text.split())
    return flat if len(flat) <= most else flat[: most - 1] + "…"


async def people_of(session: AsyncSession, workspace_id: uuid.UUID) -> set[uuid.UUID]:
    return {m.user_id for m in await repository.active_people(session, workspace_id) if m.user_id is not None}


async def audience(session: AsyncSession, card: Card) -> set[uuid.UUID]:
    """Who hears of the card's runs: its creator and assignee unless they muted it, and everyone watching it,
    as long as they are still members of its workspace."""
    choices = {w.user_id: w.watching for w in await repository.watchers_of(session, card.id)}
    owners = {p for p in (card.created_by, card.assignee_id) if p is not None}
    following = {p for p in owners if choices.get(p, True)} | {p for p, watching in choices.items() if watching}
    return following & await people_of(session, card.workspace_id)


async def notify(
    session: AsyncSession, outbox: Outbox, card: Card, recipients: Iterable[uuid.UUID], news: News
) -> None:
    """Put ``news`` about ``card`` in each recipient's inbox, each announced to that person alone."""
    for recipient in sorted(set(recipients)):
        entry = _entry(card.workspace_id, recipient, news, card.project_id, card.id)
        session.add(entry)
        await outbox.add(session, _announcement(entry, card))


async def notify_owners(
    session: AsyncSession, event: UsageBudgetWarning | UsageBudgetExceeded, project: Project | None
) -> None:
    """A budget's warning or its cap reached, in the inbox of each owner of the workspace (who sets budgets). It
    names no card, so it is not announced live: the bell finds it when it next reads the inbox."""
    owners = [m.user_id for m in await repository.active_owners(session, event.workspace_id) if m.user_id]
    whose = f"{project.name}'s budget" if project else "The workspace's budget"
    spent = f"${event.spent:.2f} of ${event.cap:.2f} spent in {event.period}"
    if isinstance(event, UsageBudgetExceeded):
        news = News("budget_exceeded", f"{whose} is used up", f"{spent}; new runs are refused until it is raised.")
    else:
        news = News("budget_warning", f"{whose} is {event.threshold_percent}% spent", f"{spent}.")
    for owner in sorted(set(owners)):
        session.add(_entry(event.workspace_id, owner, news, project.id if project else None, None))


def _entry(
    workspace_id: uuid.UUID,
    recipient: uuid.UUID,
    news: News,
    project_id: uuid.UUID | None,
    card_id: uuid.UUID | None,
) -> Notification:
    return Notification(
        id=uuid.uuid4(),
        workspace_id=workspace_id,
        recipient_id=recipient,
        kind=news.kind,
        project_id=project_id,
        card_id=card_id,
        run_id=news.run_id,
        comment_id=news.comment_id,
        actor_id=news.actor_id,
        agent=news.agent,
        title=excerpt(news.title, TITLE_MAX),
        body=excerpt(news.body, BODY_MAX),
        created_at=utc_now(),
    )


def _announcement(entry: Notification, card: Card) -> NotificationCreated:
    return NotificationCreated(
        workspace_id=card.workspace_id,
        project_id=card.project_id,
        card_id=card.id,
        actor_id=entry.actor_id,
        notification_id=entry.id,
        recipient_id=entry.recipient_id,
        kind=entry.kind,
        title=entry.title,
        body=entry.body,
    )


async def inbox(session: AsyncSession, access: Access, limit: int, unread_only: bool) -> InboxOut:
    me = access.principal.user_id
    rows = await repository.inbox(session, access.workspace_id, me, limit, unread_only)
    return InboxOut(
        notifications=[NotificationOut.model_validate(r) for r in rows],
        unread=await repository.unread_count(session, access.workspace_id, me),
    )


async def unread(session: AsyncSession, access: Access) -> UnreadOut:
    return UnreadOut(unread=await repository.unread_count(session, access.workspace_id, access.principal.user_id))


async def mark_read(session: AsyncSession, access: Access, notification_id: uuid.UUID) -> NotificationOut:
    """Another person's notification is not found, like another workspace's."""
    me = access.principal.user_id
    entry = await repository.notification_of(session, access.workspace_id, me, notification_id)
    if entry is None:
        raise NotFound(f"No notification with id {notification_id}.")
    if entry.read_at is None:
        entry.read_at = utc_now()
    return NotificationOut.model_validate(entry)


async def mark_all_read(session: AsyncSession, access: Access) -> UnreadOut:
    await repository.mark_all_read(session, access.workspace_id, access.principal.user_id, utc_now())
    return UnreadOut(unread=0)


async def _card(session: AsyncSession, card_id: uuid.UUID) -> Card:
    card = await session.get(Card, card_id)
    if card is None:
        raise NotFound(f"No card with id {card_id}.")
    return card


async def watch_state(session: AsyncSession, access: Access, card_id: uuid.UUID) -> WatchOut:
    card = await _card(session, card_id)
    me = access.principal.user_id
    choice = await session.get(CardWatcher, (card.id, me))
    if choice is not None:
        return WatchOut(watching=choice.watching, because="watch" if choice.watching else "muted")
    if card.created_by == me:
        return WatchOut(watching=True, because="created")
    if card.assignee_id == me:
        return WatchOut(watching=True, because="assignee")
    return WatchOut(watching=False, because="none")


async def set_watching(session: AsyncSession, access: Access, card_id: uuid.UUID, watching: bool) -> WatchOut:
    """Watch (or mute) the card for the person; the choice overrides what creating or being assigned it implies."""
    card = await _card(session, card_id)
    await follow(session, card, access.principal.user_id, watching)
    return await watch_state(session, access, card_id)


async def follow(
    session: AsyncSession, card: Card, user_id: uuid.UUID, watching: bool = True, *, unless_muted: bool = False
) -> None:
    """Record the person's choice; ``unless_muted`` (a mention) leaves a mute as it is."""
    choice = await session.get(CardWatcher, (card.id, user_id))
    if choice is not None and unless_muted:
        return
    if choice is None:
        session.add(CardWatcher(card_id=card.id, user_id=user_id, workspace_id=card.workspace_id, watching=watching))
    else:
        choice.watching, choice.updated_at = watching, utc_now()
    await session.flush()
