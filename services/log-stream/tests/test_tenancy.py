"""log-stream relays an event only to the workspace that owns the card, board and run it names."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from agentworks_events import AgentRunLog, AgentRunStarted, CardMoved, CardSnapshot, CodeMerged, LogLine
from agentworks_log_stream.models import LogLineRow, RunLog, inbox
from agentworks_platform.db import Database
from agentworks_platform.principal import Principal
from sqlalchemy import func, select
from websockets.asyncio.client import connect

from .conftest import Terminals


def _other_workspace(terminals: Terminals) -> tuple[Principal, dict[str, uuid.UUID]]:
    stranger = Principal(uuid.uuid4(), f"stranger-{uuid.uuid4().hex[:6]}@example.com", None, "r", "")
    other = terminals.directory.tenancy(stranger.user_id)
    ids = {"workspace": other.workspace, "project": other.project, "card": other.card, "board": other.board}
    return stranger, ids


def _moved(workspace: uuid.UUID, project: uuid.UUID, card: uuid.UUID, board: uuid.UUID, title: str) -> CardMoved:
    lane_a, lane_b = uuid.uuid4(), uuid.uuid4()
    snapshot = CardSnapshot(card_id=card, board_id=board, lane_id=lane_b, lane_number=1, title=title, position=0)
    return CardMoved(
        workspace_id=workspace, project_id=project, card_id=card, board_id=board, from_lane_id=lane_a,
        from_lane_number=0, to_lane_id=lane_b, to_lane_number=1, from_position=0, to_position=0, card=snapshot,
    )  # fmt: skip


async def _recorded(terminals: Terminals, run_id: uuid.UUID | None = None) -> tuple[dict[str, str], int, int]:
    """Rejected inbox rows (event id → reason), and the run's rows and lines."""
    database = Database(terminals.logs.app.state.ctx.settings.database_url)
    try:
        async with database.transaction() as session:
            rows = await session.execute(select(inbox.c.event_id, inbox.c.detail).where(inbox.c.outcome == "rejected"))
            runs = await session.scalar(select(func.count()).select_from(RunLog).where(RunLog.run_id == run_id))
            lines = await session.scalar(
                select(func.count()).select_from(LogLineRow).where(LogLineRow.run_id == run_id)
            )
        return dict(rows.all()), int(runs or 0), int(lines or 0)  # type: ignore[arg-type]
    finally:
        await database.dispose()


@pytest.mark.parametrize("names", ["the other's card and board", "its own card, the other's board"])
def test_a_card_event_never_reaches_another_workspaces_board(terminals: Terminals, names: str) -> None:
    ids = terminals.ids
    stranger, other = _other_workspace(terminals)
    card = other["card"] if names.startswith("the other") else ids["card"]
    forged = _moved(ids["workspace"], ids["project"], card, other["board"], "Planted")
    genuine = _moved(other["workspace"], other["project"], other["card"], other["board"], "Secret")
    url = f"ws://127.0.0.1:{terminals.logs.port}/api/boards/{other['board']}/events"

    async def first_frame() -> dict[str, Any]:
        headers = terminals.gateway_headers(terminals.logs.url, stranger)
        async with connect(url, additional_headers=headers) as board:
            await asyncio.sleep(0.2)
            await asyncio.to_thread(terminals.push, forged, "log-stream-card-events")
            await asyncio.to_thread(terminals.push, genuine, "log-stream-card-events")
            while True:
                message: dict[str, Any] = json.loads(await asyncio.wait_for(board.recv(), 10))
                if message["type"] != "ping":
                    return message

    frame = asyncio.run(first_frame())
    assert frame.get("event", {}).get("id") == str(genuine.id), frame
    rejected, _, _ = asyncio.run(_recorded(terminals))
    assert str(forged.id) in rejected


def _log(terminals: Terminals, run: uuid.UUID, card: uuid.UUID, project: uuid.UUID | None = None) -> AgentRunLog:
    line = LogLine(seq=1, at=datetime.now(UTC), text="planted line")
    return AgentRunLog(
        workspace_id=terminals.ids["workspace"], project_id=project or terminals.ids["project"], run_id=run,
        card_id=card, agent="prd", lines=(line,),
    )  # fmt: skip


def test_run_lines_naming_another_workspaces_card_are_not_stored(terminals: Terminals) -> None:
    _, other = _other_workspace(terminals)
    forged = [
        _log(terminals, uuid.uuid4(), other["card"]),
        _log(terminals, uuid.uuid4(), other["card"], other["project"]),
    ]
    for event in forged:
        terminals.push(event)
    for event in forged:
        rejected, runs, lines = asyncio.run(_recorded(terminals, event.run_id))
        assert str(event.id) in rejected
        assert (runs, lines) == (0, 0)


def test_an_event_cannot_move_another_workspaces_run_onto_its_card(terminals: Terminals) -> None:
    _, other = _other_workspace(terminals)
    run = uuid.uuid4()
    genuine = AgentRunStarted(
        workspace_id=other["workspace"], project_id=other["project"], run_id=run, card_id=other["card"], agent="prd",
        provider="offline", model="offline-small", trigger_event_id=uuid.uuid4(),
    )  # fmt: skip
    terminals.push(genuine)
    forged = _log(terminals, run, terminals.ids["card"])  # the caller's own card and project, the other's run
    terminals.push(forged)
    rejected, runs, lines = asyncio.run(_recorded(terminals, run))
    assert str(forged.id) in rejected
    assert (runs, lines) == (1, 0)


def test_a_merge_of_a_cards_code_is_taken_once_and_one_naming_another_workspaces_card_rejected(
    terminals: Terminals,
) -> None:
    """log-stream shows no merge (the card's activity does), but it validates the event like any run event."""
    _, other = _other_workspace(terminals)
    ids = terminals.ids
    fields = {"merged_by": uuid.uuid4(), "branch": "card/checkout-1", "merged_sha": "a" * 40, "base_sha": "b" * 40}
    genuine = CodeMerged(workspace_id=ids["workspace"], project_id=ids["project"], card_id=ids["card"], **fields)
    forged = CodeMerged(workspace_id=ids["workspace"], project_id=ids["project"], card_id=other["card"], **fields)
    for event in (genuine, genuine, forged):
        terminals.push(event)
    rejected, _, _ = asyncio.run(_recorded(terminals))
    assert str(forged.id) in rejected
    assert str(genuine.id) not in rejected
