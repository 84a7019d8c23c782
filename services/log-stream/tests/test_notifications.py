"""A person's notification reaches their own board sockets of its workspace, and no one else's."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from agentworks_events import CardMoved, CardSnapshot, NotificationCreated
from agentworks_log_stream.models import inbox
from agentworks_platform.db import Database
from agentworks_platform.principal import Principal
from sqlalchemy import select
from websockets.asyncio.client import ClientConnection, connect

from .conftest import Terminals


def _moved(terminals: Terminals) -> CardMoved:
    ids = terminals.ids
    lane_a, lane_b = uuid.uuid4(), uuid.uuid4()
    snapshot = CardSnapshot(
        card_id=ids["card"], board_id=ids["board"], lane_id=lane_b, lane_number=1, title="Checkout", position=0
    )
    return CardMoved(
        workspace_id=ids["workspace"], project_id=ids["project"], card_id=ids["card"], board_id=ids["board"],
        from_lane_id=lane_a, from_lane_number=0, to_lane_id=lane_b, to_lane_number=1, from_position=0,
        to_position=0, card=snapshot,
    )  # fmt: skip


def _notification(terminals: Terminals, recipient: uuid.UUID) -> NotificationCreated:
    ids = terminals.ids
    return NotificationCreated(
        workspace_id=ids["workspace"],
        project_id=ids["project"],
        card_id=ids["card"],
        notification_id=uuid.uuid4(),
        recipient_id=recipient,
        kind="mention",
        title="Owner mentioned you on Checkout",
        body="@member look",
    )


async def _next(board: ClientConnection) -> dict[str, Any]:
    while True:
        message: dict[str, Any] = json.loads(await asyncio.wait_for(board.recv(), 10))
        if message["type"] != "ping":
            return message


def test_a_notification_reaches_only_its_recipients_board_sockets(terminals: Terminals) -> None:
    member = Principal(uuid.uuid4(), f"member-{uuid.uuid4().hex[:6]}@example.com", None, "r", "")
    terminals.directory.join(terminals.ids["workspace"], member.user_id, "member")
    for_member = _notification(terminals, member.user_id)
    url = f"ws://127.0.0.1:{terminals.logs.port}/api/boards/{terminals.ids['board']}/events"

    async def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        headers = terminals.gateway_headers(terminals.logs.url)
        member_headers = terminals.gateway_headers(terminals.logs.url, member)
        async with (
            connect(url, additional_headers=headers) as owners,
            connect(url, additional_headers=member_headers) as members,
        ):
            await asyncio.to_thread(terminals.push, for_member, "log-stream-card-events")
            await asyncio.to_thread(terminals.push, _moved(terminals), "log-stream-card-events")
            # Each socket hears in the order log-stream relayed: the owner's first frame is the card's move.
            return [await _next(owners)], [await _next(members), await _next(members)]

    owners, members = asyncio.run(scenario())
    assert [m["type"] for m in owners] == ["card"]
    notification, card = members
    assert (notification["type"], card["type"]) == ("notification", "card")
    assert notification["notification_id"] == str(for_member.notification_id)
    assert (notification["kind"], notification["title"], notification["card_id"]) == (
        "mention",
        "Owner mentioned you on Checkout",
        str(terminals.ids["card"]),
    )


def test_a_notification_for_someone_outside_the_workspace_is_rejected(terminals: Terminals) -> None:
    stranger = uuid.uuid4()
    forged = _notification(terminals, stranger)
    terminals.push(forged, "log-stream-card-events")

    async def rejected() -> dict[str, str]:
        database = Database(terminals.logs.app.state.ctx.settings.database_url)
        try:
            async with database.transaction() as session:
                query = select(inbox.c.event_id, inbox.c.detail).where(inbox.c.outcome == "rejected")
                return {str(k): v for k, v in (await session.execute(query)).all()}
        finally:
            await database.dispose()

    assert "is not a member" in asyncio.run(rejected())[str(forged.id)]
