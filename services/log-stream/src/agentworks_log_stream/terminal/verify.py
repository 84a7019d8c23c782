"""Before an event reaches a terminal or a board: the card, board and project it names must be its workspace's.

Core owns them, so core answers (cached: ownership never changes); a card deleted since is judged by its
board (card events) or its project (run events). Checked before the event's transaction, so no write waits
on core. Which board a card is on, as log-stream recorded it, is checked too (and which card a run is for, by
the handlers in its own transaction).
"""

from __future__ import annotations

from typing import Any

from agentworks_events import NotificationCreated
from agentworks_internal_api.core import member_role
from agentworks_platform.app import ServiceContext
from agentworks_pubsub import PermanentEventError
from agentworks_pubsub.ownership import Ownership, ensure_owned
from agentworks_pubsub.receiver import VerifierMap

from agentworks_log_stream.models import CardBoard
from agentworks_log_stream.state import log_stream_state
from agentworks_log_stream.terminal.handlers import BOARD_OF, board_named


def owners_of(ctx: ServiceContext) -> Ownership:
    return log_stream_state(ctx).ownership


async def verify_card_event(ctx: ServiceContext, event: Any) -> None:
    if event.type == "notification.created":
        await verify_notification(ctx, event)
        return
    if event.type not in BOARD_OF:
        return  # log-stream does nothing with it
    board_id, owners = board_named(event), owners_of(ctx)
    card = await owners.owner("card", event.card_id)
    if card is not None:
        ensure_owned("card", event.card_id, card, event.workspace_id, event.project_id)
        if card.board_id != board_id:
            raise PermanentEventError(f"card {event.card_id} is not on board {board_id}")
        return
    await owners.require("board", board_id, event.workspace_id)
    async with ctx.db.transaction() as session:
        known = await session.get(CardBoard, event.card_id)
    if known is not None and known.board_id != board_id:
        raise PermanentEventError(f"card {event.card_id} was on board {known.board_id}, not {board_id}")


async def verify_notification(ctx: ServiceContext, event: NotificationCreated) -> None:
    """A notification goes only to a member of its workspace, about a card of that workspace (or its project's,
    once the card is deleted)."""
    owners = owners_of(ctx)
    card = await owners.owner("card", event.card_id)
    if card is not None:
        ensure_owned("card", event.card_id, card, event.workspace_id, event.project_id)
    else:
        await owners.require("project", event.project_id, event.workspace_id)
    if await member_role(log_stream_state(ctx).core, event.workspace_id, event.recipient_id) is None:
        raise PermanentEventError(f"recipient {event.recipient_id} is not a member of workspace {event.workspace_id}")


async def verify_run_event(ctx: ServiceContext, event: Any) -> None:
    owners = owners_of(ctx)
    card = await owners.owner("card", event.card_id) if event.card_id is not None else None
    if card is not None:
        ensure_owned("card", event.card_id, card, event.workspace_id, event.project_id)
    else:  # a console run, or a card deleted since
        await owners.require("project", event.project_id, event.workspace_id)


VERIFIERS: VerifierMap = {"log-stream-card-events": verify_card_event, "log-stream-agent-runs": verify_run_event}
