"""Each SDK adapter, with the real SDK, against a wire-level fake of its provider's HTTP API."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx
import openai
import pytest

from .conftest import META, ManualClock, RouterUnderTest
from .fakes import ProviderFake

PROVIDERS = [
    ("openai", "openai", "gpt-4o", Decimal("0.0075")),
    ("anthropic", "anthropic", "claude-3-5-sonnet", Decimal("0.021")),
    ("gemini", "google", "gemini-1.5-pro", Decimal("0.015")),
]
IDS = [p[0] for p in PROVIDERS]


@pytest.fixture(autouse=True)
def clean(fake: ProviderFake) -> None:
    fake.reset()


def client(router: RouterUnderTest) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(api_key=router.token, base_url=f"{router.url}/v1", default_headers=META, max_retries=0)


async def stream_text(router: RouterUnderTest, model: str) -> tuple[str, Any]:
    sdk = client(router)
    try:
        stream = await sdk.chat.completions.create(
            model=model,
            stream=True,
            messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Say hello"}],
        )
        chunks = [chunk async for chunk in stream]
    finally:
        await sdk.close()
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices), chunks[-1]


@pytest.mark.parametrize(("api", "provider", "model", "cost"), PROVIDERS, ids=IDS)
async def test_streams_with_usage_and_exact_cost(
    start_router: Callable[..., RouterUnderTest], fake: ProviderFake, api: str, provider: str, model: str, cost: Decimal
) -> None:
    router = start_router(fake)
    text, final = await stream_text(router, model)
    assert text == "Hello from the fake provider."
    assert final.model_extra["agentworks"]["provider"] == provider
    assert Decimal(final.model_extra["agentworks"]["cost"]) == cost
    [usage] = router.usage()
    assert (usage.provider, usage.outcome, usage.cost) == (provider, "success", cost)
    assert len(fake.requests[api]) == 1


@pytest.mark.parametrize(("api", "provider", "model", "cost"), PROVIDERS, ids=IDS)
async def test_answers_in_a_row_reuse_one_connection_to_the_provider(
    start_router: Callable[..., RouterUnderTest], fake: ProviderFake, api: str, provider: str, model: str, cost: Decimal
) -> None:
    router = start_router(fake)
    for _ in range(3):
        text, _final = await stream_text(router, model)
        assert text == "Hello from the fake provider."
    assert len(set(fake.peers[api])) == 1, "a new connection (a TLS handshake with the real API) per call"


@pytest.mark.parametrize(("api", "provider", "model", "cost"), PROVIDERS, ids=IDS)
async def test_429_is_retried_after_the_retry_after_delay(
    start_router: Callable[..., RouterUnderTest], fake: ProviderFake, api: str, provider: str, model: str, cost: Decimal
) -> None:
    router = start_router(fake)
    fake.script(api, "429")
    text, _ = await stream_text(router, model)
    assert text == "Hello from the fake provider."
    first, second = fake.times[api]
    assert second - first >= 0.95
    assert [u.outcome for u in router.usage()] == ["error", "success"]
    assert router.usage()[0].error_code == "provider_rate_limited"


@pytest.mark.parametrize(("api", "provider", "model", "cost"), PROVIDERS, ids=IDS)
@pytest.mark.parametrize("status", ["500", "503", "529"])
async def test_server_errors_are_retried(
    start_router: Callable[..., RouterUnderTest],
    fake: ProviderFake,
    api: str,
    provider: str,
    model: str,
    cost: Decimal,
    status: str,
) -> None:
    router = start_router(fake)
    fake.script(api, status, status)
    text, _ = await stream_text(router, model)
    assert text == "Hello from the fake provider."
    assert len(fake.requests[api]) == 3
    assert [u.attempt for u in router.usage()] == [1, 2, 3]


async def test_exhausted_quota_is_not_retried(start_router: Callable[..., RouterUnderTest], fake: ProviderFake) -> None:
    router = start_router(fake)
    fake.script("openai", "quota")
    with pytest.raises(openai.RateLimitError, match="quota"):
        await stream_text(router, "gpt-4o")
    assert len(fake.requests["openai"]) == 1


@pytest.mark.parametrize(("api", "provider", "model", "cost"), PROVIDERS, ids=IDS)
async def test_timeouts_are_retried_then_reported(
    start_router: Callable[..., RouterUnderTest], fake: ProviderFake, api: str, provider: str, model: str, cost: Decimal
) -> None:
    router = start_router(fake, max_attempts=2, call_timeout_seconds=0.5)
    fake.script(api, "slow", "slow")
    with pytest.raises(openai.APIStatusError) as error:
        await stream_text(router, model)
    assert error.value.status_code == 504
    assert [u.outcome for u in router.usage()] == ["timeout", "timeout"]


@pytest.mark.parametrize(("api", "provider", "model", "cost"), PROVIDERS, ids=IDS)
async def test_a_stream_cut_mid_response_is_reported_and_recorded(
    start_router: Callable[..., RouterUnderTest], fake: ProviderFake, api: str, provider: str, model: str, cost: Decimal
) -> None:
    router = start_router(fake)
    fake.script(api, "cut")
    async with httpx.AsyncClient(base_url=router.url, timeout=10) as raw:
        response = await raw.post(
            "/v1/chat/completions",
            headers={"authorization": f"Bearer {router.token}", **META},
            json={"model": model, "stream": True, "messages": [{"role": "user", "content": "Say hello"}]},
        )
    assert response.status_code == 200
    assert '"content": "Hello"' in response.text
    assert '"error"' in response.text
    assert "[DONE]" not in response.text
    [usage] = router.usage()
    assert usage.outcome == "error"
    assert usage.output_tokens > 0
    assert len(fake.requests[api]) == 1


async def test_an_error_chunk_mid_stream_is_reported_and_recorded(
    start_router: Callable[..., RouterUnderTest], fake: ProviderFake
) -> None:
    router = start_router(fake)
    fake.script("openai", "stream-error")
    async with httpx.AsyncClient(base_url=router.url, timeout=10) as raw:
        response = await raw.post(
            "/v1/chat/completions",
            headers={"authorization": f"Bearer {router.token}", **META},
            json={"model": "gpt-4o", "stream": True, "messages": [{"role": "user", "content": "Say hello"}]},
        )
    assert response.status_code == 200
    assert '"content": "Hello"' in response.text
    assert "OpenAI failed mid-answer: The server had an error." in response.text
    assert "[DONE]" not in response.text
    [usage] = router.usage()
    assert (usage.outcome, usage.error_code) == ("error", "provider_error")
    assert len(fake.requests["openai"]) == 1


def operator(router: RouterUnderTest) -> dict[str, str]:
    return {"authorization": f"Bearer {router.token_of('operator')}"}


async def test_breaker_opens_fails_fast_and_recovers(
    start_router: Callable[..., RouterUnderTest], fake: ProviderFake
) -> None:
    clock = ManualClock()
    router = start_router(fake, clock=clock, max_attempts=1, breaker_threshold=2, breaker_cooldown_seconds=30.0)
    fake.script("anthropic", "500", "500")
    for _ in range(2):
        with pytest.raises(openai.APIStatusError):
            await stream_text(router, "claude-3-5-sonnet")
    async with httpx.AsyncClient(base_url=router.url) as raw:
        health = (await raw.get("/v1/health/providers", headers=operator(router))).json()
    assert health["anthropic"]["models"]["claude-3-5-sonnet"]["circuit"] == "open"
    with pytest.raises(openai.APIStatusError) as fast:
        await stream_text(router, "claude-3-5-sonnet")
    assert fast.value.status_code == 503
    assert len(fake.requests["anthropic"]) == 2
    clock.advance(30.0)
    text, _ = await stream_text(router, "claude-3-5-sonnet")
    assert text == "Hello from the fake provider."
    async with httpx.AsyncClient(base_url=router.url) as raw:
        health = (await raw.get("/v1/health/providers", headers=operator(router))).json()
    assert health["anthropic"]["models"]["claude-3-5-sonnet"]["circuit"] == "closed"


async def test_fallback_chain_is_used_and_recorded(
    start_router: Callable[..., RouterUnderTest], fake: ProviderFake
) -> None:
    router = start_router(fake, max_attempts=2, fallbacks={"gpt-4o": ["claude-3-5-sonnet"]})
    fake.script("openai", "503", "503")
    text, final = await stream_text(router, "gpt-4o")
    assert text == "Hello from the fake provider."
    assert final.model_extra["agentworks"]["provider"] == "anthropic"
    assert final.model_extra["agentworks"]["requested_provider"] == "openai"
    usage = router.usage()
    assert [(u.provider, u.requested_provider, u.outcome) for u in usage] == [
        ("openai", "openai", "error"),
        ("openai", "openai", "error"),
        ("anthropic", "openai", "success"),
    ]


async def test_a_full_queue_answers_429_with_retry_after(
    start_router: Callable[..., RouterUnderTest], fake: ProviderFake
) -> None:
    router = start_router(fake, call_timeout_seconds=5, limits={"openai": {"max_concurrent": 1, "max_queue": 0}})
    fake.script("openai", "slow")
    slow = asyncio.create_task(stream_text(router, "gpt-4o"))
    while not fake.requests["openai"]:  # noqa: ASYNC110 - the fake runs on another thread
        await asyncio.sleep(0.02)
    with pytest.raises(openai.RateLimitError) as refused:
        await stream_text(router, "gpt-4o")
    assert refused.value.response.headers["retry-after"]
    text, _ = await slow
    assert text == "Hello from the fake provider."


async def test_anthropic_translation_of_system_prompts_and_tools(
    start_router: Callable[..., RouterUnderTest], fake: ProviderFake
) -> None:
    router = start_router(fake)
    fake.script("anthropic", "ok-tools")
    sdk = client(router)
    answer = await sdk.chat.completions.create(
        model="claude-3-5-sonnet",
        tools=[
            {
                "type": "function",
                "function": {
                    "name": "lookup",
                    "description": "Find a card",
                    "parameters": {"type": "object", "properties": {"q": {}}},
                },
            }
        ],
        messages=[
            {"role": "system", "content": "You are QA."},
            {"role": "user", "content": "Find it"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": "call_0", "type": "function", "function": {"name": "lookup", "arguments": '{"q": 0}'}}
                ],
            },
            {"role": "tool", "tool_call_id": "call_0", "content": "not found"},
            {"role": "user", "content": "Try again"},
        ],
    )
    await sdk.close()
    sent = fake.requests["anthropic"][0]
    assert sent["system"] == "You are QA."
    assert sent["tools"][0]["input_schema"]["properties"] == {"q": {}}
    assert [m["role"] for m in sent["messages"]] == ["user", "assistant", "user"]
    assert sent["messages"][1]["content"][0] == {
        "type": "tool_use",
        "id": "call_0",
        "name": "lookup",
        "input": {"q": 0},
    }
    assert sent["messages"][2]["content"][0]["type"] == "tool_result"
    call = answer.choices[0].message.tool_calls[0]  # type: ignore[index]
    assert (call.function.name, call.function.arguments) == ("lookup", '{"q": 1}')  # type: ignore[union-attr]
    assert answer.choices[0].finish_reason == "tool_calls"


async def test_nano_banana_images_are_costed_per_image(
    start_router: Callable[..., RouterUnderTest], fake: ProviderFake
) -> None:
    router = start_router(fake)
    sdk = client(router)
    images = await sdk.images.generate(model="gemini-2.5-flash-image", prompt="a login screen", n=2)
    await sdk.close()
    assert images.data is not None
    assert len(images.data) == 2
    [usage] = router.usage()
    assert (usage.provider, usage.images) == ("nano-banana", 2)
    assert usage.cost == Decimal("0.078") + Decimal(24) * Decimal("0.30") / Decimal(1_000_000)
    assert time.time() > 0
