"""The official ``openai`` SDK pointed at the gateway's ``/v1`` with a workspace API key: the gateway, core, the
provider router (in front of a wire-level fake of OpenAI) and billing, all in-process."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from agentworks_billing.app import create_app as create_billing
from agentworks_billing.config import BillingSettings
from agentworks_billing.models import MIGRATIONS as BILLING_MIGRATIONS
from agentworks_billing.state import billing_state
from agentworks_core.app import create_app as create_core
from agentworks_core.config import CoreSettings
from agentworks_core.models import MIGRATIONS as CORE_MIGRATIONS
from agentworks_events import Event, UsageRecorded
from agentworks_gateway.app import create_app as create_gateway
from agentworks_gateway.config import GatewaySettings
from agentworks_gateway.models import MIGRATIONS as GATEWAY_MIGRATIONS
from agentworks_gateway.ratelimit import service as ratelimit
from agentworks_localstack.threads import AppThread
from agentworks_platform.internal_http import InternalClient
from agentworks_platform.service_auth import LocalTokenSigner
from agentworks_platform.settings import dev_service_account
from agentworks_provider_router.app import create_app as create_router
from agentworks_provider_router.config import ProviderRouterSettings
from agentworks_provider_router.models import MIGRATIONS as ROUTER_MIGRATIONS
from agentworks_pubsub.testing import RecordingSink, received_message
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse

ORIGIN = "http://localhost:8080"
PASSWORD = "correct horse battery"
MODEL = "gpt-4o"
PROMPT_TOKENS, COMPLETION_TOKENS = 1234, 321
TOTAL_TOKENS = PROMPT_TOKENS + COMPLETION_TOKENS
GPT_4O_COST = Decimal("2.50") * PROMPT_TOKENS / 1_000_000 + Decimal("10.00") * COMPLETION_TOKENS / 1_000_000
DEFAULT_MARKUP = Decimal(5)


class OpenAIFake:
    """OpenAI's Chat Completions endpoint at the wire, as the router calls it (always streamed): it refuses what
    the real API refuses (no model, no messages, a message without a role) and records every request."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.app = FastAPI()
        self.app.add_api_route("/v1/chat/completions", self.completions, methods=["POST"])

    async def completions(self, request: Request) -> Response:
        body = json.loads(await request.body())
        self.requests.append(body)
        messages = body.get("messages")
        if not body.get("model") or not messages or any("role" not in m for m in messages):
            error = {"message": "Invalid request", "type": "invalid_request_error", "param": "messages", "code": None}
            return JSONResponse({"error": error}, status_code=400)
        include_usage = bool(body.get("stream_options", {}).get("include_usage"))
        return StreamingResponse(self._stream(body["model"], include_usage), media_type="text/event-stream")

    @staticmethod
    async def _stream(model: str, include_usage: bool) -> AsyncIterator[str]:
        def chunk(choices: list[dict[str, Any]], **extra: Any) -> str:
            body = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1, "model": model}
            return f"data: {json.dumps({**body, 'choices': choices, **extra})}\n\n"

        for word in ("Hello", " from", " OpenAI."):
            yield chunk([{"index": 0, "delta": {"content": word}, "finish_reason": None}])
        yield chunk([{"index": 0, "delta": {}, "finish_reason": "stop"}])
        if include_usage:
            usage = {
                "prompt_tokens": PROMPT_TOKENS,
                "completion_tokens": COMPLETION_TOKENS,
                "total_tokens": TOTAL_TOKENS,
            }
            yield chunk([], usage=usage)
        yield "data: [DONE]\n\n"


@pytest.fixture(scope="module")
def openai_fake() -> Iterator[tuple[OpenAIFake, str]]:
    fake = OpenAIFake()
    thread = AppThread(fake.app).start()
    yield fake, thread.url
    thread.stop()


@dataclass
class Platform:
    """The fleet in-process; ``browser`` is the workspace owner's signed-in browser."""

    stack: AsyncExitStack
    fake: OpenAIFake
    gateway: FastAPI
    billing: FastAPI
    router_sink: RecordingSink
    browser: httpx.AsyncClient
    workspace: str
    start_gateway: Callable[[], Awaitable[FastAPI]]

    def sdk(self, key: str, gateway: FastAPI | None = None, **options: Any) -> openai.AsyncOpenAI:
        transport = httpx.ASGITransport(app=gateway or self.gateway, client=("198.51.100.7", 5000))
        http = httpx.AsyncClient(transport=transport, timeout=30)
        self.stack.push_async_callback(http.aclose)
        return openai.AsyncOpenAI(
            api_key=key, base_url=f"{ORIGIN}/v1", http_client=http, **{"max_retries": 0, **options}
        )

    async def new_key(self, workspace: str | None = None, browser: httpx.AsyncClient | None = None) -> dict[str, Any]:
        response = await (browser or self.browser).post(
            f"/api/workspaces/{workspace or self.workspace}/api-keys", json={"name": "CI"}
        )
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    async def usage_events(self, count: int) -> list[UsageRecorded]:
        """The router's ``usage.recorded`` events, once ``count`` of them are published."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            found = [e for e in self.router_sink.events() if isinstance(e, UsageRecorded)]
            if len(found) >= count:
                return found
            await asyncio.sleep(0.01)
        raise AssertionError(f"expected {count} usage events, the router published {self.router_sink.types()}")

    async def deliver(self, *events: Event) -> None:
        """Hand events to billing's ledger as its pull subscription would."""
        consumer = billing_state(self.billing.state.ctx).usage_consumer
        verdict = await consumer.process(self.billing.state.ctx.db, [received_message(e) for e in events])
        assert verdict.nacks == []

    async def billing_page(self) -> dict[str, Any]:
        response = await self.browser.get(f"/api/workspaces/{self.workspace}/billing")
        assert response.status_code == 200, response.text
        page: dict[str, Any] = response.json()
        return page


async def signed_up(gateway: FastAPI, stack: AsyncExitStack, name: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=gateway, client=("198.51.100.9", 5000))
    browser = await stack.enter_async_context(
        httpx.AsyncClient(transport=transport, base_url=ORIGIN, headers={"origin": ORIGIN}, timeout=30)
    )
    email = f"{name}-{uuid.uuid4().hex[:8]}@example.com"
    response = await browser.post("/api/auth/signup", json={"email": email, "password": PASSWORD, "name": name})
    assert response.status_code == 201, response.text
    return browser


async def new_workspace(browser: httpx.AsyncClient) -> str:
    response = await browser.post("/api/workspaces", json={"name": "Acme"})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


@pytest.fixture
async def platform(
    migrated_database: Callable[[Path], str],
    tmp_path: Path,
    dev_key_file: Path,
    dev_key: bytes,
    monkeypatch: pytest.MonkeyPatch,
    openai_fake: tuple[OpenAIFake, str],
) -> AsyncIterator[Platform]:
    fake, fake_url = openai_fake
    fake.requests.clear()
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-provider-key-123456")
    monkeypatch.setattr(ratelimit, "clock", lambda: 1_800_000_030.0)  # mid-minute, held still
    key_path, key = dev_key_file, dev_key
    common: dict[str, Any] = {"environment": "test", "dev_signing_key_file": key_path}

    def client(url: str, caller: str, app: FastAPI) -> InternalClient:
        return InternalClient(
            url, LocalTokenSigner(key, dev_service_account(caller)), transport=httpx.ASGITransport(app)
        )

    async with AsyncExitStack() as stack:
        router_sink = RecordingSink()
        router = create_router(
            ProviderRouterSettings(
                **common,
                database_url=migrated_database(ROUTER_MIGRATIONS),
                openai_base_url=f"{fake_url}/v1",
                backoff_base_seconds=0.05,
                blobs_dir=tmp_path / "blobs",
            ),
            sink=router_sink,
        )
        await stack.enter_async_context(router.router.lifespan_context(router))
        core = create_core(
            CoreSettings(**common, database_url=migrated_database(CORE_MIGRATIONS)),
            sink=RecordingSink(),
            models_client=client("http://127.0.0.1:8083", "core", router),
        )
        await stack.enter_async_context(core.router.lifespan_context(core))
        billing = create_billing(
            BillingSettings(
                **common,
                database_url=migrated_database(BILLING_MIGRATIONS),
                schedule_in_process=False,
                pull_usage_events=False,
            ),
            sink=RecordingSink(),
            core_client=client("http://127.0.0.1:8081", "billing", core),
        )
        await stack.enter_async_context(billing.router.lifespan_context(billing))
        gateway_settings = GatewaySettings(
            **common,
            database_url=migrated_database(GATEWAY_MIGRATIONS),
            api_requests_per_minute=5,
            api_tokens_per_minute=20_000,
        )

        async def start_gateway() -> FastAPI:
            """A gateway instance; every instance shares the one gateway database, as on Cloud Run."""
            gateway = create_gateway(
                gateway_settings,
                core_transport=httpx.ASGITransport(app=core),
                billing_transport=httpx.ASGITransport(app=billing),
                provider_router_transport=httpx.ASGITransport(app=router),
            )
            await stack.enter_async_context(gateway.router.lifespan_context(gateway))
            return gateway

        gateway = await start_gateway()
        browser = await signed_up(gateway, stack, "ada")
        workspace = await new_workspace(browser)
        yield Platform(stack, fake, gateway, billing, router_sink, browser, workspace, start_gateway)


async def test_chat_and_streaming_answer_and_usage_lands_in_the_workspace_ledger_with_its_markup(
    platform: Platform,
) -> None:
    key = await platform.new_key()
    client = platform.sdk(key["key"])
    answer = await client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Hi"}])
    assert answer.choices[0].message.content == "Hello from OpenAI."
    assert answer.usage is not None
    assert answer.usage.total_tokens == TOTAL_TOKENS
    stream = await client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Hi"}], stream=True, stream_options={"include_usage": True}
    )
    chunks = [chunk async for chunk in stream]
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Hello from OpenAI."
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.prompt_tokens == PROMPT_TOKENS
    assert len(platform.fake.requests) == 2

    events = await platform.usage_events(2)
    assert {(str(e.workspace_id), e.project_id, str(e.api_key_id)) for e in events} == {
        (platform.workspace, None, key["id"])
    }
    await platform.deliver(*events)
    page = await platform.billing_page()
    assert page["api_calls"] == 2
    assert Decimal(page["api_charges_to_date"]) == 2 * GPT_4O_COST * DEFAULT_MARKUP  # per call, not per $0.25
    api_lines = [line for line in page["invoice_preview"]["lines"] if line["description"].startswith("API usage")]
    assert [Decimal(line["amount"]) for line in api_lines] == [Decimal("0.07")]  # 0.06295 rounded up once
    assert page["runs"] == 0


async def test_a_spent_budget_refuses_before_any_provider_is_called(platform: Platform) -> None:
    key = await platform.new_key()
    capped = await platform.browser.put(
        f"/api/workspaces/{platform.workspace}/budgets/workspace", json={"monthly_cap": "1.00"}
    )
    assert capped.status_code == 200, capped.text
    earlier = UsageRecorded(
        workspace_id=uuid.UUID(platform.workspace),
        api_key_id=uuid.UUID(key["id"]),
        provider="openai",
        model=MODEL,
        requested_provider="openai",
        cost=Decimal("0.25"),
        latency_ms=900,
        outcome="success",
    )
    await platform.deliver(earlier)  # 0.25 × 5 = 1.25 of a 1.00 cap
    client = platform.sdk(key["key"], max_retries=2)
    with pytest.raises(openai.RateLimitError) as refused:
        await client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Hi"}])
    assert refused.value.code == "insufficient_quota"
    assert refused.value.type == "insufficient_quota"
    assert refused.value.response.headers["x-should-retry"] == "false"  # so the SDK asked once
    assert platform.fake.requests == []


async def test_rate_limit_headers_on_every_answer_and_429_past_the_limit_across_instances(platform: Platform) -> None:
    key = await platform.new_key()
    client = platform.sdk(key["key"])
    elsewhere = platform.sdk(key["key"], await platform.start_gateway())  # another instance counts in the same window
    seen: list[httpx.Headers] = []
    for attempt in range(5):
        raw = await (client if attempt % 2 else elsewhere).chat.completions.with_raw_response.create(
            model=MODEL, messages=[{"role": "user", "content": "Hi"}]
        )
        seen.append(raw.headers)
    assert [h["x-ratelimit-remaining-requests"] for h in seen] == ["4", "3", "2", "1", "0"]
    assert {h["x-ratelimit-limit-requests"] for h in seen} == {"5"}
    assert {h["x-ratelimit-reset-requests"] for h in seen} == {"30s"}
    assert {h["x-ratelimit-limit-tokens"] for h in seen} == {"20000"}
    # Earlier calls count what they used; the one answering counts its estimate (a few bytes' worth of tokens).
    assert 20_000 - 5 * TOTAL_TOKENS < int(seen[-1]["x-ratelimit-remaining-tokens"]) < 20_000 - 4 * TOTAL_TOKENS
    with pytest.raises(openai.RateLimitError) as refused:
        await client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Hi"}])
    assert refused.value.code == "rate_limit_exceeded"
    assert refused.value.type == "requests"
    assert refused.value.response.headers["retry-after"] == "30"
    assert refused.value.response.headers["x-ratelimit-remaining-requests"] == "0"
    assert len(platform.fake.requests) == 5

    other = platform.sdk((await platform.new_key())["key"])  # each key has its own windows
    with pytest.raises(openai.RateLimitError) as too_big:
        await other.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "Hi"}], max_completion_tokens=30_000
        )
    assert too_big.value.type == "tokens"
    assert len(platform.fake.requests) == 5


async def test_revoked_keys_sessions_and_other_workspaces_claims_are_refused(platform: Platform) -> None:
    key = await platform.new_key()
    revoked = await platform.browser.delete(f"/api/workspaces/{platform.workspace}/api-keys/{key['id']}")
    assert revoked.status_code == 204
    with pytest.raises(openai.AuthenticationError):
        await platform.sdk(key["key"]).models.list()
    with pytest.raises(openai.AuthenticationError):
        await platform.sdk("aw_0000_not-a-key").models.list()
    session = await platform.browser.post(
        "/v1/chat/completions", json={"model": MODEL, "messages": [{"role": "user", "content": "Hi"}]}
    )
    assert (session.status_code, session.json()["error"]["code"]) == (401, "invalid_api_key")

    bob = await signed_up(platform.gateway, platform.stack, "bob")
    bobs_workspace = await new_workspace(bob)
    bobs_key = await platform.new_key(bobs_workspace, bob)
    claims = {"x-aw-workspace-id": platform.workspace, "x-aw-project-id": str(uuid.uuid4())}
    client = platform.sdk(bobs_key["key"], default_headers=claims)
    await client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "Hi"}],
        metadata={"workspace_id": platform.workspace},
    )
    [event] = await platform.usage_events(1)
    assert (str(event.workspace_id), str(event.api_key_id)) == (bobs_workspace, bobs_key["id"])
    assert len(platform.fake.requests) == 1


async def test_only_the_customer_operations_are_served(platform: Platform) -> None:
    key = (await platform.new_key())["key"]
    client = platform.sdk(key)
    models = [model.id async for model in client.models.list()]
    assert MODEL in models
    assert (await client.models.retrieve(MODEL)).id == MODEL
    for path in ("health/providers", "nonesuch"):
        with pytest.raises(openai.NotFoundError):
            await client.get(f"/{path}", cast_to=httpx.Response)
    transport = httpx.ASGITransport(app=platform.gateway)
    async with httpx.AsyncClient(
        transport=transport, base_url=ORIGIN, headers={"authorization": f"Bearer {key}"}
    ) as raw:
        for internal in (
            f"/internal/workspaces/{platform.workspace}/plan",
            "/_events/core-agent-runs",
            "/api/v1/models",
        ):
            response = await raw.get(internal)
            assert response.status_code == 404, internal
    with pytest.raises(openai.APIStatusError) as wrong_method:
        await client.delete("/models", cast_to=httpx.Response)
    assert wrong_method.value.status_code == 405
    assert platform.fake.requests == []


async def test_an_operation_the_router_opens_to_the_gateway_is_served_without_more_work(platform: Platform) -> None:
    key = await platform.new_key()
    client = platform.sdk(key["key"])
    response = await client.responses.create(model=MODEL, input="Hi")  # /v1/responses, on the chat adapters
    assert response.output_text == "Hello from OpenAI."
    [event] = await platform.usage_events(1)
    assert (str(event.workspace_id), str(event.api_key_id), event.project_id) == (platform.workspace, key["id"], None)


async def test_images_answered_as_urls_are_served_through_the_gateway_to_their_workspace_only(
    platform: Platform,
) -> None:
    key = (await platform.new_key())["key"]
    images = await platform.sdk(key).images.generate(
        model="offline-image", prompt="a login screen", response_format="url"
    )
    assert images.data is not None
    url = images.data[0].url or ""
    gateway_url = platform.gateway.state.ctx.settings.audience
    assert url.startswith(f"{gateway_url}/v1/images/files/"), url
    path = url.removeprefix(gateway_url)
    transport = httpx.ASGITransport(app=platform.gateway, client=("198.51.100.7", 5000))
    async with httpx.AsyncClient(transport=transport, base_url=ORIGIN) as raw:
        own = await raw.get(path, headers={"authorization": f"Bearer {key}"})
        assert own.status_code == 200, own.text
        assert own.headers["content-type"].startswith("image/")
        assert own.content.startswith(b"\x89PNG")
        anonymous = await raw.get(path)
        assert anonymous.status_code == 401
    stranger = await signed_up(platform.gateway, platform.stack, "eve")
    foreign_key = (await platform.new_key(await new_workspace(stranger), stranger))["key"]
    async with httpx.AsyncClient(transport=transport, base_url=ORIGIN) as raw:
        foreign = await raw.get(path, headers={"authorization": f"Bearer {foreign_key}"})
    assert foreign.status_code == 404


async def test_a_viewers_own_key_spends_nothing(platform: Platform) -> None:
    """Viewers read; running agents (and so spending the workspace's money) is members' and owners' (design §7)."""
    transport = httpx.ASGITransport(app=platform.gateway, client=("198.51.100.10", 5000))
    viewer = await platform.stack.enter_async_context(
        httpx.AsyncClient(transport=transport, base_url=ORIGIN, headers={"origin": ORIGIN}, timeout=30)
    )
    email = f"vera-{uuid.uuid4().hex[:8]}@example.com"
    assert (await viewer.post("/api/auth/signup", json={"email": email, "password": PASSWORD})).status_code == 201
    invite = {"email": email, "role": "viewer"}
    invited = (await platform.browser.post(f"/api/workspaces/{platform.workspace}/members", json=invite)).json()
    accepted = await viewer.post("/api/invitations/accept", json={"token": invited["invitation"]["token"]})
    assert accepted.status_code == 200, accepted.text
    made = await viewer.post(f"/api/workspaces/{platform.workspace}/api-keys", json={"name": "reader"})
    assert made.status_code == 201, made.text
    with pytest.raises(openai.PermissionDeniedError) as refused:
        await platform.sdk(made.json()["key"]).chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "Hi"}]
        )
    assert refused.value.type == "permission_error"
    assert "viewers do not run agents" in refused.value.message
    assert platform.fake.requests == []
