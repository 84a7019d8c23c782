from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from agentworks_platform.internal_http import InternalClient
from agentworks_pubsub import PermanentEventError
from agentworks_pubsub.ownership import Ownership, OwnershipUnavailableError

WORKSPACE, OTHER, PROJECT, BOARD = (uuid.uuid4() for _ in range(4))


class StaticTokens:
    async def token_for(self, _audience: str) -> str:
        return "token"


class Core:
    """Core's internal lookups at the wire: ``known`` cards, boards and projects; ``status`` to fail."""

    def __init__(self) -> None:
        self.known: dict[str, dict[str, str]] = {}
        self.status = 200
        self.asked: list[str] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.asked.append(request.url.path)
        await asyncio.sleep(0.01)
        if self.status != 200:
            return httpx.Response(self.status)
        body = self.known.get(request.url.path)
        return httpx.Response(200, json=body) if body else httpx.Response(404, json={"error": {}})


@pytest.fixture
def core() -> Core:
    return Core()


@pytest.fixture
async def ownership(core: Core) -> AsyncIterator[Ownership]:
    client = InternalClient("http://core", StaticTokens(), transport=httpx.MockTransport(core), attempts=1)
    yield Ownership(client, max_entries=2)
    await client.aclose()


def _card(core: Core, workspace: uuid.UUID = WORKSPACE) -> uuid.UUID:
    card = uuid.uuid4()
    core.known[f"/internal/cards/{card}"] = {
        "workspace_id": str(workspace),
        "project_id": str(PROJECT),
        "board_id": str(BOARD),
    }
    return card


async def test_an_owner_is_asked_once_even_by_concurrent_consumers(core: Core, ownership: Ownership) -> None:
    card = _card(core)
    owners = await asyncio.gather(*(ownership.require("card", card, WORKSPACE, PROJECT) for _ in range(5)))
    assert {(o.workspace_id, o.project_id, o.board_id) for o in owners} == {(WORKSPACE, PROJECT, BOARD)}
    await ownership.owner("card", card)
    assert core.asked == [f"/internal/cards/{card}"]


async def test_ids_of_another_workspace_or_project_are_a_permanent_failure(core: Core, ownership: Ownership) -> None:
    card = _card(core, OTHER)
    with pytest.raises(PermanentEventError, match="another workspace"):
        await ownership.require("card", card, WORKSPACE)
    with pytest.raises(PermanentEventError, match="another project"):
        await ownership.require("card", _card(core), WORKSPACE, uuid.uuid4())
    with pytest.raises(PermanentEventError, match="does not exist"):
        await ownership.require("board", uuid.uuid4(), WORKSPACE)


async def test_an_unknown_id_is_asked_again_and_the_cache_is_bounded(core: Core, ownership: Ownership) -> None:
    missing = uuid.uuid4()
    assert await ownership.owner("project", missing) is None
    assert await ownership.owner("project", missing) is None
    assert core.asked.count(f"/internal/projects/{missing}") == 2
    first, second, third = _card(core), _card(core), _card(core)
    for card in (first, second, third, first):
        await ownership.owner("card", card)
    assert core.asked.count(f"/internal/cards/{first}") == 2  # dropped as the least recently used


@pytest.mark.parametrize("status", [403, 500, 503])
async def test_core_failing_to_answer_is_transient(core: Core, ownership: Ownership, status: int) -> None:
    core.status = status
    with pytest.raises(OwnershipUnavailableError):
        await ownership.require("card", _card(core), WORKSPACE)


async def test_core_unreachable_is_transient() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    client = InternalClient("http://core", StaticTokens(), transport=httpx.MockTransport(refuse), attempts=1)
    with pytest.raises(OwnershipUnavailableError):
        await Ownership(client).owner("board", BOARD)
    await client.aclose()
