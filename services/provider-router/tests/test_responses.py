"""``POST /v1/responses`` driven by the official ``openai`` SDK for an OpenAI, an Anthropic and a Gemini model,
against wire fakes that enforce each real API's rules: text and message-list input, instructions, function
tools over several turns, structured output, streaming events, metering and refusals."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import openai
import pytest
from pydantic import BaseModel

from .conftest import RouterUnderTest
from .fakes import ProviderFake

MODELS = [("openai", "gpt-4o"), ("anthropic", "claude-3-5-sonnet"), ("gemini", "gemini-1.5-pro")]
IDS = [api for api, _ in MODELS]
# (input, output) tokens each fake reports for a whole answer, and what they cost at the table's prices
TOKENS = {"openai": (1000, 500), "anthropic": (2000, 1000), "gemini": (4000, 2000)}
COST = {"openai": Decimal("0.0075"), "anthropic": Decimal("0.021"), "gemini": Decimal("0.015")}
LOOKUP = {
    "type": "function",
    "name": "lookup",
    "description": "Find a card",
    "parameters": {"type": "object", "properties": {"q": {"type": "integer"}}, "required": ["q"]},
    "strict": False,
}


class Card(BaseModel):
    title: str
    priority: int


@pytest.fixture(autouse=True)
def clean(fake: ProviderFake) -> None:
    fake.reset()


def system_sent(api: str, body: dict[str, Any]) -> Any:
    if api == "openai":
        return [m["content"] for m in body["messages"] if m["role"] == "system"]
    if api == "anthropic":
        return [body["system"]]
    return [part["text"] for part in body["systemInstruction"]["parts"]]


@pytest.mark.parametrize(("api", "model"), MODELS, ids=IDS)
async def test_text_input_with_instructions(
    sdk: openai.AsyncOpenAI, router: RouterUnderTest, fake: ProviderFake, api: str, model: str
) -> None:
    response = await sdk.responses.create(model=model, input="Say hello", instructions="Be brief.")
    assert response.output_text == "Hello from the fake provider."
    assert (response.status, response.model, response.object) == ("completed", model, "response")
    assert response.usage is not None
    assert (response.usage.input_tokens, response.usage.output_tokens) == TOKENS[api]
    assert system_sent(api, fake.last_request(api)) == ["Be brief."]
    [usage] = router.usage_when(1)
    assert (usage.model, usage.input_tokens, usage.output_tokens, usage.outcome) == (model, *TOKENS[api], "success")
    assert usage.cost == COST[api]


@pytest.mark.parametrize(("api", "model"), MODELS, ids=IDS)
async def test_a_message_list_with_every_role(
    sdk: openai.AsyncOpenAI, fake: ProviderFake, api: str, model: str
) -> None:
    response = await sdk.responses.create(
        model=model,
        input=[
            {"role": "developer", "content": "Answer in English."},
            {"role": "user", "content": [{"type": "input_text", "text": "Hi"}]},
            {
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "Hello!", "annotations": []}],
            },
            {"role": "user", "content": "Say hello again"},
        ],
    )
    assert response.output_text == "Hello from the fake provider."
    body = fake.last_request(api)
    assert system_sent(api, body) == ["Answer in English."]
    assert "Say hello again" in str(body)
    assert "Hello!" in str(body)


async def _call_round(
    sdk: openai.AsyncOpenAI, fake: ProviderFake, api: str, model: str, conversation: list[Any]
) -> list[Any]:
    """One turn that calls ``lookup`` twice, then the conversation with both results appended."""
    fake.script(api, "ok-parallel")
    response = await sdk.responses.create(model=model, input=conversation, tools=[LOOKUP], tool_choice="required")  # type: ignore[list-item]
    calls = [item for item in response.output if item.type == "function_call"]
    assert [(c.name, c.arguments) for c in calls] == [("lookup", '{"q": 1}'), ("lookup", '{"q": 2}')]
    assert len({c.call_id for c in calls}) == 2
    results = [
        {"type": "function_call_output", "call_id": c.call_id, "output": f"card {n}"} for n, c in enumerate(calls)
    ]
    return [*conversation, *(item.model_dump(exclude_none=True) for item in response.output), *results]


@pytest.mark.parametrize(("api", "model"), MODELS, ids=IDS)
async def test_function_calls_and_their_outputs_over_several_turns(
    sdk: openai.AsyncOpenAI, fake: ProviderFake, api: str, model: str
) -> None:
    conversation = await _call_round(sdk, fake, api, model, [{"role": "user", "content": "Find cards 1 and 2"}])
    conversation = await _call_round(sdk, fake, api, model, conversation)
    response = await sdk.responses.create(model=model, input=conversation, tools=[LOOKUP])  # type: ignore[arg-type]
    assert response.output_text == "Hello from the fake provider."
    body = fake.last_request(api)  # the fakes refuse results that answer no call, or split parallel results
    if api == "openai":
        assert [m["role"] for m in body["messages"]] == ["user", "assistant", "tool", "tool"] * 1 + [
            "assistant",
            "tool",
            "tool",
        ]
        assert body["tools"][0]["function"]["name"] == "lookup"
    if api == "gemini":
        assert [p["functionResponse"]["name"] for p in body["contents"][2]["parts"]] == ["lookup", "lookup"]


@pytest.mark.parametrize(("api", "model"), MODELS, ids=IDS)
async def test_streaming_tells_the_answer_in_responses_events(
    sdk: openai.AsyncOpenAI, router: RouterUnderTest, fake: ProviderFake, api: str, model: str
) -> None:
    fake.script(api, "ok-tools")
    async with sdk.responses.stream(model=model, input="Find card 1", tools=[LOOKUP]) as stream:  # type: ignore[list-item]
        kinds = [event.type async for event in stream]
        final = await stream.get_final_response()
    assert kinds[:2] == ["response.created", "response.in_progress"]
    assert kinds[-1] == "response.completed"
    for kind in ("response.output_text.delta", "response.function_call_arguments.delta", "response.output_item.done"):
        assert kind in kinds
    assert final.output_text == "Hello from the fake provider."
    [call] = [item for item in final.output if item.type == "function_call"]
    assert (call.name, call.arguments, call.status) == ("lookup", '{"q": 1}', "completed")
    assert final.usage is not None
    assert (final.usage.input_tokens, final.usage.output_tokens) == TOKENS[api]
    assert len(router.usage_when(1)) == 1


async def test_raw_stream_events_are_numbered_in_order(sdk: openai.AsyncOpenAI) -> None:
    stream = await sdk.responses.create(model="gpt-4o", input="Say hello", stream=True)
    events = [event async for event in stream]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text == "Hello from the fake provider."


@pytest.mark.parametrize(("api", "model"), MODELS, ids=IDS)
async def test_structured_output_with_parse(sdk: openai.AsyncOpenAI, fake: ProviderFake, api: str, model: str) -> None:
    fake.script(api, "ok-json")
    response = await sdk.responses.parse(model=model, input="The checkout card", text_format=Card)
    assert response.output_parsed == Card(title="Checkout", priority=2)
    body = fake.last_request(api)
    if api == "openai":
        assert body["response_format"]["json_schema"]["schema"]["properties"].keys() == {"title", "priority"}
    elif api == "anthropic":
        assert body["output_config"]["format"]["type"] == "json_schema"
    else:
        assert body["generationConfig"]["responseMimeType"] == "application/json"


async def test_parameters_reach_the_provider(sdk: openai.AsyncOpenAI, fake: ProviderFake) -> None:
    await sdk.responses.create(
        model="gpt-4o",
        input="Say hello",
        temperature=0.3,
        top_p=0.9,
        max_output_tokens=50,
        reasoning={"effort": "low"},
        user="user-42",
        parallel_tool_calls=False,
        tools=[LOOKUP],  # type: ignore[list-item]
        tool_choice={"type": "function", "name": "lookup"},
        store=False,
    )
    body = fake.last_request("openai")
    assert {k: body[k] for k in ("temperature", "top_p", "max_completion_tokens", "reasoning_effort", "user")} == {
        "temperature": 0.3,
        "top_p": 0.9,
        "max_completion_tokens": 50,
        "reasoning_effort": "low",
        "user": "user-42",
    }
    assert body["parallel_tool_calls"] is False
    assert body["tool_choice"] == {"type": "function", "function": {"name": "lookup"}}


@pytest.mark.parametrize(
    ("model", "params", "param"),
    [
        ("gpt-4o", {"previous_response_id": "resp_1"}, "previous_response_id"),
        ("gpt-4o", {"store": True}, "store"),
        ("gpt-4o", {"include": ["reasoning.encrypted_content"]}, "include"),
        ("gpt-4o", {"top_logprobs": 2}, "top_logprobs"),
        ("claude-3-5-sonnet", {"temperature": 0.2}, "temperature"),
        ("gemini-1.5-pro", {"user": "user-42"}, "user"),
    ],
)
async def test_what_cannot_be_honoured_is_refused(
    sdk: openai.AsyncOpenAI, fake: ProviderFake, model: str, params: dict[str, Any], param: str
) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        await sdk.responses.create(model=model, input="Say hello", **params)
    assert (refused.value.code, refused.value.param) == ("unsupported_parameter", param)
    assert not any(fake.requests.values())


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"tools": [{"type": "web_search"}]}, "tools[0].type"),
        ({"reasoning": {"effort": "low", "summary": "auto"}}, "reasoning.summary"),
        ({"input": [{"type": "reasoning", "id": "rs_1", "summary": []}]}, "input[0]"),
        ({"input": [{"role": "user", "content": [{"type": "input_image", "image_url": "card.png"}]}]}, None),
    ],
)
async def test_invalid_requests_are_400(
    sdk: openai.AsyncOpenAI, fake: ProviderFake, params: dict[str, Any], param: str | None
) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        await sdk.responses.create(model="gpt-4o", **{"input": "Say hello", **params})
    assert refused.value.code == "invalid_request"
    if param is not None:
        assert refused.value.param is not None
        assert refused.value.param.startswith(param)
    assert not fake.requests["openai"]
