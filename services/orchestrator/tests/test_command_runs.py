"""``GET /api/cards/{card_id}/code/commands``: the commands agents ran on a card's branch, newest first, for every
member of the card's workspace (viewers included) and for nobody else: another workspace's card is a 404."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from agentworks_orchestrator.models import CommandRunRow, Run
from agentworks_platform.peer_stub import Answer, Call
from agentworks_platform.principal import Principal
from agentworks_platform.service_auth import LocalTokenSigner
from agentworks_platform.settings import dev_service_account

from .conftest import ORCHESTRATOR_URL, Orchestrator

STARTED = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)


@pytest.fixture
def orchestrator(orchestrator: Orchestrator) -> Orchestrator:
    """The orchestrator, core answering each card's gate from its directory."""

    def gate(call: Call) -> Answer:
        card = call.path_params["card_id"]
        owner = orchestrator.directory.owners.get(("card", card))
        if owner is None:
            return Answer.refusal(404, "not_found", f"No card with id {card}.")
        return Answer(200, {
            **owner, "card_id": card, "title": "Checkout", "human_id": "SHOP-7", "lane_number": 7, "lane_name": "Test",
            "requires_approval": False, "approval_pending": False,
        })  # fmt: skip

    orchestrator.core.on("GET", "/internal/cards/{card_id}/gate", gate)
    return orchestrator


async def get(orchestrator: Orchestrator, path: str, principal: Principal) -> httpx.Response:
    token = LocalTokenSigner(orchestrator.key, dev_service_account("gateway")).sign(ORCHESTRATOR_URL)
    async with orchestrator.client() as client:
        return await client.get(path, headers={"authorization": f"Bearer {token}", **principal.headers()})


async def ran(orchestrator: Orchestrator, card: uuid.UUID, *commands: tuple[str, int]) -> uuid.UUID:
    """A run of the QA agent on ``card`` that ran ``commands`` (text, exit code) a minute apart."""
    run = Run(
        id=uuid.uuid4(), workspace_id=orchestrator.workspace, project_id=orchestrator.project, card_id=card,
        agent="qa", provider="offline", model="offline-small", status="completed", trigger_event_id=uuid.uuid4(),
        created_at=STARTED, cost=Decimal(0),
    )  # fmt: skip
    async with orchestrator.db.transaction() as session:
        session.add(run)
        await session.flush()
        for minute, (command, exit_code) in enumerate(commands):
            session.add(
                CommandRunRow(
                    id=uuid.uuid4(), workspace_id=orchestrator.workspace, project_id=orchestrator.project,
                    card_id=card, run_id=run.id, agent="qa", call=f"{minute + 2}/call_{minute}", command=command,
                    exit_code=exit_code, output_tail=f"output of {command}", truncated=False, timed_out=False,
                    killed_reason=None, duration_ms=120, started_at=STARTED + timedelta(minutes=minute),
                )
            )  # fmt: skip
    return run.id


async def test_members_and_viewers_read_the_cards_commands_newest_first(orchestrator: Orchestrator) -> None:
    run = await ran(orchestrator, orchestrator.card, ("python3 -m unittest", 1), ("python3 -m unittest -v", 0))
    other_card = orchestrator.directory.card(orchestrator.tenancy)
    await ran(orchestrator, other_card, ("make lint", 2))
    viewer = Principal(uuid.uuid4(), "viewer@example.com")
    orchestrator.directory.join(orchestrator.workspace, viewer.user_id, "viewer")
    for principal in (orchestrator.owner, viewer):
        answer = await get(orchestrator, f"/api/cards/{orchestrator.card}/code/commands", principal)
        assert answer.status_code == 200, answer.text
        listed = answer.json()
        assert [(c["command"], c["exit_code"]) for c in listed] == [
            ("python3 -m unittest -v", 0),
            ("python3 -m unittest", 1),
        ]
        assert listed[0] == {
            "id": listed[0]["id"], "run_id": str(run), "agent": "qa", "command": "python3 -m unittest -v",
            "exit_code": 0, "output_tail": "output of python3 -m unittest -v", "truncated": False,
            "timed_out": False, "killed_reason": None, "duration_ms": 120, "started_at": "2026-12-06T10:01:00.000000Z",
        }  # fmt: skip
    quiet = orchestrator.directory.card(orchestrator.tenancy)
    assert (await get(orchestrator, f"/api/cards/{quiet}/code/commands", viewer)).json() == []


async def test_another_workspaces_card_is_not_found(orchestrator: Orchestrator) -> None:
    await ran(orchestrator, orchestrator.card, ("python3 -m unittest", 0))
    stranger = Principal(uuid.uuid4(), "stranger@example.com")
    elsewhere = orchestrator.directory.tenancy(stranger.user_id)
    their_key = Principal(orchestrator.owner.user_id, orchestrator.owner.email, key_workspace_id=elsewhere.workspace)
    for principal in (stranger, their_key):
        answer = await get(orchestrator, f"/api/cards/{orchestrator.card}/code/commands", principal)
        assert answer.status_code == 404
        assert answer.json()["error"]["code"] == "not_found"
    missing = await get(orchestrator, f"/api/cards/{uuid.uuid4()}/code/commands", orchestrator.owner)
    assert missing.status_code == 404
