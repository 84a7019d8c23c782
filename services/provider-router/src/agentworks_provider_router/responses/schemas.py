"""The Responses API request shape, translated into the router's chat request.

Input items become conversation turns: messages keep their role (``developer`` as system), ``function_call``
items become the assistant's tool calls (consecutive calls in one turn) and ``function_call_output`` items
its tool results. A top-level parameter the router does not know, such as ``previous_response_id`` (the
router stores no responses), is refused with 400 ``unsupported_parameter`` rather than ignored.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from agentworks_platform.errors import AppError
from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator

from agentworks_provider_router.chat.schemas import JsonSchemaSpec, Metadata, OpenAIRequest, fetchable_or_inline
from agentworks_provider_router.providers.base import ChatRequest, ImagePart, Message, Part, TextPart, Tool, ToolCall


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InputText(_Closed):
    type: Literal["input_text", "output_text"]
    text: str
    annotations: list[Any] | None = None
    logprobs: list[Any] | None = None


class InputImage(_Closed):
    type: Literal["input_image"]
    image_url: Annotated[str, Field(min_length=1)]
    detail: Literal["auto", "low", "high"] | None = None

    _fetchable_or_inline = field_validator("image_url")(fetchable_or_inline)

    def part(self) -> ImagePart:
        return ImagePart(self.image_url, self.detail)


class Refusal(_Closed):
    type: Literal["refusal"]
    refusal: str


ContentPart = Annotated[InputText | InputImage | Refusal, Field(discriminator="type")]


class MessageItem(_Closed):
    type: Literal["message"] = "message"
    role: Literal["user", "system", "developer", "assistant"]
    content: str | list[ContentPart]
    id: str | None = None
    status: str | None = None
    phase: str | None = None

    def message(self) -> Message:
        role = "system" if self.role == "developer" else self.role
        if isinstance(self.content, str):
            return Message(role, self.content)
        text = "".join(p.text if isinstance(p, InputText) else "" for p in self.content)
        if not any(isinstance(p, InputImage) for p in self.content):
            return Message(role, text)
        parts: list[Part] = [
            p.part() if isinstance(p, InputImage) else TextPart(p.text)
            for p in self.content
            if isinstance(p, InputImage | InputText)
        ]
        return Message(role, text, parts=tuple(parts))


class FunctionCallItem(_Closed):
    type: Literal["function_call"]
    call_id: Annotated[str, Field(min_length=1, max_length=200)]
    name: Annotated[str, Field(min_length=1, max_length=64)]
    arguments: str
    id: str | None = None
    status: str | None = None


class FunctionCallOutputItem(_Closed):
    type: Literal["function_call_output"]
    call_id: Annotated[str, Field(min_length=1, max_length=200)]
    output: str
    id: str | None = None
    status: str | None = None


def _item_type(item: Any) -> str:
    """An easy input message may leave its ``type`` out."""
    if isinstance(item, dict):
        return str(item.get("type", "message"))
    return str(getattr(item, "type", "message"))


InputItem = Annotated[
    Annotated[MessageItem, Tag("message")]
    | Annotated[FunctionCallItem, Tag("function_call")]
    | Annotated[FunctionCallOutputItem, Tag("function_call_output")],
    Discriminator(_item_type),
]


class FunctionTool(_Closed):
    type: Literal["function"]
    name: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-zA-Z0-9_-]+$")]
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class NamedFunction(_Closed):
    type: Literal["function"]
    name: str


class TextFormatText(_Closed):
    type: Literal["text"]


class TextFormatJsonObject(_Closed):
    type: Literal["json_object"]


class TextFormatJsonSchema(JsonSchemaSpec):
    type: Literal["json_schema"]


TextFormat = Annotated[TextFormatText | TextFormatJsonObject | TextFormatJsonSchema, Field(discriminator="type")]


class TextConfig(_Closed):
    format: TextFormat | None = None


class ReasoningConfig(_Closed):
    effort: Literal["none", "minimal", "low", "medium", "high", "xhigh"] | None = None


class ResponsesIn(OpenAIRequest):
    """``POST /v1/responses``: what the router honours of the Responses API."""

    model: Annotated[str, Field(min_length=1, max_length=100)]
    input: Annotated[str, Field(min_length=1)] | Annotated[list[InputItem], Field(min_length=1, max_length=500)]
    instructions: str | None = None
    tools: Annotated[list[FunctionTool], Field(max_length=128)] | None = None
    tool_choice: Literal["none", "auto", "required"] | NamedFunction | None = None
    parallel_tool_calls: bool | None = None
    temperature: Annotated[float, Field(ge=0, le=2)] | None = None
    top_p: Annotated[float, Field(ge=0, le=1)] | None = None
    max_output_tokens: Annotated[int, Field(ge=1, le=200_000)] | None = None
    text: TextConfig | None = None
    reasoning: ReasoningConfig | None = None
    user: Annotated[str, Field(max_length=256)] | None = None
    store: bool | None = None
    truncation: Literal["disabled"] | None = None
    stream: bool = False
    metadata: Metadata | None = None

    def _refuse(self, param: str, why: str) -> None:
        raise AppError(
            f"{param} is not supported by the AgentWorks router ({why}).",
            code="unsupported_parameter",
            status_code=400,
            details={"param": param, "provider": None},
        )

    def _check(self) -> None:
        self.refuse_unknown_parameters()
        if self.store:
            self._refuse("store", "responses are not stored; send the output items back as input")
        names = {tool.name for tool in self.tools or []}
        if isinstance(self.tool_choice, NamedFunction) and self.tool_choice.name not in names:
            raise AppError(
                f"tool_choice names {self.tool_choice.name!r}, which is not in tools.",
                code="invalid_request",
                status_code=400,
                details={"param": "tool_choice"},
            )

    def messages(self) -> tuple[Message, ...]:
        turns: list[Message] = [Message("system", self.instructions)] if self.instructions else []
        items = [MessageItem(role="user", content=self.input)] if isinstance(self.input, str) else self.input
        for item in items:
            if isinstance(item, MessageItem):
                turns.append(item.message())
            elif isinstance(item, FunctionCallOutputItem):
                turns.append(Message("tool", item.output, tool_call_id=item.call_id))
            else:
                call = ToolCall(item.call_id, item.name, item.arguments)
                last = turns[-1] if turns else None
                if last is not None and last.role == "assistant":
                    turns[-1] = Message("assistant", last.content, (*last.tool_calls, call), parts=last.parts)
                else:
                    turns.append(Message("assistant", "", (call,)))
        return tuple(turns)

    def normalised(self) -> ChatRequest:
        self._check()
        tools = tuple(
            Tool(t.name, t.description or "", t.parameters or {"type": "object", "properties": {}}, t.strict)
            for t in self.tools or []
        )
        choice: str | dict[str, Any] | None = (
            {"type": "function", "function": {"name": self.tool_choice.name}}
            if isinstance(self.tool_choice, NamedFunction)
            else self.tool_choice
        )
        return ChatRequest(
            self.model,
            self.messages(),
            self.max_output_tokens,
            self.temperature,
            tools,
            choice,
            top_p=self.top_p,
            user=self.user,
            parallel_tool_calls=self.parallel_tool_calls,
            response_format=self._response_format(),
            reasoning_effort=self.reasoning.effort if self.reasoning else None,
        )

    def _response_format(self) -> dict[str, Any] | None:
        form = self.text.format if self.text else None
        if isinstance(form, TextFormatJsonSchema):
            spec = form.model_dump(by_alias=True, exclude_none=True, exclude={"type"})
            return {"type": "json_schema", "json_schema": spec}
        return form.model_dump() if form else None


class ResponseStreamEvent(BaseModel):
    """One server-sent event of a streamed response (``event:`` names its ``type``), numbered in order; its other
    fields are those of the Responses API event of that type."""

    model_config = ConfigDict(extra="allow")

    type: str
    sequence_number: int
