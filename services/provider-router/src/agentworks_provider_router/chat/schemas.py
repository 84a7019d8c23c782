"""The OpenAI Chat Completions and Images request shapes (unknown parameters are accepted and ignored)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from agentworks_provider_router.providers.base import ChatRequest, Message, Tool, ToolCall


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class FunctionCall(_Open):
    name: str
    arguments: str = ""


class ToolCallIn(_Open):
    id: str
    type: Literal["function"] = "function"
    function: FunctionCall


class ContentPart(_Open):
    type: str
    text: str | None = None


class ChatMessageIn(_Open):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[ContentPart] | None = None
    tool_calls: list[ToolCallIn] | None = None
    tool_call_id: str | None = None
    name: str | None = None

    def normalised(self) -> Message:
        if isinstance(self.content, list):
            text = "".join(part.text or "" for part in self.content if part.type == "text")
        else:
            text = self.content or ""
        calls = tuple(ToolCall(c.id, c.function.name, c.function.arguments) for c in self.tool_calls or [])
        role = "system" if self.role == "developer" else self.role
        return Message(role, text, calls, self.tool_call_id, self.name)


class FunctionSpec(_Open):
    name: str
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})


class ToolIn(_Open):
    type: Literal["function"] = "function"
    function: FunctionSpec


class Metadata(_Open):
    workspace_id: uuid.UUID | None = None
    project_id: uuid.UUID | None = None
    run_id: uuid.UUID | None = None
    card_id: uuid.UUID | None = None
    agent: str | None = None


class ChatCompletionIn(_Open):
    model: Annotated[str, Field(min_length=1, max_length=100)]
    messages: Annotated[list[ChatMessageIn], Field(min_length=1, max_length=500)]
    stream: bool = False
    max_tokens: Annotated[int, Field(ge=1, le=200_000)] | None = None
    max_completion_tokens: Annotated[int, Field(ge=1, le=200_000)] | None = None
    temperature: Annotated[float, Field(ge=0, le=2)] | None = None
    tools: list[ToolIn] | None = None
    tool_choice: str | dict[str, Any] | None = None
    stop: str | list[str] | None = None
    metadata: Metadata | None = None

    def normalised(self) -> ChatRequest:
        stops = (self.stop,) if isinstance(self.stop, str) else tuple(self.stop or ())
        tools = tuple(Tool(t.function.name, t.function.description, t.function.parameters) for t in self.tools or [])
        return ChatRequest(
            self.model,
            tuple(m.normalised() for m in self.messages),
            self.max_completion_tokens or self.max_tokens,
            self.temperature,
            tools,
            self.tool_choice,
            stops,
        )


class ImageGenerationIn(_Open):
    model: Annotated[str, Field(min_length=1, max_length=100)]
    prompt: Annotated[str, Field(min_length=1, max_length=32_000)]
    n: Annotated[int, Field(ge=1, le=4)] = 1
    size: str = "1024x1024"
    response_format: Literal["b64_json"] = "b64_json"
    metadata: Metadata | None = None
