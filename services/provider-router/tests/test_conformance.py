"""Conformance: the official ``openai`` SDK drives the router as it would drive OpenAI, for an OpenAI, an
Anthropic and a Gemini model, against wire fakes that enforce each real API's validation rules."""

from __future__ import annotations

import base64
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

import openai
import pytest
from pydantic import BaseModel

from .conftest import META, RouterUnderTest
from .fakes import LEAKED_KEY, ProviderFake

MODELS = [("openai", "gpt-4o"), ("anthropic", "claude-3-5-sonnet"), ("gemini", "gemini-1.5-pro")]
IDS = [api for api, _ in MODELS]
LOOKUP = {
    "type": "function",
    "function": {
        "name": "lookup",
        "description": "Find a card",
        "parameters": {"type": "object", "properties": {"q": {"type": "integer"}}, "required": ["q"]},
    },
}
PNG = "data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n\x1a\nimage").decode()


class Card(BaseModel):
    title: str
    priority: int


@pytest.fixture(autouse=True)
def clean(fake: ProviderFake) -> None:
    fake.reset()


@pytest.fixture
async def sdk(start_router: Callable[..., RouterUnderTest], fake: ProviderFake) -> AsyncIterator[openai.AsyncOpenAI]:
    router = start_router(fake)
    client = openai.AsyncOpenAI(api_key=router.token, base_url=f"{router.url}/v1", default_headers=META, max_retries=0)
    yield client
    await client.close()


def camel(value: Any) -> Any:
    """Gemini reads a field by its proto name or its JSON name alike; tests compare JSON names."""
    if isinstance(value, dict):
        return {re.sub(r"_([a-z])", lambda m: m[1].upper(), k): camel(v) for k, v in value.items()}
    return value


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


@pytest.mark.parametrize(("api", "model"), MODELS, ids=IDS)
async def test_a_plain_answer(sdk: openai.AsyncOpenAI, fake: ProviderFake, api: str, model: str) -> None:
    answer = await sdk.chat.completions.create(model=model, messages=[user("Say hello")])
    assert answer.choices[0].message.content == "Hello from the fake provider."
    assert answer.choices[0].finish_reason == "stop"
    assert fake.last_request(api)


TOOL_CHOICES: dict[str, list[Any]] = {
    "openai": ["auto", "none", "required", {"type": "function", "function": {"name": "lookup"}}],
    "anthropic": [{"type": "auto"}, {"type": "none"}, {"type": "any"}, {"type": "tool", "name": "lookup"}],
    "gemini": [
        {"mode": "AUTO"},
        {"mode": "NONE"},
        {"mode": "ANY"},
        {"mode": "ANY", "allowedFunctionNames": ["lookup"]},
    ],
}


def _tool_choice_sent(api: str, body: dict[str, Any]) -> Any:
    if api == "gemini":
        return body["toolConfig"]["functionCallingConfig"]
    return body["tool_choice"]


@pytest.mark.parametrize(("api", "model"), MODELS, ids=IDS)
async def test_every_tool_choice_reaches_the_provider(
    sdk: openai.AsyncOpenAI, fake: ProviderFake, api: str, model: str
) -> None:
    choices: list[Any] = ["auto", "none", "required", {"type": "function", "function": {"name": "lookup"}}]
    for choice, expected in zip(choices, TOOL_CHOICES[api], strict=True):
        fake.script(api, "ok-tools")
        answer = await sdk.chat.completions.create(
            model=model, messages=[user("Find card 1")], tools=[LOOKUP], tool_choice=choice
        )
        assert _tool_choice_sent(api, fake.last_request(api)) == expected
        [call] = answer.choices[0].message.tool_calls or []
        assert (call.function.name, call.function.arguments) == ("lookup", '{"q": 1}')  # type: ignore[union-attr]


async def test_parallel_tool_calls_off_is_translated_or_refused(sdk: openai.AsyncOpenAI, fake: ProviderFake) -> None:
    for model in ("gpt-4o", "claude-3-5-sonnet"):
        await sdk.chat.completions.create(
            model=model, messages=[user("Find card 1")], tools=[LOOKUP], parallel_tool_calls=False
        )
    assert fake.last_request("openai")["parallel_tool_calls"] is False
    assert fake.last_request("anthropic")["tool_choice"] == {"type": "auto", "disable_parallel_tool_use": True}
    with pytest.raises(openai.BadRequestError) as refused:
        await sdk.chat.completions.create(
            model="gemini-1.5-pro", messages=[user("Find card 1")], tools=[LOOKUP], parallel_tool_calls=False
        )
    assert refused.value.code == "unsupported_parameter"
    assert refused.value.param == "parallel_tool_calls"
    assert "google" in refused.value.message
    assert not fake.requests["gemini"]


async def _tool_round(
    sdk: openai.AsyncOpenAI, fake: ProviderFake, api: str, model: str, messages: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """One turn that calls ``lookup`` twice in parallel, answered with both results."""
    fake.script(api, "ok-parallel")
    answer = await sdk.chat.completions.create(model=model, messages=messages, tools=[LOOKUP])  # type: ignore[arg-type]
    calls = answer.choices[0].message.tool_calls or []
    assert [c.function.arguments for c in calls] == ['{"q": 1}', '{"q": 2}']  # type: ignore[union-attr]
    assert answer.choices[0].finish_reason == "tool_calls"
    turn = answer.choices[0].message.model_dump(exclude_none=True, include={"role", "content", "tool_calls"})
    results = [{"role": "tool", "tool_call_id": c.id, "content": f"card {n}"} for n, c in enumerate(calls, 1)]
    return [*messages, turn, *results]


@pytest.mark.parametrize(("api", "model"), MODELS, ids=IDS)
async def test_parallel_calls_and_their_results_over_several_turns(
    sdk: openai.AsyncOpenAI, fake: ProviderFake, api: str, model: str
) -> None:
    messages = await _tool_round(sdk, fake, api, model, [user("Find cards 1 and 2")])
    messages = await _tool_round(sdk, fake, api, model, messages)
    answer = await sdk.chat.completions.create(model=model, messages=messages, tools=[LOOKUP])  # type: ignore[arg-type]
    assert answer.choices[0].message.content == "Hello from the fake provider."
    ids = [call["id"] for turn in messages for call in turn.get("tool_calls", [])]
    assert len(ids) == len(set(ids)) == 4, "tool-call ids repeat across turns"
    body = fake.last_request(api)
    if api == "gemini":
        answers = body["contents"][2]
        assert answers["role"] == "user"
        assert [p["functionResponse"]["name"] for p in answers["parts"]] == ["lookup", "lookup"]
        assert answers["parts"][0]["functionResponse"]["response"] == {"output": "card 1"}
    if api == "anthropic":
        results = body["messages"][2]["content"]
        assert [b["tool_use_id"] for b in results] == ids[:2]


class Lookup(BaseModel):
    """Find a card."""

    q: int


@pytest.mark.parametrize(("api", "model"), MODELS, ids=IDS)
async def test_streamed_tool_calls_are_assembled_by_the_sdk(
    sdk: openai.AsyncOpenAI, fake: ProviderFake, api: str, model: str
) -> None:
    fake.script(api, "ok-parallel")
    async with sdk.chat.completions.stream(
        model=model, messages=[user("Find cards 1 and 2")], tools=[openai.pydantic_function_tool(Lookup, name="lookup")]
    ) as stream:
        events = [event async for event in stream]
        final = await stream.get_final_completion()
    assert final.choices[0].finish_reason == "tool_calls"
    calls = final.choices[0].message.tool_calls or []
    assert [c.function.parsed_arguments for c in calls] == [Lookup(q=1), Lookup(q=2)]
    assert len({c.id for c in calls}) == 2
    done = [e for e in events if e.type == "tool_calls.function.arguments.done"]
    assert [(e.name, e.arguments) for e in done] == [("lookup", '{"q": 1}'), ("lookup", '{"q": 2}')]
    # As OpenAI streams a call: its first delta names it, the later ones only add arguments.
    deltas = [call for e in events if e.type == "chunk" for call in e.chunk.choices[0].delta.tool_calls or []]
    assert [(d.index, d.id, d.function.name) for d in deltas if d.id] == [
        (0, calls[0].id, "lookup"),
        (1, calls[1].id, "lookup"),
    ]
    assert all(d.function.name is None and d.type is None for d in deltas if not d.id)
    assert fake.last_request(api)


async def test_a_conversation_moves_from_gemini_to_claude(sdk: openai.AsyncOpenAI, fake: ProviderFake) -> None:
    messages = await _tool_round(sdk, fake, "gemini", "gemini-1.5-pro", [user("Find cards 1 and 2")])
    messages = await _tool_round(sdk, fake, "gemini", "gemini-1.5-pro", messages)
    answer = await sdk.chat.completions.create(model="claude-3-5-sonnet", messages=messages, tools=[LOOKUP])  # type: ignore[arg-type]
    assert answer.choices[0].message.content == "Hello from the fake provider."
    assert fake.last_request("anthropic")


async def test_repeated_and_foreign_tool_ids_are_made_unique_for_claude(
    sdk: openai.AsyncOpenAI, fake: ProviderFake
) -> None:
    def call_turn(call_id: str) -> list[dict[str, Any]]:
        call = {"id": call_id, "type": "function", "function": {"name": "lookup", "arguments": '{"q": 1}'}}
        return [
            {"role": "assistant", "content": "", "tool_calls": [call]},
            {"role": "tool", "tool_call_id": call_id, "content": "card 1"},
        ]

    messages = [user("Find it"), *call_turn("call_0"), *call_turn("call_0"), *call_turn("fn:lookup.1")]
    await sdk.chat.completions.create(model="claude-3-5-sonnet", messages=messages, tools=[LOOKUP])  # type: ignore[arg-type]
    turns = fake.last_request("anthropic")["messages"]
    uses = [b["id"] for t in turns for b in t["content"] if b["type"] == "tool_use"]
    results = [b["tool_use_id"] for t in turns for b in t["content"] if b["type"] == "tool_result"]
    assert uses == results
    assert len(set(uses)) == 3
    assert [t["role"] for t in turns] == ["user", "assistant", "user", "assistant", "user", "assistant", "user"]


async def test_empty_turns_never_reach_claude(sdk: openai.AsyncOpenAI, fake: ProviderFake) -> None:
    messages = [user("Hi"), {"role": "assistant", "content": ""}, user("Say hello")]
    answer = await sdk.chat.completions.create(model="claude-3-5-sonnet", messages=messages)  # type: ignore[arg-type]
    assert answer.choices[0].message.content == "Hello from the fake provider."
    assert fake.last_request("anthropic")["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "Hi"}, {"type": "text", "text": "Say hello"}]}
    ]


@pytest.mark.parametrize(("api", "model"), MODELS, ids=IDS)
async def test_structured_output_with_parse(sdk: openai.AsyncOpenAI, fake: ProviderFake, api: str, model: str) -> None:
    fake.script(api, "ok-json")
    answer = await sdk.chat.completions.parse(model=model, messages=[user("The checkout card")], response_format=Card)
    assert answer.choices[0].message.parsed == Card(title="Checkout", priority=2)
    body = fake.last_request(api)
    if api == "openai":
        assert body["response_format"]["type"] == "json_schema"
        assert body["response_format"]["json_schema"]["strict"] is True
        schema = body["response_format"]["json_schema"]["schema"]
    elif api == "anthropic":
        assert body["output_config"]["format"]["type"] == "json_schema"
        schema = body["output_config"]["format"]["schema"]
    else:
        assert body["generationConfig"]["responseMimeType"] == "application/json"
        schema = body["generationConfig"]["responseJsonSchema"]
    assert schema["properties"].keys() == {"title", "priority"}


async def test_json_mode(sdk: openai.AsyncOpenAI, fake: ProviderFake) -> None:
    for model in ("gpt-4o", "gemini-1.5-pro"):
        await sdk.chat.completions.create(
            model=model, messages=[user("JSON please")], response_format={"type": "json_object"}
        )
    assert fake.last_request("openai")["response_format"] == {"type": "json_object"}
    assert fake.last_request("gemini")["generationConfig"]["responseMimeType"] == "application/json"
    with pytest.raises(openai.BadRequestError) as refused:
        await sdk.chat.completions.create(
            model="claude-3-5-sonnet", messages=[user("JSON please")], response_format={"type": "json_object"}
        )
    assert refused.value.param == "response_format"


def _image_message(url: str, detail: str | None = None) -> dict[str, Any]:
    image: dict[str, Any] = {"url": url, **({"detail": detail} if detail else {})}
    return {
        "role": "user",
        "content": [{"type": "text", "text": "What is this?"}, {"type": "image_url", "image_url": image}],
    }


@pytest.mark.parametrize(("api", "model"), MODELS, ids=IDS)
async def test_image_input_reaches_the_provider(
    sdk: openai.AsyncOpenAI, fake: ProviderFake, api: str, model: str
) -> None:
    await sdk.chat.completions.create(model=model, messages=[_image_message(PNG)])  # type: ignore[list-item]
    body = fake.last_request(api)
    if api == "openai":
        assert body["messages"][0]["content"][1] == {"type": "image_url", "image_url": {"url": PNG}}
    elif api == "anthropic":
        image = body["messages"][0]["content"][1]
        assert image["source"] == {"type": "base64", "media_type": "image/png", "data": PNG.split(",", 1)[1]}
    else:
        image = camel(body["contents"][0]["parts"][1]["inlineData"])
        assert image == {"mimeType": "image/png", "data": PNG.split(",", 1)[1]}
    assert "What is this?" in str(body)


async def test_image_urls_go_to_claude_and_are_refused_by_gemini(sdk: openai.AsyncOpenAI, fake: ProviderFake) -> None:
    url = "https://example.test/screen.png"
    await sdk.chat.completions.create(model="claude-3-5-sonnet", messages=[_image_message(url)])  # type: ignore[list-item]
    assert fake.last_request("anthropic")["messages"][0]["content"][1]["source"] == {"type": "url", "url": url}
    with pytest.raises(openai.BadRequestError) as refused:
        await sdk.chat.completions.create(model="gemini-1.5-pro", messages=[_image_message(url)])  # type: ignore[list-item]
    assert refused.value.code == "unsupported_parameter"
    assert not fake.requests["gemini"]


async def test_openai_parameters_pass_through_unchanged(sdk: openai.AsyncOpenAI, fake: ProviderFake) -> None:
    await sdk.chat.completions.create(
        model="gpt-4o",
        messages=[user("Say hello")],
        temperature=0.3,
        top_p=0.9,
        n=1,
        seed=7,
        presence_penalty=0.5,
        frequency_penalty=-0.5,
        logit_bias={"50256": -100},
        user="user-42",
        stop=["END"],
        reasoning_effort="low",
        max_completion_tokens=50,
        tools=[{**LOOKUP, "function": {**LOOKUP["function"], "strict": True}}],  # type: ignore[list-item]
        parallel_tool_calls=True,
    )
    body = fake.last_request("openai")
    expected = {
        "temperature": 0.3,
        "top_p": 0.9,
        "seed": 7,
        "presence_penalty": 0.5,
        "frequency_penalty": -0.5,
        "logit_bias": {"50256": -100},
        "user": "user-42",
        "stop": ["END"],
        "reasoning_effort": "low",
        "max_completion_tokens": 50,
        "parallel_tool_calls": True,
    }
    assert {name: body[name] for name in expected} == expected
    assert body["tools"][0]["function"]["strict"] is True


async def test_gemini_sampling_and_thinking_are_translated(sdk: openai.AsyncOpenAI, fake: ProviderFake) -> None:
    await sdk.chat.completions.create(
        model="gemini-1.5-pro",
        messages=[user("Say hello")],
        temperature=0.3,
        top_p=0.9,
        seed=7,
        presence_penalty=0.5,
        frequency_penalty=0.25,
        stop="END",
        max_tokens=50,
        reasoning_effort="high",
    )
    config = camel(fake.last_request("gemini")["generationConfig"])
    assert config == {
        "temperature": 0.3,
        "topP": 0.9,
        "seed": 7,
        "presencePenalty": 0.5,
        "frequencyPenalty": 0.25,
        "stopSequences": ["END"],
        "maxOutputTokens": 50,
        "thinkingConfig": {"thinkingLevel": "HIGH"},
    }


async def test_claude_stop_user_and_effort_are_translated(sdk: openai.AsyncOpenAI, fake: ProviderFake) -> None:
    await sdk.chat.completions.create(
        model="claude-3-5-sonnet",
        messages=[{"role": "developer", "content": "Be brief."}, user("Say hello")],
        temperature=1,  # OpenAI's default sampling: the same as not asking, so nothing to translate
        stop=["END"],
        user="user-42",
        reasoning_effort="minimal",
        max_completion_tokens=64,
    )
    body = fake.last_request("anthropic")
    assert body["system"] == "Be brief."
    assert body["stop_sequences"] == ["END"]
    assert body["metadata"] == {"user_id": "user-42"}
    assert body["output_config"] == {"effort": "low"}
    assert body["max_tokens"] == 64
    assert "temperature" not in body


@pytest.mark.parametrize(
    ("model", "params", "param"),
    [
        ("claude-3-5-sonnet", {"temperature": 0.2}, "temperature"),
        ("claude-3-5-sonnet", {"top_p": 0.5}, "top_p"),
        ("claude-3-5-sonnet", {"seed": 1}, "seed"),
        ("claude-3-5-sonnet", {"n": 2}, "n"),
        ("claude-3-5-sonnet", {"logprobs": True}, "logprobs"),
        ("claude-3-5-sonnet", {"logprobs": True, "top_logprobs": 2}, "logprobs"),
        ("claude-3-5-sonnet", {"presence_penalty": 1.0}, "presence_penalty"),
        ("claude-3-5-sonnet", {"logit_bias": {"1": 5}}, "logit_bias"),
        ("gemini-1.5-pro", {"logit_bias": {"1": 5}}, "logit_bias"),
        ("gemini-1.5-pro", {"user": "user-42"}, "user"),
    ],
)
async def test_parameters_a_provider_cannot_honour_are_refused(
    sdk: openai.AsyncOpenAI, fake: ProviderFake, model: str, params: dict[str, Any], param: str
) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        await sdk.chat.completions.create(model=model, messages=[user("Say hello")], **params)
    assert refused.value.status_code == 400
    assert (refused.value.code, refused.value.param) == ("unsupported_parameter", param)
    assert param in refused.value.message
    assert not fake.requests["anthropic"], "a refused parameter reached the provider"
    assert not fake.requests["gemini"], "a refused parameter reached the provider"
    assert not fake.requests["openai"], "a refused parameter reached the provider"


async def test_unknown_parameters_and_invalid_values_are_400(sdk: openai.AsyncOpenAI, fake: ProviderFake) -> None:
    with pytest.raises(openai.BadRequestError) as unknown:
        await sdk.chat.completions.create(model="gpt-4o", messages=[user("Say hello")], extra_body={"frobnicate": True})
    assert (unknown.value.code, unknown.value.param) == ("unsupported_parameter", "frobnicate")
    with pytest.raises(openai.BadRequestError) as invalid:
        await sdk.chat.completions.create(model="gpt-4o", messages=[user("Say hello")], temperature=5)
    assert invalid.value.status_code == 400
    assert invalid.value.param == "temperature"
    body = invalid.value.body
    assert isinstance(body, dict)
    assert body["type"] == "invalid_request_error"
    with pytest.raises(openai.BadRequestError) as bad_part:
        await sdk.chat.completions.create(
            model="gpt-4o",
            messages=[{"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]}],  # type: ignore[list-item]
        )
    assert bad_part.value.param is not None
    assert bad_part.value.param.startswith("messages[0].content")
    assert not fake.requests["openai"]


@pytest.mark.parametrize(("api", "model"), MODELS, ids=IDS)
async def test_the_providers_reason_is_kept_and_its_secrets_redacted(
    sdk: openai.AsyncOpenAI, fake: ProviderFake, api: str, model: str
) -> None:
    fake.script(api, "refused")
    with pytest.raises(openai.BadRequestError) as refused:
        await sdk.chat.completions.create(model=model, messages=[user("A very long prompt")])
    assert "token" in refused.value.message
    assert "max" in refused.value.message
    assert LEAKED_KEY not in refused.value.message
    assert "[REDACTED]" in refused.value.message
    if api == "openai":
        assert refused.value.code == "context_length_exceeded"
    assert len(fake.requests[api]) == 1, "a refused request is not retried"


async def test_error_statuses_raise_the_sdk_classes(
    start_router: Callable[..., RouterUnderTest], fake: ProviderFake
) -> None:
    router = start_router(fake, max_attempts=1)
    async with openai.AsyncOpenAI(api_key="not-a-token", base_url=f"{router.url}/v1", max_retries=0) as wrong_key:
        with pytest.raises(openai.AuthenticationError) as unauthenticated:
            await wrong_key.chat.completions.create(model="gpt-4o", messages=[user("hi")])
    assert unauthenticated.value.body["type"] == "authentication_error"  # type: ignore[index]
    sdk = openai.AsyncOpenAI(api_key=router.token, base_url=f"{router.url}/v1", default_headers=META, max_retries=0)
    async with sdk:
        await _refusals_of_a_working_router(sdk, fake)


async def _refusals_of_a_working_router(sdk: openai.AsyncOpenAI, fake: ProviderFake) -> None:
    with pytest.raises(openai.NotFoundError):
        await sdk.chat.completions.create(model="gpt-99", messages=[user("hi")])
    fake.script("openai", "quota")
    with pytest.raises(openai.RateLimitError) as quota:
        await sdk.chat.completions.create(model="gpt-4o", messages=[user("hi")])
    assert quota.value.body["type"] == "insufficient_quota"  # type: ignore[index]
    fake.script("openai", "503")
    with pytest.raises(openai.InternalServerError) as failed:
        await sdk.chat.completions.create(model="gpt-4o", messages=[user("hi")])
    assert failed.value.body["type"] == "server_error"  # type: ignore[index]


@pytest.mark.parametrize(
    "url",
    ["data:image/png;base64,not base64!", "data:text/plain;base64,aGVsbG8=", "ftp://example.test/a.png", "card.png"],
)
async def test_an_image_url_that_is_neither_fetchable_nor_inline_is_400(
    sdk: openai.AsyncOpenAI, fake: ProviderFake, url: str
) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        await sdk.chat.completions.create(model="claude-3-5-sonnet", messages=[_image_message(url)])  # type: ignore[list-item]
    assert refused.value.param == "messages[0].content[1].image_url.url"
    assert not fake.requests["anthropic"]


async def test_tool_choice_must_name_an_offered_tool(sdk: openai.AsyncOpenAI, fake: ProviderFake) -> None:
    other = {"type": "function", "function": {"name": "delete_everything"}}
    with pytest.raises(openai.BadRequestError) as unknown:
        await sdk.chat.completions.create(
            model="gemini-1.5-pro",
            messages=[user("Find card 1")],
            tools=[LOOKUP],
            tool_choice=other,  # type: ignore[arg-type]
        )
    assert unknown.value.param == "tool_choice"
    assert "delete_everything" in unknown.value.message
    with pytest.raises(openai.BadRequestError) as toolless:
        await sdk.chat.completions.create(model="claude-3-5-sonnet", messages=[user("Hi")], tool_choice="required")
    assert toolless.value.param == "tool_choice"
    assert not fake.requests["gemini"]
    assert not fake.requests["anthropic"]


@pytest.mark.parametrize("model", ["claude-3-5-sonnet", "gemini-1.5-pro"])
async def test_a_tool_result_for_no_known_call_is_400(sdk: openai.AsyncOpenAI, fake: ProviderFake, model: str) -> None:
    orphan = {"role": "tool", "tool_call_id": "call_nowhere", "content": "card 1"}
    with pytest.raises(openai.BadRequestError) as refused:
        await sdk.chat.completions.create(model=model, messages=[user("Find it"), orphan], tools=[LOOKUP])  # type: ignore[list-item]
    assert refused.value.param == "messages[].tool_call_id"
    assert "call_nowhere" in refused.value.message
    assert not fake.requests["anthropic"]
    assert not fake.requests["gemini"]


async def test_the_highest_reasoning_effort(sdk: openai.AsyncOpenAI, fake: ProviderFake) -> None:
    await sdk.chat.completions.create(model="claude-3-5-sonnet", messages=[user("Think hard")], reasoning_effort="max")
    assert fake.last_request("anthropic")["output_config"] == {"effort": "max"}
    with pytest.raises(openai.BadRequestError) as refused:
        await sdk.chat.completions.create(model="gemini-1.5-pro", messages=[user("Think hard")], reasoning_effort="max")
    assert refused.value.param == "reasoning_effort"
    await sdk.chat.completions.create(model="gemini-1.5-pro", messages=[user("Quick")], reasoning_effort="none")
    assert camel(fake.last_request("gemini")["generationConfig"])["thinkingConfig"] == {"thinkingBudget": 0}


SEVERAL = [("openai", "gpt-4o"), ("gemini", "gemini-1.5-pro")]
ANSWERS = ["Hello from the fake provider.", "Answer 1: from the fake provider."]


@pytest.mark.parametrize(("api", "model"), SEVERAL, ids=[api for api, _ in SEVERAL])
async def test_several_choices_with_log_probabilities(
    sdk: openai.AsyncOpenAI, fake: ProviderFake, api: str, model: str
) -> None:
    answer = await sdk.chat.completions.create(
        model=model, messages=[user("Say hello")], n=2, logprobs=True, top_logprobs=2
    )
    assert [c.index for c in answer.choices] == [0, 1]
    assert [c.message.content for c in answer.choices] == ANSWERS
    assert [c.finish_reason for c in answer.choices] == ["stop", "stop"]
    for choice, text in zip(answer.choices, ANSWERS, strict=True):
        assert choice.logprobs is not None
        tokens = choice.logprobs.content or []
        assert "".join(t.token for t in tokens) == text
        assert all(t.logprob == -0.5 and len(t.top_logprobs) == 2 for t in tokens)
    body = fake.last_request(api)
    if api == "openai":
        assert (body["n"], body["logprobs"], body["top_logprobs"]) == (2, True, 2)
    else:
        config = camel(body["generationConfig"])
        assert (config["candidateCount"], config["responseLogprobs"], config["logprobs"]) == (2, True, 2)


@pytest.mark.parametrize(("api", "model"), SEVERAL, ids=[api for api, _ in SEVERAL])
async def test_several_choices_streamed(sdk: openai.AsyncOpenAI, fake: ProviderFake, api: str, model: str) -> None:
    stream = await sdk.chat.completions.create(
        model=model, messages=[user("Say hello")], n=2, stream=True, logprobs=True
    )
    texts = ["", ""]
    tokens = [0, 0]
    finished = [None, None]
    async for chunk in stream:
        for choice in chunk.choices:
            texts[choice.index] += choice.delta.content or ""
            tokens[choice.index] += len(choice.logprobs.content or []) if choice.logprobs else 0
            finished[choice.index] = choice.finish_reason or finished[choice.index]  # type: ignore[call-overload]
    assert texts == ANSWERS
    assert tokens == [5, 5]
    assert finished == ["stop", "stop"]
    assert fake.last_request(api)


async def test_top_logprobs_needs_logprobs(sdk: openai.AsyncOpenAI, fake: ProviderFake) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        await sdk.chat.completions.create(model="gemini-1.5-pro", messages=[user("Say hello")], top_logprobs=2)
    assert refused.value.param == "top_logprobs"
    assert not fake.requests["gemini"]
