"""The Responses API told from the chat deltas of any provider told as Responses API items and stream events.

One event sequence serves both forms of the answer: streamed, each event is sent as it happens
(``response.created``, ``response.output_item.added``, ``response.output_text.delta``,
``response.function_call_arguments.delta``, …, ``response.completed`` with usage); not streamed, the final
response of the sequence is the answer.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from agentworks_provider_router.calls import extension
from agentworks_provider_router.providers.base import Delta, ProviderError
from agentworks_provider_router.responses.schemas import ResponsesIn
from agentworks_provider_router.routing import Outcome

INCOMPLETE = {"length": "max_output_tokens", "content_filter": "content_filter"}

Event = dict[str, Any]


def _id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


@dataclass
class _Item:
    """One output item being built: the assistant's message or one function call."""

    body: dict[str, Any]
    index: int

    @property
    def id(self) -> str:
        return str(self.body["id"])


@dataclass
class ResponseBuilder:
    """Turns deltas into Responses events; ``items`` is the output so far, in output-index order."""

    request: ResponsesIn
    outcome: Outcome
    response_id: str = field(default_factory=lambda: _id("resp"))
    created_at: int = field(default_factory=lambda: int(time.time()))
    items: list[_Item] = field(default_factory=list)
    message: _Item | None = None
    calls: dict[int, _Item] = field(default_factory=dict)

    def response(self, status: str, **extra: Any) -> dict[str, Any]:
        request = self.request
        form = request.text.format if request.text else None
        return {
            "id": self.response_id,
            "object": "response",
            "created_at": self.created_at,
            "status": status,
            "model": self.outcome.model or request.model,
            "output": [item.body for item in self.items],
            "instructions": request.instructions,
            "tools": [t.model_dump(exclude_none=True) for t in request.tools or []],
            "tool_choice": request.tool_choice.model_dump()
            if request.tool_choice is not None and not isinstance(request.tool_choice, str)
            else request.tool_choice or "auto",
            "parallel_tool_calls": request.parallel_tool_calls is not False,
            "temperature": request.temperature,
            "top_p": request.top_p,
            "max_output_tokens": request.max_output_tokens,
            "text": {"format": form.model_dump(by_alias=True, exclude_none=True) if form else {"type": "text"}},
            "reasoning": request.reasoning.model_dump() if request.reasoning else None,
            "metadata": {},
            "store": False,
            "error": None,
            "incomplete_details": None,
            "usage": None,
            **extra,
        }

    def opening(self) -> list[Event]:
        return [
            {"type": "response.created", "response": self.response("in_progress")},
            {"type": "response.in_progress", "response": self.response("in_progress")},
        ]

    def events_of(self, delta: Delta) -> list[Event]:
        events: list[Event] = []
        if delta.content:
            if self.message is None:
                self.message = self._add({"id": _id("msg"), "type": "message", "status": "in_progress"})
                self.message.body |= {"role": "assistant", "content": []}
                events += self._message_opened(self.message)
            part = self.message.body["content"][0]
            part["text"] += delta.content
            events.append(
                {
                    "type": "response.output_text.delta",
                    "item_id": self.message.id,
                    "output_index": self.message.index,
                    "content_index": 0,
                    "delta": delta.content,
                    "logprobs": [],
                }
            )
        if delta.tool_call is not None:
            events += self._call_events(delta)
        return events

    def _add(self, body: dict[str, Any]) -> _Item:
        item = _Item(body, len(self.items))
        self.items.append(item)
        return item

    def _message_opened(self, message: _Item) -> list[Event]:
        part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
        added = {"type": "response.output_item.added", "output_index": message.index, "item": _copy(message.body)}
        message.body["content"].append(part)
        opened = {
            "type": "response.content_part.added",
            "item_id": message.id,
            "output_index": message.index,
            "content_index": 0,
            "part": _copy(part),
        }
        return [added, opened]

    def _call_events(self, delta: Delta) -> list[Event]:
        assert delta.tool_call is not None
        call = self.calls.get(delta.tool_call_index)
        events: list[Event] = []
        if call is None:
            body = {"id": _id("fc"), "type": "function_call", "status": "in_progress", "arguments": ""}
            call = self.calls[delta.tool_call_index] = self._add(
                body | {"call_id": delta.tool_call.id, "name": delta.tool_call.name}
            )
            events.append({"type": "response.output_item.added", "output_index": call.index, "item": _copy(call.body)})
        if delta.tool_call.arguments:
            call.body["arguments"] += delta.tool_call.arguments
            events.append(
                {
                    "type": "response.function_call_arguments.delta",
                    "item_id": call.id,
                    "output_index": call.index,
                    "delta": delta.tool_call.arguments,
                }
            )
        return events

    def closing(self) -> list[Event]:
        """Every open item done, then the response completed (or incomplete) with its usage."""
        events: list[Event] = []
        for item in self.items:
            item.body["status"] = "completed"
            if item.body["type"] == "message":
                events += self._message_done(item)
            else:
                events.append(
                    {
                        "type": "response.function_call_arguments.done",
                        "item_id": item.id,
                        "output_index": item.index,
                        "arguments": item.body["arguments"],
                        "name": item.body["name"],
                    }
                )
            events.append({"type": "response.output_item.done", "output_index": item.index, "item": _copy(item.body)})
        reason = INCOMPLETE.get(self.outcome.finish_reason)
        status = "incomplete" if reason else "completed"
        final = self.response(
            status,
            incomplete_details={"reason": reason} if reason else None,
            usage=usage_of(self.outcome),
            completed_at=int(time.time()),
            agentworks=extension(self.outcome),
        )
        events.append({"type": f"response.{status}", "response": final})
        return events

    @staticmethod
    def _message_done(message: _Item) -> list[Event]:
        part = message.body["content"][0]
        where = {"item_id": message.id, "output_index": message.index, "content_index": 0}
        return [
            {"type": "response.output_text.done", **where, "text": part["text"], "logprobs": []},
            {"type": "response.content_part.done", **where, "part": _copy(part)},
        ]

    def failure(self, exc: ProviderError) -> Event:
        error = {"code": "server_error", "message": exc.message}
        return {"type": "response.failed", "response": self.response("failed", error=error)}


def _copy(body: dict[str, Any]) -> dict[str, Any]:
    copied: dict[str, Any] = json.loads(json.dumps(body))
    return copied


def usage_of(outcome: Outcome) -> dict[str, Any]:
    return {
        "input_tokens": outcome.input_tokens,
        "input_tokens_details": {
            "cached_tokens": outcome.cached_input_tokens,
            "cache_write_tokens": outcome.cache_write_tokens,
        },
        "output_tokens": outcome.output_tokens,
        "output_tokens_details": {"reasoning_tokens": outcome.reasoning_tokens},
        "total_tokens": outcome.input_tokens + outcome.output_tokens,
    }


async def events(builder: ResponseBuilder, stream: AsyncGenerator[Delta, None], first: Delta) -> AsyncIterator[Event]:
    """The whole event sequence of one response; a provider failing mid-answer ends it with
    ``response.failed``, and a caller that goes away closes the provider's stream (recorded as cancelled)."""
    for event in builder.opening():
        yield event
    delta = first
    try:
        while True:
            for event in builder.events_of(delta):
                yield event
            delta = await anext(stream)
    except StopAsyncIteration:
        pass
    except ProviderError as exc:
        yield builder.failure(exc)
        return
    finally:
        await stream.aclose()
    for event in builder.closing():
        yield event


async def server_sent(sequence: AsyncIterator[Event]) -> AsyncIterator[str]:
    number = 0
    async for event in sequence:
        event["sequence_number"] = number
        number += 1
        yield f"event: {event['type']}\ndata: {json.dumps(event)}\n\n"


async def final_response(sequence: AsyncIterator[Event]) -> dict[str, Any]:
    """The response the sequence ends with; one that failed raises the provider's error."""
    final: Event = {}
    async for event in sequence:
        final = event
    if final["type"] == "response.failed":
        raise ProviderError(final["response"]["error"]["message"], 502, code="provider_error")
    response: dict[str, Any] = final["response"]
    return response
