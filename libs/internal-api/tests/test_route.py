"""A caller's side of an internal route: answers parsed into the route's model, 404 as None, anything else as the
caller's ``unavailable`` error; commands delivered as their body model and accepted only as 204."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from agentworks_internal_api import PeerUnavailableError
from agentworks_internal_api.core import AUDIT, CARD_DOCUMENT, CARD_OWNER, RUN_CONTEXT, AuditIn, CardOwnerOut
from agentworks_platform.internal_http import InternalClient

WORKSPACE, PROJECT, BOARD, CARD = (uuid.uuid4() for _ in range(4))
OWNER = {"workspace_id": str(WORKSPACE), "project_id": str(PROJECT), "board_id": str(BOARD)}


class StaticTokens:
    async def token_for(self, _audience: str) -> str:
        return "token"


class Peer:
    """A peer at the wire: every request is kept, ``answer`` makes the response."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.answer: Callable[[httpx.Request], httpx.Response] = lambda _: httpx.Response(200, json=OWNER)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.answer(request)


class LookupFailedError(RuntimeError):
    pass


@pytest.fixture
def peer() -> Peer:
    return Peer()


@pytest.fixture
async def client(peer: Peer) -> AsyncIterator[InternalClient]:
    client = InternalClient("http://core", StaticTokens(), transport=httpx.MockTransport(peer), attempts=1)
    yield client
    await client.aclose()


async def test_an_answer_is_parsed_into_the_routes_model(peer: Peer, client: InternalClient) -> None:
    owner = await CARD_OWNER.ask(client, CARD)
    assert owner == CardOwnerOut(workspace_id=WORKSPACE, project_id=PROJECT, board_id=BOARD)
    assert peer.requests[0].url.path == f"/internal/cards/{CARD}"


async def test_path_values_and_the_query_are_sent(peer: Peer, client: InternalClient) -> None:
    peer.answer = lambda _: httpx.Response(404, json={"error": {}})
    await RUN_CONTEXT.ask(client, PROJECT, query={"card_id": str(CARD)})
    assert peer.requests[0].url.path == f"/internal/projects/{PROJECT}/run-context"
    assert dict(peer.requests[0].url.params) == {"card_id": str(CARD)}


async def test_a_path_value_stays_one_segment_whatever_it_holds(peer: Peer, client: InternalClient) -> None:
    peer.answer = lambda _: httpx.Response(404, json={"error": {}})
    await CARD_DOCUMENT.ask(client, CARD, "../../members?x=1")
    assert peer.requests[0].url.raw_path == f"/internal/cards/{CARD}/documents/..%2F..%2Fmembers%3Fx%3D1".encode()


async def test_a_missing_path_value_is_a_programming_error(client: InternalClient) -> None:
    with pytest.raises(TypeError, match="takes 1 path values, not 0"):
        await CARD_OWNER.ask(client)


async def test_404_is_none(peer: Peer, client: InternalClient) -> None:
    peer.answer = lambda _: httpx.Response(404, json={"error": {}})
    assert await CARD_OWNER.ask(client, CARD) is None


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(500, json={"error": {}}),
        httpx.Response(200, json={"workspace_id": str(WORKSPACE)}),  # not a CardOwnerOut
        httpx.Response(200, text="not json"),
    ],
)
async def test_another_status_or_an_answer_that_is_not_the_model_is_unavailable(
    peer: Peer, client: InternalClient, answer: httpx.Response
) -> None:
    peer.answer = lambda _: answer
    with pytest.raises(LookupFailedError, match="core"):
        await CARD_OWNER.ask(client, CARD, unavailable=LookupFailedError)


async def test_an_unreachable_peer_is_unavailable(peer: Peer, client: InternalClient) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    peer.answer = refuse
    with pytest.raises(PeerUnavailableError, match="core is unreachable: ConnectError"):
        await CARD_OWNER.ask(client, CARD)


async def test_a_command_sends_its_body_model_and_accepts_204_only(peer: Peer, client: InternalClient) -> None:
    entry = AuditIn(
        entry_id=uuid.uuid4(), actor_id=None, action="api_key.created", resource_type="api_key", resource_id=CARD
    )
    peer.answer = lambda _: httpx.Response(204)
    await AUDIT.send(client, WORKSPACE, body=entry)
    sent = peer.requests[-1]
    assert (sent.method, sent.url.path) == ("POST", f"/internal/workspaces/{WORKSPACE}/audit")
    assert AuditIn.model_validate(json.loads(sent.content)) == entry

    peer.answer = lambda _: httpx.Response(422, json={"error": {}})
    with pytest.raises(PeerUnavailableError, match="core answered 422"):
        await AUDIT.send(client, WORKSPACE, body=entry)
