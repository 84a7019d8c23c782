"""Wire-level fakes of the OpenAI, Anthropic and Gemini HTTP APIs, driven by a script of scenarios.

Each API pops the next scenario for every request: ``ok``, ``ok-tools``, ``429`` (Retry-After: 1),
``quota`` (429 insufficient_quota), ``500``, ``503``, ``529``, ``slow`` (answers after 2 s) or ``cut``
(streams a little, then drops the connection); OpenAI also ``stream-error`` (streams a little, then sends an
``error`` chunk, as OpenAI does when it fails mid-answer). With an empty script it answers ``ok``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse

WORDS = ["Hello", " from", " the", " fake", " provider."]
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\nfake-image").decode()


class ProviderFake:
    def __init__(self) -> None:
        self.scripts: dict[str, list[str]] = {"openai": [], "anthropic": [], "gemini": []}
        self.requests: dict[str, list[dict[str, Any]]] = {"openai": [], "anthropic": [], "gemini": []}
        self.times: dict[str, list[float]] = {"openai": [], "anthropic": [], "gemini": []}
        self.peers: dict[str, list[int]] = {"openai": [], "anthropic": [], "gemini": []}  # client ports
        self.app = FastAPI()
        self.app.add_api_route("/v1/chat/completions", self.openai, methods=["POST"])
        self.app.add_api_route("/v1/messages", self.anthropic, methods=["POST"])
        self.app.add_api_route("/v1beta/models/{target}", self.gemini, methods=["POST"])

    def script(self, api: str, *scenarios: str) -> None:
        self.scripts[api].extend(scenarios)

    async def _next(self, api: str, request: Request) -> tuple[str, dict[str, Any]]:
        body = json.loads(await request.body() or b"{}")
        self.requests[api].append(body)
        self.times[api].append(time.monotonic())
        self.peers[api].append(request.client.port if request.client else 0)
        scenario = self.scripts[api].pop(0) if self.scripts[api] else "ok"
        if scenario == "slow":
            await asyncio.sleep(2)
        return scenario, body

    @staticmethod
    def _error(scenario: str, body: dict[str, Any]) -> Response | None:
        if scenario == "429":
            return JSONResponse(body, status_code=429, headers={"retry-after": "1"})
        if scenario in ("500", "503", "529"):
            return JSONResponse(body, status_code=int(scenario))
        return None

    async def openai(self, request: Request) -> Response:
        scenario, _ = await self._next("openai", request)
        if scenario == "quota":
            return JSONResponse(
                {"error": {"message": "quota", "type": "insufficient_quota", "code": "insufficient_quota"}},
                status_code=429,
            )
        error = self._error(scenario, {"error": {"message": scenario, "type": "server_error", "code": None}})
        if error:
            return error
        return StreamingResponse(self._openai_stream(scenario), media_type="text/event-stream")

    async def _openai_stream(self, scenario: str) -> AsyncIterator[str]:
        def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
            body = {
                "id": "chatcmpl-fake",
                "object": "chat.completion.chunk",
                "created": 1,
                "model": "gpt-4o",
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                **extra,
            }
            return f"data: {json.dumps(body)}\n\n"

        yield chunk({"role": "assistant", "content": ""})
        for n, word in enumerate(WORDS):
            if scenario == "cut" and n == 2:
                raise ConnectionResetError("connection dropped mid-stream")
            if scenario == "stream-error" and n == 2:
                failure = {"error": {"message": "The server had an error.", "type": "server_error"}}
                yield f"data: {json.dumps(failure)}\n\n"
                return
            yield chunk({"content": word})
        if scenario == "ok-tools":
            yield chunk(
                {
                    "tool_calls": [
                        {
                            "index": 0,
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "lookup", "arguments": '{"q": 1}'},
                        }
                    ]
                }
            )
        yield chunk({}, "tool_calls" if scenario == "ok-tools" else "stop")
        usage = {
            "id": "chatcmpl-fake",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "gpt-4o",
            "choices": [],
            "usage": {"prompt_tokens": 1000, "completion_tokens": 500, "total_tokens": 1500},
        }
        yield f"data: {json.dumps(usage)}\n\n"
        yield "data: [DONE]\n\n"

    async def anthropic(self, request: Request) -> Response:
        scenario, _ = await self._next("anthropic", request)
        error = self._error(scenario, {"type": "error", "error": {"type": "overloaded_error", "message": scenario}})
        if error:
            return error
        return StreamingResponse(self._anthropic_stream(scenario), media_type="text/event-stream")

    async def _anthropic_stream(self, scenario: str) -> AsyncIterator[str]:
        def event(kind: str, data: dict[str, Any]) -> str:
            return f"event: {kind}\ndata: {json.dumps({'type': kind, **data})}\n\n"

        yield event(
            "message_start",
            {
                "message": {
                    "id": "msg_1",
                    "type": "message",
                    "role": "assistant",
                    "content": [],
                    "model": "claude-3-5-sonnet",
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": {"input_tokens": 2000, "output_tokens": 1},
                }
            },
        )
        yield event("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}})
        for n, word in enumerate(WORDS):
            if scenario == "cut" and n == 2:
                raise ConnectionResetError("connection dropped mid-stream")
            yield event("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": word}})
        yield event("content_block_stop", {"index": 0})
        stop = "end_turn"
        if scenario == "ok-tools":
            stop = "tool_use"
            yield event(
                "content_block_start",
                {"index": 1, "content_block": {"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {}}},
            )
            yield event(
                "content_block_delta", {"index": 1, "delta": {"type": "input_json_delta", "partial_json": '{"q": 1}'}}
            )
            yield event("content_block_stop", {"index": 1})
        yield event(
            "message_delta", {"delta": {"stop_reason": stop, "stop_sequence": None}, "usage": {"output_tokens": 1000}}
        )
        yield event("message_stop", {})

    async def gemini(self, target: str, request: Request) -> Response:
        scenario, _ = await self._next("gemini", request)
        error = self._error(
            scenario,
            {
                "error": {
                    "code": int(scenario) if scenario.isdigit() else 500,
                    "message": scenario,
                    "status": "UNAVAILABLE",
                }
            },
        )
        if error:
            return error
        if target.endswith(":generateContent"):
            return JSONResponse(
                {
                    "candidates": [
                        {
                            "content": {
                                "role": "model",
                                "parts": [{"inlineData": {"mimeType": "image/png", "data": PNG}}],
                            },
                            "finishReason": "STOP",
                        }
                    ],
                    "usageMetadata": {"promptTokenCount": 12, "candidatesTokenCount": 0, "totalTokenCount": 12},
                }
            )
        return StreamingResponse(self._gemini_stream(scenario), media_type="text/event-stream")

    async def _gemini_stream(self, scenario: str) -> AsyncIterator[str]:
        for n, word in enumerate(WORDS):
            if scenario == "cut" and n == 2:
                raise ConnectionResetError("connection dropped mid-stream")
            candidate: dict[str, Any] = {"content": {"role": "model", "parts": [{"text": word}]}, "index": 0}
            body: dict[str, Any] = {"candidates": [candidate], "modelVersion": "gemini-1.5-pro"}
            if n == len(WORDS) - 1:
                candidate["finishReason"] = "STOP"
                body["usageMetadata"] = {
                    "promptTokenCount": 4000,
                    "candidatesTokenCount": 2000,
                    "totalTokenCount": 6000,
                }
            yield f"data: {json.dumps(body)}\n\n"
