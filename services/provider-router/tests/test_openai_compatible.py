"""The official openai client pointed at the router (offline provider: no keys configured)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from openapi_schema_validator import OAS31Validator

from .conftest import META, PROJECT, WORKSPACE, RouterUnderTest


@pytest.fixture
def router(start_router: Callable[..., RouterUnderTest], monkeypatch: pytest.MonkeyPatch) -> RouterUnderTest:
    for variable in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GOOGLE_API_KEY"):
        monkeypatch.delenv(variable, raising=False)
    return start_router()


def _client(router: RouterUnderTest) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(api_key=router.token, base_url=f"{router.url}/v1", default_headers=META, max_retries=0)


async def test_streaming_chat_with_usage_in_the_final_chunk_when_asked(router: RouterUnderTest) -> None:
    client = _client(router)
    stream = await client.chat.completions.create(
        model="gpt-4-turbo",
        stream=True,
        stream_options={"include_usage": True},
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Write the PRD outline"}],
    )
    chunks = [chunk async for chunk in stream]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "[offline model" in text
    assert "Write the PRD outline" in text
    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) > 10  # token by token
    final = chunks[-1]
    assert final.choices == []
    assert final.usage is not None
    assert final.usage.completion_tokens > 0
    assert final.model_extra is not None
    assert final.model_extra["agentworks"]["provider"] == "offline"
    assert final.model_extra["agentworks"]["requested_provider"] == "openai"
    assert [c for c in chunks if not c.choices] == [final]
    await client.close()


async def test_streaming_chat_without_include_usage_sends_only_chunks_with_choices(router: RouterUnderTest) -> None:
    client = _client(router)
    stream = await client.chat.completions.create(
        model="gpt-4-turbo", stream=True, messages=[{"role": "user", "content": "Write the PRD outline"}]
    )
    chunks = [chunk async for chunk in stream]
    assert all(c.choices for c in chunks)  # the Node SDK's loop reads chunk.choices[0] of every chunk
    assert all(c.usage is None for c in chunks)
    final = chunks[-1]
    assert final.choices[0].finish_reason == "stop"
    assert final.model_extra is not None
    assert final.model_extra["agentworks"]["provider"] == "offline"  # the router's own metering still rides
    assert [c.choices[0].finish_reason for c in chunks].count("stop") == 1
    await client.close()


async def test_non_streaming_chat_is_deterministic_and_costs_nothing(router: RouterUnderTest) -> None:
    client = _client(router)
    messages = [{"role": "user", "content": "Summarise the blueprint"}]
    first = await client.chat.completions.create(model="claude-3-5-sonnet", messages=messages)  # type: ignore[arg-type]
    second = await client.chat.completions.create(model="claude-3-5-sonnet", messages=messages)  # type: ignore[arg-type]
    assert first.choices[0].message.content == second.choices[0].message.content
    assert first.choices[0].finish_reason == "stop"
    assert first.usage is not None
    assert first.usage.prompt_tokens == 3
    usage = router.usage()
    assert len(usage) == 2
    assert {u.outcome for u in usage} == {"success"}
    assert {u.cost for u in usage} == {Decimal(0)}
    assert str(usage[0].workspace_id) == WORKSPACE
    assert str(usage[0].project_id) == PROJECT
    assert usage[0].agent == "prd"
    await client.close()


async def test_images_and_models(router: RouterUnderTest) -> None:
    client = _client(router)
    catalog = openai.AsyncOpenAI(api_key=router.token_of("core"), base_url=f"{router.url}/v1", max_retries=0)
    models = {m.id async for m in catalog.models.list()}  # core reads the model list for the agents' settings
    await catalog.close()
    assert {"gpt-4-turbo", "claude-3-5-sonnet", "gemini-1.5-pro", "gemini-2.5-flash-image"} <= models
    with pytest.raises(openai.PermissionDeniedError):
        await client.models.list()
    images = await client.images.generate(model="gemini-2.5-flash-image", prompt="a checkout page", n=2)
    assert images.data is not None
    assert len(images.data) == 2
    assert base64.b64decode(images.data[0].b64_json or "").startswith(b"\x89PNG")
    await client.close()


async def test_contract_output_for_agents(router: RouterUnderTest) -> None:
    client = _client(router)
    contract = 'AGENTWORKS_OUTPUT_CONTRACT: {"documents": ["prd"], "child_cards": 2}'
    answer = await client.chat.completions.create(
        model="gpt-4-turbo",
        messages=[
            {"role": "system", "content": f"You are the PRD agent.\n{contract}"},
            {"role": "user", "content": "Card: Checkout"},
        ],
    )
    content = answer.choices[0].message.content or ""
    assert '"kind": "prd"' in content
    assert content.count('"title": "Task') == 2
    await client.close()


async def test_bad_requests_are_clear_errors(router: RouterUnderTest) -> None:
    client = openai.AsyncOpenAI(api_key=router.token, base_url=f"{router.url}/v1", max_retries=0)
    with pytest.raises(openai.BadRequestError, match="x-aw-workspace-id"):
        await client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    await client.close()
    client = _client(router)
    with pytest.raises(openai.NotFoundError, match="gpt-99"):
        await client.chat.completions.create(model="gpt-99", messages=[{"role": "user", "content": "hi"}])
    await client.close()
    async with httpx.AsyncClient(base_url=router.url) as raw:
        unauthenticated = await raw.post("/v1/chat/completions", json={"model": "gpt-4o", "messages": []})
    assert unauthenticated.status_code == 401


async def test_offered_an_agents_tools_the_offline_model_works_through_them_turn_by_turn(
    router: RouterUnderTest,
) -> None:
    client = _client(router)
    tools: list[Any] = [
        {"type": "function", "function": {"name": "read_card", "parameters": {"type": "object", "properties": {}}}},
        {"type": "function", "function": {"name": "comment", "parameters": {"type": "object", "properties": {}}}},
    ]
    messages: list[Any] = [{"role": "user", "content": "Work on the card."}]
    first = await client.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=tools)
    [call] = first.choices[0].message.tool_calls or []
    assert (call.function.name, first.choices[0].finish_reason) == ("read_card", "tool_calls")  # type: ignore[union-attr]
    assert "[offline model" in (first.choices[0].message.content or "")
    messages += [first.choices[0].message.model_dump(exclude_none=True)]
    messages += [{"role": "tool", "tool_call_id": call.id, "content": "Card 1 (task): Checkout"}]
    second = await client.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=tools)
    [note] = second.choices[0].message.tool_calls or []
    assert note.function.name == "comment"  # type: ignore[union-attr]
    await client.close()


async def test_offered_only_tools_of_its_own_the_offline_model_answers_as_usual(router: RouterUnderTest) -> None:
    client = _client(router)
    lookup: Any = {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}
    answer = await client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Hello"}], tools=[lookup]
    )
    assert answer.choices[0].message.tool_calls is None
    assert answer.choices[0].finish_reason == "stop"
    await client.close()


@pytest.mark.parametrize("include_usage", [True, False])
async def test_every_streamed_chunk_is_one_the_published_event_stream_allows(
    router: RouterUnderTest, include_usage: bool
) -> None:
    """The router's OpenAPI document states what each chunk of a streamed answer is; services' tests script the
    router's streams by it, so the router's own chunks, tool calls and usage included, must hold to it."""
    published = json.loads((Path(__file__).parents[3] / "contracts" / "openapi" / "provider-router.json").read_text())
    answer = published["paths"]["/v1/chat/completions"]["post"]["responses"]["200"]
    validator = OAS31Validator(answer["content"]["text/event-stream"]["schema"])
    tool = {"type": "function", "function": {"name": "read_card", "parameters": {"type": "object", "properties": {}}}}
    request = {
        "model": "gpt-4o-mini",
        "stream": True,
        "stream_options": {"include_usage": include_usage},
        "messages": [{"role": "user", "content": "Work on the card."}],
        "tools": [tool],
    }
    headers = {"authorization": f"Bearer {router.token}", **META}
    async with httpx.AsyncClient(base_url=router.url) as raw:
        response = await raw.post("/v1/chat/completions", json=request, headers=headers)
    data = [line.removeprefix("data: ") for line in response.text.splitlines() if line.startswith("data: ")]
    assert data[-1] == "[DONE]"
    chunks = [json.loads(line) for line in data[:-1]]
    assert any(chunk["choices"] and chunk["choices"][0]["delta"].get("tool_calls") for chunk in chunks)
    assert [list(validator.iter_errors(chunk)) for chunk in chunks] == [[] for _ in chunks]
