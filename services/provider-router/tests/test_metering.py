"""Metering without holes and answers that say who answered, through the router's HTTP API with the real
SDKs against wire-level fakes: cancelled, cut and orphaned streams, cached and reasoning tokens, retries."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncGenerator, Callable
from decimal import Decimal
from typing import Any

import httpx
import openai
import pytest
from agentworks_provider_router.chat.service import chunks
from agentworks_provider_router.providers.base import Delta
from agentworks_provider_router.routing import Outcome

from .conftest import META, RouterUnderTest
from .fakes import ProviderFake

PROVIDERS = [("openai", "gpt-4o"), ("anthropic", "claude-3-5-sonnet"), ("gemini", "gemini-2.5-pro")]
IDS = [p[0] for p in PROVIDERS]
MESSAGES: list[Any] = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Say hello"}]
PROMPT_ESTIMATE = 14  # (9 + 3) // 4 + 4 for each of the two messages
# (input, output, estimated) recorded when the stream stops after "Hello from": what the provider reported,
# else the router's estimate ("Hello from" is 3 tokens at four characters a token).
PARTIAL = {"openai": (PROMPT_ESTIMATE, 3, True), "anthropic": (2000, 3, True), "gemini": (4000, 800, False)}


@pytest.fixture(autouse=True)
def clean(fake: ProviderFake) -> None:
    fake.reset()


def client(router: RouterUnderTest, **options: Any) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(
        api_key=router.token, base_url=f"{router.url}/v1", **{"default_headers": META, "max_retries": 0, **options}
    )


def usage_when(router: RouterUnderTest, count: int, timeout: float = 10.0) -> list[Any]:
    """The usage records once there are ``count`` (a cancelled call's record is written after the cancel)."""
    deadline = time.monotonic() + timeout
    while len(records := router.usage()) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    return records


@pytest.mark.parametrize(("api", "model"), PROVIDERS, ids=IDS)
@pytest.mark.parametrize("include_usage", [True, False], ids=["include-usage", "no-usage"])
async def test_streams_end_with_a_usage_chunk_only_when_asked(
    start_router: Callable[..., RouterUnderTest], fake: ProviderFake, api: str, model: str, include_usage: bool
) -> None:
    router = start_router(fake)
    sdk = client(router)
    options: Any = {"stream_options": {"include_usage": True}} if include_usage else {}
    stream = await sdk.chat.completions.create(model=model, stream=True, messages=MESSAGES, **options)
    chunks = [chunk async for chunk in stream]
    await sdk.close()
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Hello from the fake provider."
    without_choices = [c for c in chunks if not c.choices]
    assert len(without_choices) == (1 if include_usage else 0)
    if include_usage:
        assert chunks[-1].usage is not None
        assert chunks[-1].usage.prompt_tokens == {"openai": 1000, "anthropic": 2000, "gemini": 4000}[api]
    last = chunks[-1]
    assert last.model_extra is not None
    assert last.model_extra["agentworks"]["model"] == model  # the router's own metering, either way
    assert [u.outcome for u in router.usage()] == ["success"]


@pytest.mark.parametrize(("api", "model"), PROVIDERS, ids=IDS)
async def test_a_stream_the_client_cancels_is_recorded_once_with_the_reported_tokens(
    start_router: Callable[..., RouterUnderTest], fake: ProviderFake, api: str, model: str
) -> None:
    router = start_router(fake, call_timeout_seconds=30)
    fake.script(api, "stall")
    sdk = client(router)
    stream = await sdk.chat.completions.create(model=model, stream=True, messages=MESSAGES)
    text = ""
    async for chunk in stream:
        text += chunk.choices[0].delta.content or "" if chunk.choices else ""
        if text == "Hello from":
            break
    await stream.close()
    [cancelled] = usage_when(router, 1)
    assert (cancelled.outcome, cancelled.model) == ("cancelled", model)
    assert (cancelled.input_tokens, cancelled.output_tokens, cancelled.estimated) == PARTIAL[api]
    assert cancelled.cost > 0
    await sdk.chat.completions.create(model=model, messages=MESSAGES)
    await sdk.close()
    assert [u.outcome for u in usage_when(router, 2)] == ["cancelled", "success"]  # exactly one record for it


@pytest.mark.parametrize(("api", "model"), PROVIDERS, ids=IDS)
async def test_a_stream_cut_mid_answer_is_recorded_with_the_reported_tokens(
    start_router: Callable[..., RouterUnderTest], fake: ProviderFake, api: str, model: str
) -> None:
    router = start_router(fake)
    fake.script(api, "cut")
    sdk = client(router)
    stream = await sdk.chat.completions.create(model=model, stream=True, messages=MESSAGES)
    with pytest.raises(openai.APIError):
        async for _chunk in stream:
            pass
    await sdk.close()
    [cut] = router.usage()
    assert cut.outcome == "error"
    assert (cut.input_tokens, cut.output_tokens, cut.estimated) == PARTIAL[api]


CALLER = """
import sys, httpx
url, token, model, *headers = sys.argv[1:]
meta = dict(h.split("=", 1) for h in headers)
body = {"model": model, "stream": True, "messages": [{"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Say hello"}]}
with httpx.stream("POST", url + "/v1/chat/completions", json=body, timeout=30,
                  headers={"authorization": "Bearer " + token, **meta}) as response:
    for line in response.iter_lines():
        if '" from"' in line:
            print("streaming", flush=True)
            sys.stdin.read()  # the test kills this process here
"""


async def test_a_call_whose_caller_dies_mid_stream_is_recorded_once(
    start_router: Callable[..., RouterUnderTest], fake: ProviderFake
) -> None:
    router = start_router(fake, call_timeout_seconds=30)
    fake.script("anthropic", "stall")
    headers = [f"{name}={value}" for name, value in META.items()]
    with subprocess.Popen(  # noqa: ASYNC220 - the caller must be a process of its own, to be killed
        [sys.executable, "-c", CALLER, router.url, router.token, "claude-3-5-sonnet", *headers],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    ) as caller:
        try:
            assert caller.stdout is not None
            line = await asyncio.to_thread(caller.stdout.readline)
            assert line.strip() == "streaming"
        finally:
            caller.kill()
            caller.wait()
    [orphaned] = usage_when(router, 1)
    assert (orphaned.outcome, orphaned.input_tokens, orphaned.output_tokens) == ("cancelled", 2000, 3)
    assert orphaned.estimated


# (model, cost, usage counted by the provider: input, cached, cache writes, output, reasoning)
CACHED = {
    "openai": ("gpt-4o", Decimal("0.0065"), (1000, 800, 0, 500, 300)),
    "anthropic": ("claude-3-5-sonnet", Decimal("0.017175"), (2000, 1500, 300, 1000, 0)),
    "gemini": ("gemini-2.5-pro", Decimal("0.026625"), (4000, 3000, 0, 2500, 500)),
}


@pytest.mark.parametrize("api", list(CACHED))
async def test_cached_and_reasoning_tokens_are_recorded_and_priced(
    start_router: Callable[..., RouterUnderTest], fake: ProviderFake, api: str
) -> None:
    model, cost, counts = CACHED[api]
    router = start_router(fake)
    fake.script(api, "ok-cache")
    sdk = client(router)
    answer = await sdk.chat.completions.create(model=model, messages=MESSAGES)
    await sdk.close()
    [usage] = router.usage()
    recorded = (
        usage.input_tokens,
        usage.cached_input_tokens,
        usage.cache_write_tokens,
        usage.output_tokens,
        usage.reasoning_tokens,
    )
    assert recorded == counts
    assert usage.cost == cost
    assert not usage.estimated
    assert answer.usage is not None
    assert answer.usage.prompt_tokens_details is not None
    assert answer.usage.prompt_tokens_details.cached_tokens == counts[1]
    assert answer.usage.completion_tokens_details is not None
    assert answer.usage.completion_tokens_details.reasoning_tokens == counts[4]


async def test_one_client_call_makes_one_upstream_call_per_router_attempt(
    start_router: Callable[..., RouterUnderTest], fake: ProviderFake
) -> None:
    router = start_router(fake, max_attempts=3)
    fake.script("openai", "500", "500", "500")
    sdk = client(router, max_retries=2)  # the SDK's default: it would retry the router's 502 twice
    with pytest.raises(openai.APIStatusError) as failed:
        await sdk.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    await sdk.close()
    assert failed.value.response.headers["x-should-retry"] == "false"
    assert len(fake.requests["openai"]) == 3
    assert [(u.attempt, u.outcome, u.cost) for u in router.usage()] == [(n, "error", Decimal(0)) for n in (1, 2, 3)]


async def test_a_fallback_answer_names_the_model_that_answered(
    start_router: Callable[..., RouterUnderTest], fake: ProviderFake
) -> None:
    router = start_router(fake, max_attempts=1, fallbacks={"gpt-4o": ["claude-3-5-sonnet"]})
    fake.script("openai", "503", "503")
    sdk = client(router)
    raw = await sdk.chat.completions.with_raw_response.create(model="gpt-4o", messages=MESSAGES)
    answer = raw.parse()
    assert answer.model == "claude-3-5-sonnet"
    assert raw.headers["x-agentworks-model"] == "claude-3-5-sonnet"
    assert raw.headers["x-agentworks-provider"] == "anthropic"
    assert raw.headers["x-agentworks-fallback"] == "true"
    stream = await sdk.chat.completions.create(model="gpt-4o", stream=True, messages=MESSAGES)
    assert {chunk.model async for chunk in stream} == {"claude-3-5-sonnet"}
    direct = await sdk.chat.completions.with_raw_response.create(model="gpt-4o", messages=MESSAGES)
    await sdk.close()
    assert (direct.parse().model, direct.headers["x-agentworks-fallback"]) == ("gpt-4o", "false")


async def test_models_are_listed_and_found_by_id_in_openai_shape(
    start_router: Callable[..., RouterUnderTest], fake: ProviderFake
) -> None:
    router = start_router(fake)
    sdk = openai.AsyncOpenAI(api_key=router.token_of("core"), base_url=f"{router.url}/v1", max_retries=0)
    listed = {m.id: m async for m in sdk.models.list()}
    assert {"gpt-5", "claude-sonnet-4-5", "gemini-2.5-pro", "gemini-2.5-flash-image"} <= set(listed)
    found = await sdk.models.retrieve("claude-sonnet-4-5")
    assert (found.id, found.owned_by, found.object) == ("claude-sonnet-4-5", "anthropic", "model")
    assert found.created == listed["claude-sonnet-4-5"].created > 0
    with pytest.raises(openai.NotFoundError) as missing:
        await sdk.models.retrieve("gpt-99")
    await sdk.close()
    error = missing.value.body
    assert isinstance(error, dict)
    assert (error["code"], error["type"], error["param"]) == ("model_not_found", "invalid_request_error", "model")


async def test_each_choice_opens_with_the_role_and_usage_only_deltas_send_no_chunk() -> None:
    async def deltas() -> AsyncGenerator[Delta, None]:
        yield Delta(content="b", choice=1)
        yield Delta(input_tokens=12)  # usage reported mid-stream: no chunk of its own
        yield Delta(finish_reason="stop", choice=0)
        yield Delta(finish_reason="stop", choice=1, output_tokens=3)

    outcome = Outcome(provider="openai", model="gpt-4o", requested_model="gpt-4o")
    lines = [line async for line in chunks(deltas(), Delta(content="a"), outcome, False)]
    assert lines[-1] == "data: [DONE]\n\n"
    sent = [json.loads(line.removeprefix("data: ")) for line in lines[:-1]]
    assert [(c["choices"][0]["index"], c["choices"][0]["delta"]) for c in sent] == [
        (0, {"role": "assistant", "content": "a"}),
        (1, {"role": "assistant", "content": "b"}),
        (0, {}),
        (1, {}),
    ]
    assert [c["choices"][0]["finish_reason"] for c in sent[2:]] == ["stop", "stop"]
    assert ["agentworks" in c for c in sent] == [False, False, False, True]  # on the last finishing chunk


async def test_a_runs_recorded_calls_add_up_for_the_orchestrator_whoever_made_them(
    start_router: Callable[..., RouterUnderTest], fake: ProviderFake
) -> None:
    router = start_router(fake, call_timeout_seconds=30)
    run_id, other_run = "6f0e2c3a-1111-4a4a-9b9b-0000000000aa", "6f0e2c3a-1111-4a4a-9b9b-0000000000bb"
    fake.script("openai", "stall")
    dying = client(router, default_headers={**META, "x-aw-run-id": run_id})
    stream = await dying.chat.completions.create(model="gpt-4o", stream=True, messages=MESSAGES)
    async for _chunk in stream:  # the executor dies after the first words
        break
    await stream.close()
    await dying.close()
    usage_when(router, 1)
    for run in (run_id, other_run):
        sdk = client(router, default_headers={**META, "x-aw-run-id": run})
        await sdk.chat.completions.create(model="gpt-4o", messages=MESSAGES)
        await sdk.close()
    records = [u for u in usage_when(router, 3) if str(u.run_id) == run_id]
    assert sorted(u.outcome for u in records) == ["cancelled", "success"]

    async with httpx.AsyncClient(base_url=router.url) as http:
        asked = await http.get(
            f"/internal/runs/{run_id}/usage", headers={"authorization": f"Bearer {router.token_of('orchestrator')}"}
        )
        refused = await http.get(
            f"/internal/runs/{run_id}/usage", headers={"authorization": f"Bearer {router.token_of('gateway')}"}
        )
    assert asked.status_code == 200, asked.text
    spend = asked.json()
    assert Decimal(spend.pop("cost")) == sum((u.cost for u in records), Decimal(0)) > 0
    assert spend == {
        "run_id": run_id,
        "provider_calls": 2,
        "input_tokens": sum(u.input_tokens for u in records),
        "output_tokens": sum(u.output_tokens for u in records),
    }
    assert refused.status_code == 403
