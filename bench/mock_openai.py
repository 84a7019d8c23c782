"""A minimal OpenAI-compatible upstream for the router benchmark: fixed answers, as fast as it can be.

Run with ``uvicorn --factory bench.mock_openai:create_app``; the same process serves both the direct and
the routed requests, so its own cost cancels out of the router's added latency.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

WORDS = ["The", " plan", " is", " ready", ":", " ship", " the", " checkout", " first", "."] * 2
USAGE = {"prompt_tokens": 42, "completion_tokens": len(WORDS), "total_tokens": 42 + len(WORDS)}


def _completion(model: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-mock",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "".join(WORDS)}, "finish_reason": "stop"}],
        "usage": USAGE,
    }


def _chunk(model: str, delta: dict[str, Any], finish: str | None = None, usage: Any = None) -> str:
    choices = [] if usage else [{"index": 0, "delta": delta, "finish_reason": finish}]
    body = {"id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": 0, "model": model, "choices": choices}
    if usage:
        body["usage"] = usage
    return f"data: {json.dumps(body)}\n\n"


async def _stream(model: str) -> AsyncIterator[str]:
    yield _chunk(model, {"role": "assistant", "content": ""})
    for word in WORDS:
        yield _chunk(model, {"content": word})
    yield _chunk(model, {}, "stop")
    yield _chunk(model, {}, usage=USAGE)
    yield "data: [DONE]\n\n"


async def chat(request: Request) -> Response:
    body = await request.json()
    model = body.get("model", "gpt-4o-mini")
    if body.get("stream"):
        return StreamingResponse(_stream(model), media_type="text/event-stream")
    return JSONResponse(_completion(model))


async def models(_request: Request) -> Response:
    return JSONResponse({"object": "list", "data": [{"id": "gpt-4o-mini", "object": "model", "owned_by": "mock"}]})


def create_app() -> Starlette:
    return Starlette(
        routes=[Route("/v1/chat/completions", chat, methods=["POST"]), Route("/v1/models", models, methods=["GET"])]
    )
