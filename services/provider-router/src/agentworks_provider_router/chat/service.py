"""Chat completions and image generations as OpenAI answers them: a chat call's deltas gathered into one
completion or told as server-sent chunks, and generated images kept in the blobs port for their links."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from agentworks_blobs import BlobStore

from agentworks_provider_router.calls import extension
from agentworks_provider_router.providers.base import Delta, ProviderError, ToolCall
from agentworks_provider_router.routing import Outcome

IMAGE_TYPES = {"image/png": "png", "image/jpeg": "jpeg", "image/webp": "webp"}
IMAGE_FILE = r"^[0-9a-f]{32}\.(png|jpeg|webp)$"


@dataclass(frozen=True, slots=True)
class Answer:
    """The identity every chunk or the completion of one chat call carries."""

    outcome: Outcome
    completion_id: str = field(default_factory=lambda: f"chatcmpl-{uuid.uuid4().hex}")
    created: int = field(default_factory=lambda: int(time.time()))

    def chunk(
        self, delta: dict[str, Any], finish: str | None, index: int = 0, logprobs: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        choice: dict[str, Any] = {"index": index, "delta": delta, "finish_reason": finish}
        if logprobs is not None:
            choice["logprobs"] = logprobs
        return self.envelope("chat.completion.chunk", choices=[choice])

    def envelope(self, kind: str, **fields: Any) -> dict[str, Any]:
        return {
            "id": self.completion_id,
            "object": kind,
            "created": self.created,
            "model": self.outcome.model,
            **fields,
        }


def usage_of(outcome: Outcome) -> dict[str, Any]:
    return {
        "prompt_tokens": outcome.input_tokens,
        "completion_tokens": outcome.output_tokens,
        "total_tokens": outcome.input_tokens + outcome.output_tokens,
        "prompt_tokens_details": {"cached_tokens": outcome.cached_input_tokens},
        "completion_tokens_details": {"reasoning_tokens": outcome.reasoning_tokens},
    }


def _sse_data(body: dict[str, Any]) -> str:
    return f"data: {json.dumps(body)}\n\n"


def _usage_only(delta: Delta) -> bool:
    """A delta that only reports token counts: it becomes usage, not a chunk of its own."""
    return not (delta.content or delta.tool_call is not None or delta.finish_reason or delta.logprobs)


def _delta_json(delta: Delta, first: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"role": "assistant"} if first else {}
    if delta.content:
        body["content"] = delta.content
    if delta.tool_call is not None:
        body["tool_calls"] = [_tool_call_delta(delta.tool_call, delta.tool_call_index)]
    return body


def _tool_call_delta(call: ToolCall, index: int) -> dict[str, Any]:
    """A call's first delta names it (id, type, function name); its later deltas carry only more arguments,
    as OpenAI streams them: the SDKs' stream helpers refuse a call whose name changes to ``""`` mid-way."""
    function = {"name": call.name, "arguments": call.arguments} if call.name else {"arguments": call.arguments}
    opening = {"id": call.id, "type": "function"} if call.id else {}
    return {"index": index, **opening, "function": function}


async def chunks(
    stream: AsyncGenerator[Delta, None], first: Delta, outcome: Outcome, include_usage: bool
) -> AsyncIterator[str]:
    """The answer as server-sent chunks. The ``choices: []`` usage chunk is sent only when the client asked for
    it with ``stream_options.include_usage``, as OpenAI does; it carries the ``agentworks`` extension (cost, who
    answered), which otherwise rides on the last finishing chunk, held back until the stream has ended. A
    provider failing mid-answer ends the stream with an error event."""
    answer = Answer(outcome)
    delta, started = first, set[int]()  # the choices whose first chunk (with the role) was sent
    finishing: list[dict[str, Any]] = []
    try:
        while True:
            if not _usage_only(delta) or not started:
                opening = delta.choice not in started
                chunk = answer.chunk(_delta_json(delta, opening), delta.finish_reason, delta.choice, delta.logprobs)
                started.add(delta.choice)
                if delta.finish_reason:
                    finishing.append(chunk)
                else:
                    yield _sse_data(chunk)
            delta = await anext(stream)
    except StopAsyncIteration:
        pass
    except ProviderError as exc:
        for chunk in finishing:
            yield _sse_data(chunk)
        yield _sse_data({"error": {"code": exc.code, "message": exc.message}})
        return
    finally:
        await stream.aclose()  # a client that went away: the router records the call as cancelled
    if finishing and not include_usage:
        finishing[-1]["agentworks"] = extension(outcome)
    for chunk in finishing:
        yield _sse_data(chunk)
    if include_usage:
        usage = {"usage": usage_of(outcome), "agentworks": extension(outcome)}
        yield _sse_data(answer.envelope("chat.completion.chunk", choices=[], **usage))
    yield "data: [DONE]\n\n"


@dataclass
class _Choice:
    """One choice of a non-streamed answer, gathered from its deltas."""

    text: list[str] = field(default_factory=list)
    calls: dict[int, dict[str, Any]] = field(default_factory=dict)
    tokens: list[Any] = field(default_factory=list)  # log probabilities, one entry a token
    finish_reason: str | None = None

    def take(self, delta: Delta) -> None:
        self.text.append(delta.content)
        self.finish_reason = delta.finish_reason or self.finish_reason
        self.tokens += (delta.logprobs or {}).get("content") or []
        if delta.tool_call is not None:
            call = self.calls.setdefault(
                delta.tool_call_index,
                {"id": delta.tool_call.id, "type": "function", "function": {"name": "", "arguments": ""}},
            )
            call["id"] = call["id"] or delta.tool_call.id
            call["function"]["name"] += delta.tool_call.name
            call["function"]["arguments"] += delta.tool_call.arguments

    def json(self, index: int, finish_reason: str, logprobs: bool) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": "".join(self.text) or None}
        if self.calls:
            message["tool_calls"] = [self.calls[i] for i in sorted(self.calls)]
        return {
            "index": index,
            "message": message,
            "finish_reason": self.finish_reason or finish_reason,
            "logprobs": {"content": self.tokens, "refusal": None} if logprobs else None,
        }


async def completion(stream: AsyncIterator[Delta], first: Delta, outcome: Outcome, logprobs: bool) -> dict[str, Any]:
    """The whole answer as one ``chat.completion``; a provider failing mid-answer raises its ProviderError."""
    answer, choices, delta = Answer(outcome), dict[int, _Choice](), first
    try:
        while True:
            choices.setdefault(delta.choice, _Choice()).take(delta)
            delta = await anext(stream)
    except StopAsyncIteration:
        pass
    return answer.envelope(
        "chat.completion",
        choices=[choices[i].json(i, outcome.finish_reason, logprobs) for i in sorted(choices)],
        usage=usage_of(outcome),
        agentworks=extension(outcome),
    )


def image_key(workspace_id: uuid.UUID, name: str) -> str:
    return f"images/{workspace_id}/{name}"


async def keep_image(blobs: BlobStore, workspace_id: uuid.UUID, image: bytes, mime_type: str) -> str:
    """Keep the image in the blobs port under its workspace and an unguessable name, which is returned: the
    route that serves it by that name answers that workspace only."""
    name = f"{uuid.uuid4().hex}.{IMAGE_TYPES.get(mime_type, 'png')}"
    await blobs.put(image_key(workspace_id, name), image, mime_type)
    return name


async def kept_image(blobs: BlobStore, workspace_id: uuid.UUID, name: str) -> tuple[bytes, str] | None:
    """A kept image of the workspace and its media type, or None."""
    data = await blobs.get(image_key(workspace_id, name))
    if data is None:
        return None
    return data, {kind: mime for mime, kind in IMAGE_TYPES.items()}[name.rsplit(".", 1)[1]]
