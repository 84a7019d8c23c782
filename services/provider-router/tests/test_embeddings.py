"""``POST /v1/embeddings`` driven by the official ``openai`` SDK, for an OpenAI and a Gemini embedding model,
against wire fakes that enforce the real request shapes (OpenAI's ``/v1/embeddings``, Gemini's
``batchEmbedContents``)."""

from __future__ import annotations

import base64
import struct
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import openai
import pytest

from .conftest import META, RouterUnderTest
from .fakes import ProviderFake, vector

MODELS = [("openai", "text-embedding-3-small"), ("gemini", "gemini-embedding-001")]
IDS = [api for api, _ in MODELS]
TOKENS_PER_TEXT = {"openai": 8, "gemini": 6}  # what each fake reports
PRICE_PER_MILLION = {"openai": Decimal("0.02"), "gemini": Decimal("0.15")}


@pytest.fixture(autouse=True)
def clean(fake: ProviderFake) -> None:
    fake.reset()


@pytest.mark.parametrize(("api", "model"), MODELS, ids=IDS)
async def test_a_list_of_texts_with_dimensions_as_the_sdk_asks_by_default(
    sdk: openai.AsyncOpenAI, router: RouterUnderTest, fake: ProviderFake, api: str, model: str
) -> None:
    answer = await sdk.embeddings.create(model=model, input=["first card", "second card"], dimensions=8)
    assert [item.embedding for item in answer.data] == [vector(0, 8), vector(1, 8)]
    assert [item.index for item in answer.data] == [0, 1]
    assert answer.model == model
    assert answer.usage.prompt_tokens == answer.usage.total_tokens == 2 * TOKENS_PER_TEXT[api]
    body = fake.last_request(api)
    if api == "openai":
        assert (body["input"], body["dimensions"]) == (["first card", "second card"], 8)
    else:
        assert [r["content"]["parts"] for r in body["requests"]] == [
            [{"text": "first card"}],
            [{"text": "second card"}],
        ]
        assert {(r["model"], r["outputDimensionality"]) for r in body["requests"]} == {(f"models/{model}", 8)}
    [usage] = router.usage_when(1)
    assert (usage.model, usage.input_tokens, usage.output_tokens, usage.outcome) == (
        model,
        2 * TOKENS_PER_TEXT[api],
        0,
        "success",
    )
    assert usage.cost == 2 * TOKENS_PER_TEXT[api] * PRICE_PER_MILLION[api] / 10**6
    assert not usage.estimated


@pytest.mark.parametrize(("api", "model"), MODELS, ids=IDS)
@pytest.mark.parametrize("encoding_format", ["float", "base64"])
async def test_one_string_in_either_encoding(
    sdk: openai.AsyncOpenAI, fake: ProviderFake, api: str, model: str, encoding_format: Any
) -> None:
    answer = await sdk.embeddings.create(model=model, input="one card", encoding_format=encoding_format)
    [item] = answer.data
    size = 1536 if api == "openai" else 3072
    if encoding_format == "float":
        assert item.embedding == vector(0, size)
    else:
        assert isinstance(item.embedding, str)
        raw = base64.b64decode(item.embedding)
        assert list(struct.unpack(f"<{size}f", raw)) == vector(0, size)
    assert fake.last_request(api)


async def test_gemini_batches_at_most_a_hundred_texts_per_call(sdk: openai.AsyncOpenAI, fake: ProviderFake) -> None:
    texts = [f"card {n}" for n in range(150)]
    answer = await sdk.embeddings.create(model="gemini-embedding-001", input=texts, dimensions=4)
    assert len(answer.data) == 150
    assert [len(body["requests"]) for body in fake.requests["gemini"]] == [100, 50]
    assert answer.usage.prompt_tokens == 6 * 150
    assert not fake.rejections["gemini"]


async def test_gemini_without_reported_tokens_is_metered_on_an_estimate(
    sdk: openai.AsyncOpenAI, router: RouterUnderTest, fake: ProviderFake
) -> None:
    fake.script("gemini", "no-usage")
    answer = await sdk.embeddings.create(model="gemini-embedding-001", input="sixteen letters.")
    assert answer.usage.prompt_tokens == 4
    [usage] = router.usage_when(1)
    assert (usage.input_tokens, usage.estimated) == (4, True)


@pytest.mark.parametrize("model", ["claude-3-5-sonnet", "gpt-4o", "gemini-1.5-pro", "gemini-2.5-flash-image"])
async def test_a_model_that_does_not_embed_is_400(
    sdk: openai.AsyncOpenAI, router: RouterUnderTest, fake: ProviderFake, model: str
) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        await sdk.embeddings.create(model=model, input="one card")
    assert refused.value.param == "model"
    assert "not an embedding model" in refused.value.message
    assert not any(fake.requests.values())
    assert router.usage() == []


async def test_an_embedding_model_is_refused_for_chat(sdk: openai.AsyncOpenAI, fake: ProviderFake) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        await sdk.chat.completions.create(model="text-embedding-3-small", messages=[{"role": "user", "content": "hi"}])
    assert refused.value.param == "model"
    assert "/v1/embeddings" in refused.value.message
    assert not fake.requests["openai"]


@pytest.mark.parametrize(
    ("model", "params", "param", "code"),
    [
        ("gemini-embedding-001", {"user": "user-42"}, "user", "unsupported_parameter"),
        ("text-embedding-3-small", {"extra_body": {"task_type": "query"}}, "task_type", "unsupported_parameter"),
        ("text-embedding-3-small", {"dimensions": 0}, "dimensions", "invalid_request"),
        ("text-embedding-3-small", {"input": ""}, "input", "invalid_request"),
        ("text-embedding-3-small", {"input": [1, 2, 3]}, "input[0]", "invalid_request"),
    ],
)
async def test_what_cannot_be_honoured_is_400(
    sdk: openai.AsyncOpenAI, fake: ProviderFake, model: str, params: dict[str, Any], param: str, code: str
) -> None:
    call: dict[str, Any] = {"model": model, "input": "one card", **params}
    with pytest.raises(openai.BadRequestError) as refused:
        await sdk.embeddings.create(**call)
    assert (refused.value.code, refused.value.param) == (code, param)
    assert not any(fake.requests.values())


async def test_the_openai_user_passes_through(sdk: openai.AsyncOpenAI, fake: ProviderFake) -> None:
    await sdk.embeddings.create(model="text-embedding-3-large", input="one card", user="user-42")
    assert fake.last_request("openai")["user"] == "user-42"


async def test_offline_embeddings_are_deterministic_unit_vectors(
    start_router: Callable[..., RouterUnderTest], monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GOOGLE_API_KEY"):
        monkeypatch.delenv(variable, raising=False)
    router = start_router()
    async with openai.AsyncOpenAI(
        api_key=router.token, base_url=f"{router.url}/v1", default_headers=META, max_retries=0
    ) as sdk:
        answer = await sdk.embeddings.create(model="text-embedding-3-small", input=["a", "b", "a"], dimensions=16)
    first, second, third = (item.embedding for item in answer.data)
    assert first == third != second
    assert len(first) == 16
    assert abs(sum(v * v for v in first) - 1) < 1e-6
    assert answer.model == "offline-embedding"
