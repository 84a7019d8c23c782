"""The peer stub answers as scripted and refuses whatever the peer's published OpenAPI document does not allow."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from agentworks_platform.internal_http import InternalClient
from agentworks_platform.peer_stub import Answer, Call, ContractViolation, CoreDirectory, PeerStub
from agentworks_platform.service_auth import LocalTokenSigner
from agentworks_platform.settings import dev_service_account

CORE_URL = "http://127.0.0.1:8081"
WORKSPACE, USER = uuid.uuid4(), uuid.uuid4()
MEMBER, AUDIT = f"/internal/workspaces/{WORKSPACE}/members/{USER}", f"/internal/workspaces/{WORKSPACE}/audit"
MEMBER_PATH = "/internal/workspaces/{workspace_id}/members/{user_id}"
CONTEXT_PATH = "/internal/projects/{project_id}/run-context"
AUDIT_PATH = "/internal/workspaces/{workspace_id}/audit"
ENTRY = uuid.uuid4()


def membership(role: str = "member") -> Answer:
    return Answer(200, {"workspace_id": str(WORKSPACE), "user_id": str(USER), "role": role})


def audit_entry(**changes: object) -> dict[str, object]:
    return {
        "entry_id": str(ENTRY),
        "actor_id": None,
        "action": "api_key.created",
        "resource_type": "api_key",
        "resource_id": str(USER),
    } | changes


@pytest.fixture(scope="module")
def signer(dev_key: bytes) -> Callable[[str], LocalTokenSigner]:
    return lambda caller: LocalTokenSigner(dev_key, dev_service_account(caller))


@pytest.fixture
def core(peer_stub: Callable[[str], PeerStub]) -> PeerStub:
    return peer_stub("core")


@pytest.fixture
def strict_core() -> PeerStub:
    """A stub whose violations this module asserts itself (the ``peer_stub`` fixture would fail the test)."""
    contract = Path(__file__).parents[3] / "contracts" / "openapi" / "core.json"
    return PeerStub(contract)


@pytest.fixture
def client(signer: Callable[[str], LocalTokenSigner]) -> Callable[..., InternalClient]:
    """The gateway's client of core (or another caller's), sending to a stub."""

    def of(stub: PeerStub, caller: str = "gateway", base_url: str = CORE_URL) -> InternalClient:
        return InternalClient(base_url, signer(caller), transport=stub, attempts=1)

    return of


async def test_a_scripted_answer_reaches_the_real_client_and_the_call_is_recorded(
    core: PeerStub, client: Callable[..., InternalClient]
) -> None:
    core.on("GET", MEMBER_PATH, membership("viewer"))
    response = await client(core).request("GET", MEMBER)
    assert (response.status_code, response.json()["role"]) == (200, "viewer")
    [call] = core.calls_to("GET", MEMBER_PATH)
    assert call.path_params == {"workspace_id": str(WORKSPACE), "user_id": str(USER)}
    assert call.headers["authorization"].startswith("Bearer ")


async def test_an_answer_can_be_computed_from_the_call(core: PeerStub, client: Callable[..., InternalClient]) -> None:
    async def echo(call: Call) -> Answer:
        return (
            Answer(204)
            if call.body["action"] == "api_key.created"
            else Answer.refusal(422, "invalid", "not an audit entry")
        )

    core.on("POST", AUDIT_PATH, echo)
    response = await client(core).request("POST", AUDIT, json=audit_entry())
    assert response.status_code == 204
    assert core.calls[0].body["resource_type"] == "api_key"


@pytest.mark.parametrize(
    ("method", "path", "body", "refused"),
    [
        pytest.param(
            "GET",
            f"/internal/workspaces/not-a-uuid/members/{USER}",
            None,
            "path parameter: workspace_id",
            id="path parameter",
        ),
        pytest.param(
            "GET",
            f"/internal/projects/{USER}/run-context?lane_number=-1",
            None,
            "query parameter: lane_number",
            id="query",
        ),
        pytest.param("GET", "/internal/nothing-here", None, "nothing-here", id="unknown path"),
        pytest.param("DELETE", MEMBER, None, "DELETE", id="method"),
        pytest.param("POST", AUDIT, None, "Missing required request body", id="missing body"),
        pytest.param(
            "POST",
            AUDIT,
            audit_entry(action="Created!"),
            "'Created!' does not match",
            id="body",
        ),
        pytest.param(
            "POST",
            AUDIT,
            audit_entry(extra=1),
            "'extra' was unexpected",
            id="unknown field",
        ),
    ],
)
async def test_a_request_the_peer_would_refuse_is_a_violation(
    strict_core: PeerStub, client: Callable[..., InternalClient], method: str, path: str, body: object, refused: str
) -> None:
    strict_core.on("GET", MEMBER_PATH, membership()).on("GET", CONTEXT_PATH, Answer.refusal(403, "forbidden", "no"))
    strict_core.on("POST", AUDIT_PATH, Answer(204))
    with pytest.raises(ContractViolation, match=refused):
        await client(strict_core).request(method, path, json=body)
    assert strict_core.calls == []
    with pytest.raises(ContractViolation):
        strict_core.verify()


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(membership("admin"), id="value outside the schema"),
        pytest.param(Answer(200, {"role": "member"}), id="missing fields"),
        pytest.param(Answer.refusal(409, "conflict", "no"), id="status"),
        pytest.param(Answer(200, content=b"member", content_type="text/plain"), id="content type"),
    ],
)
async def test_an_answer_the_peer_could_not_give_is_a_violation(
    strict_core: PeerStub, client: Callable[..., InternalClient], answer: Answer
) -> None:
    strict_core.on("GET", MEMBER_PATH, answer)
    with pytest.raises(ContractViolation, match="cannot answer"):
        await client(strict_core).request("GET", MEMBER)
    with pytest.raises(ContractViolation):
        strict_core.verify()


async def test_a_caller_the_operation_does_not_admit_is_a_violation(
    strict_core: PeerStub, client: Callable[..., InternalClient], signer: Callable[[str], LocalTokenSigner]
) -> None:
    strict_core.on("POST", AUDIT_PATH, Answer(204))
    path = AUDIT
    with pytest.raises(ContractViolation, match="the caller 'billing' is not one of"):
        await client(strict_core, "billing").request("POST", path, json=audit_entry())
    elsewhere = signer("gateway").sign("http://127.0.0.1:8085")
    async with httpx.AsyncClient(transport=strict_core, base_url=CORE_URL) as raw:
        with pytest.raises(ContractViolation, match=r"the token is for 'http://127\.0\.0\.1:8085'"):
            await raw.post(path, json=audit_entry(), headers={"authorization": f"Bearer {elsewhere}"})
    assert strict_core.calls == []


async def test_a_call_nobody_scripted_is_a_violation(
    strict_core: PeerStub, client: Callable[..., InternalClient]
) -> None:
    with pytest.raises(ContractViolation, match="no answer was scripted"):
        await client(strict_core).request("GET", MEMBER)


def test_an_operation_the_peer_lacks_cannot_be_scripted(strict_core: PeerStub) -> None:
    with pytest.raises(ContractViolation, match="no operation DELETE"):
        strict_core.on("DELETE", MEMBER_PATH, Answer(204))
    with pytest.raises(ContractViolation, match="no operation GET /internal/members"):
        strict_core.on("GET", "/internal/members", Answer(204))


async def test_the_core_directory_answers_members_and_owners_and_404_otherwise(
    peer_stub: Callable[[str], PeerStub], client: Callable[..., InternalClient]
) -> None:
    core = peer_stub("core")
    directory = CoreDirectory(core)
    owner, stranger = uuid.uuid4(), uuid.uuid4()
    tenancy = directory.tenancy(owner)
    log_stream = client(core, "log-stream")
    members = f"/internal/workspaces/{tenancy.workspace}/members"
    assert (await log_stream.request("GET", f"{members}/{owner}")).json()["role"] == "owner"
    assert (await log_stream.request("GET", f"{members}/{stranger}")).status_code == 404
    card = await log_stream.request("GET", f"/internal/cards/{tenancy.card}")
    assert card.json() == {
        "workspace_id": str(tenancy.workspace),
        "project_id": str(tenancy.project),
        "board_id": str(tenancy.board),
    }
    assert (await log_stream.request("GET", f"/internal/boards/{tenancy.board}")).json()["workspace_id"] == str(
        tenancy.workspace
    )
    assert (await log_stream.request("GET", f"/internal/projects/{uuid.uuid4()}")).status_code == 404


ROUTER_URL = "http://127.0.0.1:8086"
CHAT_PATH = "/v1/chat/completions"


def chunk(delta: dict[str, object], finish: str | None = None) -> dict[str, object]:
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    return {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": [choice]}


@pytest.fixture
def router() -> PeerStub:
    return PeerStub(Path(__file__).parents[3] / "contracts" / "openapi" / "provider-router.json")


async def streamed(router: PeerStub, signer: Callable[[str], LocalTokenSigner]) -> httpx.Response:
    token = signer("orchestrator").sign(ROUTER_URL)
    async with httpx.AsyncClient(transport=router, base_url=ROUTER_URL) as raw:
        request = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": True}
        return await raw.post(CHAT_PATH, json=request, headers={"authorization": f"Bearer {token}"})


async def test_a_scripted_stream_is_sent_as_server_sent_events_ending_with_done(
    router: PeerStub, signer: Callable[[str], LocalTokenSigner]
) -> None:
    events = [chunk({"role": "assistant", "content": "Hel"}), chunk({"content": "lo"}, "stop")]
    router.on("POST", CHAT_PATH, Answer.stream(events))
    response = await streamed(router, signer)
    assert response.headers["content-type"] == "text/event-stream"
    data = [line.removeprefix("data: ") for line in response.text.splitlines() if line]
    assert data == [*(json.dumps(event) for event in events), "[DONE]"]
    router.verify()


@pytest.mark.parametrize(
    ("event", "refused"),
    [
        pytest.param({"choices": []}, "'id' is a required property", id="missing fields"),
        pytest.param(chunk({"tool_calls": [{"function": {"name": "f"}}]}), "'index' is a required", id="nested"),
        pytest.param({"error": {"code": "provider_error"}}, "'message' is a required", id="failure without message"),
    ],
)
async def test_a_streamed_event_outside_the_published_schema_is_a_violation(
    router: PeerStub, signer: Callable[[str], LocalTokenSigner], event: dict[str, object], refused: str
) -> None:
    router.on("POST", CHAT_PATH, Answer.stream([chunk({"content": "ok"}), event]))
    with pytest.raises(ContractViolation, match=f"cannot stream event 1 .*{refused}"):
        await streamed(router, signer)
    with pytest.raises(ContractViolation, match=refused):
        router.verify()


async def test_a_stream_from_an_operation_that_publishes_none_is_a_violation(
    strict_core: PeerStub, client: Callable[..., InternalClient]
) -> None:
    strict_core.on("GET", MEMBER_PATH, Answer.stream([membership().body]))
    with pytest.raises(ContractViolation, match="publishes no text/event-stream answer"):
        await client(strict_core).request("GET", MEMBER)
