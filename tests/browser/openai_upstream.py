"""OpenAI's chat completions API at the wire, answering like the offline provider (an agent's tools driven as
it drives them) but with token usage.

The browser test points the provider router's real OpenAI adapter here (``AW_PROVIDER_ROUTER_OPENAI_BASE_URL``)
so agent runs on OpenAI models cost what contracts/pricing.yaml says, and the UI has real money to show.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

from agentworks_provider_router.providers.base import ChatRequest, Message, Tool, ToolCall
from agentworks_provider_router.providers.offline import OfflineProvider, count_tokens
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

WRITER = OfflineProvider(token_delay=0)


def _message(message: dict[str, Any]) -> Message:
    """One message as the router's adapters read it: the tool calls an assistant made, the call a result answers."""
    calls = tuple(
        ToolCall(call["id"], call["function"]["name"], call["function"]["arguments"])
        for call in message.get("tool_calls") or []
    )
    return Message(
        role=message["role"],
        content=str(message.get("content") or ""),
        tool_calls=calls,
        tool_call_id=message.get("tool_call_id"),
    )


def _request(body: dict[str, Any]) -> ChatRequest:
    messages = tuple(_message(m) for m in body["messages"])
    tools = tuple(
        Tool(t["function"]["name"], t["function"].get("description", ""), t["function"].get("parameters", {}))
        for t in body.get("tools") or []
    )
    return ChatRequest(model=body["model"], messages=messages, tools=tools)


def _call_delta(index: int, call: ToolCall) -> dict[str, Any]:
    function = {"name": call.name, "arguments": call.arguments}
    return {"tool_calls": [{"index": index, "id": call.id, "type": "function", "function": function}]}


def _chunk(model: str, delta: dict[str, Any] | None, finish: str | None = None, usage: Any = None) -> str:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    chunk = {"id": "chatcmpl-e2e", "object": "chat.completion.chunk", "created": int(time.time()), "model": model}
    chunk |= {"choices": choices, "usage": usage}
    return f"data: {json.dumps(chunk)}\n\n"


async def _stream(model: str, answer: str, calls: tuple[ToolCall, ...], usage: dict[str, int]) -> AsyncIterator[str]:
    yield _chunk(model, {"role": "assistant", "content": ""})
    for start in range(0, len(answer), 40):
        yield _chunk(model, {"content": answer[start : start + 40]})
    for index, call in enumerate(calls):
        yield _chunk(model, _call_delta(index, call))
    yield _chunk(model, {}, "tool_calls" if calls else "stop")
    yield _chunk(model, None, usage=usage)
    yield "data: [DONE]\n\n"


async def completions(request: Request) -> Response:
    if request.headers.get("authorization") != "Bearer sk-e2e":
        return JSONResponse({"error": {"message": "bad key", "type": "invalid_request_error"}}, status_code=401)
    body = await request.json()
    chat = _request(body)
    text, calls = WRITER.agent_turn(chat)
    answer = text.replace("offline model", "test model")
    prompt = "\n".join(m.content for m in chat.messages)
    usage = {"prompt_tokens": count_tokens(prompt), "completion_tokens": count_tokens(answer)}
    usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
    if body.get("stream"):
        return StreamingResponse(_stream(chat.model, answer, calls, usage), media_type="text/event-stream")
    message = {"role": "assistant", "content": answer}
    choice = {"index": 0, "message": message, "finish_reason": "stop"}
    return JSONResponse(
        {"id": "chatcmpl-e2e", "object": "chat.completion", "model": chat.model, "choices": [choice], "usage": usage}
    )


app = Starlette(routes=[Route("/v1/chat/completions", completions, methods=["POST"])])
