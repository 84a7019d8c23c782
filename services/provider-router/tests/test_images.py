"""``POST /v1/images/generations`` with the official ``openai`` SDK against the Gemini wire fake: ``size``
translated to the aspect ratio that makes it or refused, and ``url`` answers served from the blobs port to
the router's callers only."""

from __future__ import annotations

import base64
import uuid

import httpx
import openai
import pytest
from agentworks_platform.principal import API_KEY_ID, GATEWAY_URL, KEY_WORKSPACE

from .conftest import META, WORKSPACE, RouterUnderTest
from .fakes import PNG, ProviderFake

MODEL = "gemini-2.5-flash-image"


@pytest.fixture(autouse=True)
def clean(fake: ProviderFake) -> None:
    fake.reset()


def image_config(fake: ProviderFake) -> object:
    assert not fake.rejections["gemini"], fake.rejections["gemini"]
    config = fake.requests["gemini"][-1]["generationConfig"]
    return config.get("imageConfig") or config.get("image_config")


@pytest.mark.parametrize(("size", "ratio"), [("1024x1024", "1:1"), ("1344x768", "16:9"), ("832x1248", "2:3")])
async def test_a_size_becomes_the_aspect_ratio_that_makes_it(
    sdk: openai.AsyncOpenAI, fake: ProviderFake, size: str, ratio: str
) -> None:
    images = await sdk.images.generate(model=MODEL, prompt="a login screen", extra_body={"size": size})
    assert images.data is not None
    assert len(images.data) == 1
    assert image_config(fake) == {"aspectRatio": ratio}


async def test_no_size_or_auto_leaves_the_model_its_default(sdk: openai.AsyncOpenAI, fake: ProviderFake) -> None:
    await sdk.images.generate(model=MODEL, prompt="a login screen")
    assert image_config(fake) is None
    await sdk.images.generate(model=MODEL, prompt="a login screen", size="auto")
    assert image_config(fake) is None


@pytest.mark.parametrize(
    ("params", "param", "code"),
    [
        ({"size": "512x512"}, "size", "unsupported_parameter"),
        ({"size": "big"}, "size", "invalid_request"),
        ({"extra_body": {"quality": "high"}}, "quality", "unsupported_parameter"),
        ({"response_format": "png"}, "response_format", "invalid_request"),
    ],
)
async def test_what_cannot_be_honoured_is_400(
    sdk: openai.AsyncOpenAI, fake: ProviderFake, params: dict[str, object], param: str, code: str
) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        await sdk.images.generate(model=MODEL, prompt="a login screen", **params)  # type: ignore[arg-type]
    assert (refused.value.code, refused.value.param) == (code, param)
    if param == "size" and code == "unsupported_parameter":
        assert "1344x768" in refused.value.message
    assert not fake.requests["gemini"]


async def test_url_answers_are_served_to_the_routers_callers_only(
    sdk: openai.AsyncOpenAI, router: RouterUnderTest, fake: ProviderFake
) -> None:
    images = await sdk.images.generate(model=MODEL, prompt="a login screen", n=2, response_format="url")
    assert images.data is not None
    urls = [image.url or "" for image in images.data]
    assert all(url.startswith(f"{router.url}/v1/images/files/") and url.endswith(".png") for url in urls)
    assert len(set(urls)) == 2
    assert all(image.b64_json is None for image in images.data)
    async with httpx.AsyncClient() as http:
        headers = {"authorization": f"Bearer {router.token}", **META}
        own = await http.get(urls[0], headers=headers)
        assert own.status_code == 200
        assert own.headers["content-type"] == "image/png"
        assert own.content == base64.b64decode(PNG)
        other = await http.get(urls[0], headers={"authorization": f"Bearer {router.token_of('billing')}"})
        assert other.status_code == 403
        as_core = await http.get(urls[0], headers={"authorization": f"Bearer {router.token_of('core')}", **META})
        assert (as_core.status_code, as_core.content) == (200, base64.b64decode(PNG))  # a card's image, to people
        anonymous = await http.get(urls[0])
        assert anonymous.status_code == 401
        elsewhere = await http.get(urls[0], headers={**headers, "x-aw-workspace-id": str(uuid.uuid4())})
        assert elsewhere.status_code == 404
        missing = await http.get(f"{router.url}/v1/images/files/{'0' * 32}.png", headers=headers)
        assert missing.status_code == 404
        sneaky = await http.get(f"{router.url}/v1/images/files/..%2Fkey.pem", headers=headers)
        assert sneaky.status_code in (400, 404)


async def test_url_answers_to_an_api_key_link_through_the_gateway_and_open_for_its_workspace_only(
    router: RouterUnderTest, fake: ProviderFake
) -> None:
    def gateway_for(workspace: str) -> openai.AsyncOpenAI:
        vouched = {KEY_WORKSPACE: workspace, API_KEY_ID: str(uuid.uuid4()), GATEWAY_URL: "https://app.example.com"}
        return openai.AsyncOpenAI(
            api_key=router.token_of("gateway"), base_url=f"{router.url}/v1", default_headers=vouched, max_retries=0
        )

    async with gateway_for(WORKSPACE) as gateway:
        images = await gateway.images.generate(model=MODEL, prompt="a login screen", response_format="url")
    assert images.data is not None
    url = images.data[0].url or ""
    assert url.startswith("https://app.example.com/v1/images/files/"), url
    path = url.removeprefix("https://app.example.com")
    async with gateway_for(WORKSPACE) as gateway:
        own = await gateway.get(path.removeprefix("/v1"), cast_to=httpx.Response)
    assert own.content == base64.b64decode(PNG)
    async with gateway_for(str(uuid.uuid4())) as other_workspace:
        with pytest.raises(openai.NotFoundError):
            await other_workspace.get(path.removeprefix("/v1"), cast_to=httpx.Response)
    async with httpx.AsyncClient() as http:
        unsaid = await http.get(f"{router.url}{path}", headers={"authorization": f"Bearer {router.token}"})
    assert unsaid.status_code == 400
    assert unsaid.json()["error"]["code"] == "metadata_required"
