"""The OpenAI Chat Completions and Images request shapes.

Every Chat Completions parameter the router knows is carried to the provider adapter; a top-level parameter it
does not know is refused with 400 ``unsupported_parameter`` rather than ignored.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from typing import Annotated, Any, Literal

from agentworks_platform.errors import AppError
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from agentworks_provider_router.providers.base import ChatRequest, ImagePart, Message, Part, TextPart, Tool, ToolCall


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class OpenAIRequest(_Open):
    """A request body of an OpenAI endpoint: unknown top-level parameters are kept so they can be refused."""

    def refuse_unknown_parameters(self) -> None:
        """A parameter the router does not know would otherwise be dropped silently: refuse it instead."""
        for name in sorted(self.model_extra or {}):
            raise AppError(
                f"{name} is not supported by the AgentWorks router.",
                code="unsupported_parameter",
                status_code=400,
                details={"param": name, "provider": None},
            )


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FunctionCall(_Open):
    name: str
    arguments: str = ""


class ToolCallIn(_Open):
    id: Annotated[str, Field(min_length=1, max_length=200)]
    type: Literal["function"] = "function"
    function: FunctionCall


class TextContent(_Closed):
    type: Literal["text"]
    text: str


class RefusalContent(_Closed):
    type: Literal["refusal"]
    refusal: str


def fetchable_or_inline(url: str) -> str:
    """An image input's URL: ``http(s)``, or a ``data:image/…;base64,`` URL whose data really is base64."""
    if url.startswith(("https://", "http://")):
        return url
    inline = ImagePart(url).inline()
    if inline is None:
        raise ValueError("must be an http(s) URL or a data:image/...;base64, URL")
    try:
        base64.b64decode(inline[1], validate=True)
    except binascii.Error:
        raise ValueError("the data URL's image is not valid base64") from None
    return url


class ImageUrl(_Closed):
    url: Annotated[str, Field(min_length=1)]
    detail: Literal["auto", "low", "high"] | None = None

    _fetchable_or_inline = field_validator("url")(fetchable_or_inline)


class ImageContent(_Closed):
    type: Literal["image_url"]
    image_url: ImageUrl


ContentPart = Annotated[TextContent | RefusalContent | ImageContent, Field(discriminator="type")]


class ChatMessageIn(_Open):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[ContentPart] | None = None
    tool_calls: list[ToolCallIn] | None = None
    tool_call_id: str | None = None
    name: str | None = None

    def _text(self) -> str:
        if isinstance(self.content, list):
            return "".join(part.text for part in self.content if isinstance(part, TextContent))
        return self.content or ""

    def _images(self) -> tuple[Part, ...]:
        """Text and images in their order, when the content carries an image (else the text says it all)."""
        if not isinstance(self.content, list) or not any(isinstance(p, ImageContent) for p in self.content):
            return ()
        parts: list[Part] = []
        for part in self.content:
            if isinstance(part, TextContent):
                parts.append(TextPart(part.text))
            elif isinstance(part, ImageContent):
                parts.append(ImagePart(part.image_url.url, part.image_url.detail))
        return tuple(parts)

    def normalised(self) -> Message:
        calls = tuple(ToolCall(c.id, c.function.name, c.function.arguments) for c in self.tool_calls or [])
        role = "system" if self.role == "developer" else self.role
        return Message(role, self._text(), calls, self.tool_call_id, self.name, self._images())


class FunctionSpec(_Open):
    name: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-zA-Z0-9_-]+$")]
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})
    strict: bool | None = None


class ToolIn(_Closed):
    type: Literal["function"] = "function"
    function: FunctionSpec


class NamedFunction(_Closed):
    name: str


class NamedToolChoice(_Closed):
    type: Literal["function"]
    function: NamedFunction


class JsonSchemaSpec(_Closed):
    name: Annotated[str, Field(min_length=1, max_length=64)]
    description: str | None = None
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    strict: bool | None = None


class ResponseFormatText(_Closed):
    type: Literal["text"]


class ResponseFormatJsonObject(_Closed):
    type: Literal["json_object"]


class ResponseFormatJsonSchema(_Closed):
    type: Literal["json_schema"]
    json_schema: JsonSchemaSpec


ResponseFormat = Annotated[
    ResponseFormatText | ResponseFormatJsonObject | ResponseFormatJsonSchema, Field(discriminator="type")
]


class StreamOptions(_Closed):
    include_usage: bool | None = None


class Metadata(_Open):
    workspace_id: uuid.UUID | None = None
    project_id: uuid.UUID | None = None
    run_id: uuid.UUID | None = None
    card_id: uuid.UUID | None = None
    agent: str | None = None


Penalty = Annotated[float, Field(ge=-2, le=2)]


class ChatCompletionIn(OpenAIRequest):
    model: Annotated[str, Field(min_length=1, max_length=100)]
    messages: Annotated[list[ChatMessageIn], Field(min_length=1, max_length=500)]
    stream: bool = False
    stream_options: StreamOptions | None = None
    max_tokens: Annotated[int, Field(ge=1, le=200_000)] | None = None
    max_completion_tokens: Annotated[int, Field(ge=1, le=200_000)] | None = None
    temperature: Annotated[float, Field(ge=0, le=2)] | None = None
    top_p: Annotated[float, Field(ge=0, le=1)] | None = None
    n: Annotated[int, Field(ge=1, le=8)] | None = None
    seed: int | None = None
    logprobs: bool | None = None
    top_logprobs: Annotated[int, Field(ge=0, le=20)] | None = None
    presence_penalty: Penalty | None = None
    frequency_penalty: Penalty | None = None
    logit_bias: dict[str, Annotated[float, Field(ge=-100, le=100)]] | None = None
    user: Annotated[str, Field(max_length=256)] | None = None
    tools: Annotated[list[ToolIn], Field(max_length=128)] | None = None
    tool_choice: Literal["none", "auto", "required"] | NamedToolChoice | None = None
    parallel_tool_calls: bool | None = None
    response_format: ResponseFormat | None = None
    reasoning_effort: Literal["none", "minimal", "low", "medium", "high", "xhigh", "max"] | None = None
    stop: str | Annotated[list[str], Field(max_length=4)] | None = None
    metadata: Metadata | None = None

    @field_validator("top_logprobs")
    @classmethod
    def _with_logprobs(cls, top: int | None, info: ValidationInfo) -> int | None:
        """As OpenAI checks: the top candidates come with the log probabilities, not without them."""
        if top is not None and not info.data.get("logprobs"):
            raise ValueError("needs logprobs: true")
        return top

    @field_validator("tool_choice")
    @classmethod
    def _names_an_offered_tool(cls, choice: str | NamedToolChoice | None, info: ValidationInfo) -> Any:
        """As OpenAI checks: a call cannot be required without tools, nor of a function not offered."""
        names = {t.function.name for t in info.data.get("tools") or []}
        if isinstance(choice, NamedToolChoice) and choice.function.name not in names:
            raise ValueError(f"names {choice.function.name!r}, which is not in tools")
        if choice == "required" and not names:
            raise ValueError("'required' needs tools")
        return choice

    def normalised(self) -> ChatRequest:
        self.refuse_unknown_parameters()
        stops = (self.stop,) if isinstance(self.stop, str) else tuple(self.stop or ())
        tools = tuple(
            Tool(t.function.name, t.function.description, t.function.parameters, t.function.strict)
            for t in self.tools or []
        )
        choice = self.tool_choice.model_dump() if isinstance(self.tool_choice, NamedToolChoice) else self.tool_choice
        return ChatRequest(
            self.model,
            tuple(m.normalised() for m in self.messages),
            self.max_completion_tokens or self.max_tokens,
            self.temperature,
            tools,
            choice,
            stops,
            top_p=self.top_p,
            n=self.n,
            seed=self.seed,
            logprobs=self.logprobs,
            top_logprobs=self.top_logprobs,
            presence_penalty=self.presence_penalty,
            frequency_penalty=self.frequency_penalty,
            logit_bias=self.logit_bias,
            user=self.user,
            parallel_tool_calls=self.parallel_tool_calls,
            response_format=self.response_format.model_dump(by_alias=True, exclude_none=True)
            if self.response_format
            else None,
            reasoning_effort=self.reasoning_effort,
        )


class ImageGenerationIn(OpenAIRequest):
    """``size`` is passed to the provider, translated or refused; ``url`` answers link to the router's copy."""

    model: Annotated[str, Field(min_length=1, max_length=100)]
    prompt: Annotated[str, Field(min_length=1, max_length=32_000)]
    n: Annotated[int, Field(ge=1, le=4)] = 1
    size: Annotated[str, Field(pattern=r"^(auto|[1-9][0-9]{1,4}x[1-9][0-9]{1,4})$")] | None = None
    response_format: Literal["b64_json", "url"] = "b64_json"
    metadata: Metadata | None = None


ModelText = Annotated[
    str,
    Field(
        description="Model output relayed as the provider sent it: any text, NUL included.",
        json_schema_extra={"pattern": "^[\\s\\S]*$"},  # spelled out, so the documents' no-NUL rule passes it by
    ),
]


class ChunkFunction(_Open):
    """A streamed tool call's function: its name in the call's first chunk, then more of its arguments."""

    name: str | None = None
    arguments: ModelText = ""


class ChunkToolCall(_Open):
    """One tool call's part of a chunk; its first part carries the call's id and type."""

    index: int
    id: str | None = None
    type: Literal["function"] | None = None
    function: ChunkFunction


class ChunkDelta(_Open):
    """What a chunk adds to a choice: the role (in the choice's first chunk), text, or tool calls."""

    role: Literal["assistant"] | None = None
    content: ModelText | None = None
    tool_calls: list[ChunkToolCall] | None = None


class ChunkChoice(_Open):
    """One choice's delta in a chunk; ``finish_reason`` is set on its last."""

    index: int
    delta: ChunkDelta
    finish_reason: str | None
    logprobs: dict[str, Any] | None = None


class ChatCompletionChunk(_Open):
    """One server-sent event of a streamed chat completion (``data: [DONE]`` ends the stream); the usage chunk
    has no choices, and the last chunk carries the ``agentworks`` extension (cost, who answered)."""

    id: str
    object: Literal["chat.completion.chunk"]
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: dict[str, Any] | None = None
    agentworks: dict[str, Any] | None = None


class StreamFailureDetail(_Closed):
    code: str
    message: str


class StreamFailure(_Closed):
    """The event that ends a stream whose provider failed mid-answer."""

    error: StreamFailureDetail
