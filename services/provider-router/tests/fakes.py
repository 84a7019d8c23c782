"""Wire-level fakes of the OpenAI, Anthropic and Gemini HTTP APIs, driven by a script of scenarios.

Each API first checks the request as the real API does (``wire_rules``) and answers 400 with the real API's
reason when it breaks a rule. Then it pops the next scenario: ``ok``, ``ok-tools`` (one call of ``lookup``),
``ok-parallel`` (two calls of ``lookup`` in one turn), ``ok-json`` (a JSON answer), ``refused`` (400 with the
provider's own reason, quoting our key as some providers do), ``429`` (Retry-After: 1),
``quota`` (429 insufficient_quota), ``500``, ``503``, ``529``, ``slow`` (answers after 2 s), ``cut``
(streams a little, then drops the connection), ``stall`` (streams two words, then waits a minute) or
``ok-cache`` (answers with cached prompt tokens and reasoning tokens in its usage) or ``calls:`` followed by a
JSON list of ``[name, arguments]`` pairs (calls of those tools in one turn, as an agent's step makes); OpenAI also
``stream-error`` (streams a little, then sends an ``error`` chunk, as OpenAI does when it fails mid-answer).
With an empty script it answers ``ok``. Gemini reports its usage in every chunk, as the real API does.

Embeddings (OpenAI ``/v1/embeddings``, Gemini ``:batchEmbedContents`` and ``:embedContent``) answer vector ``k``
(the ``k``-th text) with ``k + (i % 8) / 8`` at position ``i`` (exact in float32), in the dimensions asked for;
OpenAI answers base64 when asked, as the real API does. The Gemini scenario ``no-usage`` leaves out the
usage metadata.
"""

from __future__ import annotations

import asyncio
import base64
import json
import struct
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse

from . import wire_rules

WORDS = ["Hello", " from", " the", " fake", " provider."]
JSON_ANSWER = ['{"title": "Checkout",', ' "priority": 2}']
CALLS = {"ok-tools": [{"q": 1}], "ok-parallel": [{"q": 1}, {"q": 2}]}
SCRIPTED_CALLS = "calls:"
LEAKED_KEY = "sk-test-provider-key-123456"
REASONS = {
    "openai": "This model's maximum context length is 128000 tokens. However, your messages resulted in 130000 tokens.",
    "anthropic": "prompt is too long: 250000 tokens > 200000 maximum",
    "gemini": "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).",
}
RULES = {"openai": wire_rules.openai, "anthropic": wire_rules.anthropic, "gemini": wire_rules.gemini}
STALL_SECONDS = 60.0
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\nfake-image").decode()


class ProviderFake:
    def __init__(self) -> None:
        self.scripts: dict[str, list[str]] = {"openai": [], "anthropic": [], "gemini": []}
        self.requests: dict[str, list[dict[str, Any]]] = {"openai": [], "anthropic": [], "gemini": []}
        self.times: dict[str, list[float]] = {"openai": [], "anthropic": [], "gemini": []}
        self.peers: dict[str, list[int]] = {"openai": [], "anthropic": [], "gemini": []}  # client ports
        self.rejections: dict[str, list[str]] = {"openai": [], "anthropic": [], "gemini": []}
        self.issued_ids = 0
        self.app = FastAPI()
        self.app.add_api_route("/v1/chat/completions", self.openai, methods=["POST"])
        self.app.add_api_route("/v1/embeddings", self.openai_embeddings, methods=["POST"])
        self.app.add_api_route("/v1/messages", self.anthropic, methods=["POST"])
        self.app.add_api_route("/v1beta/models/{target}", self.gemini, methods=["POST"])

    def reset(self) -> None:
        """Every API back to an empty script with nothing received, as a test starts."""
        for log in (self.scripts, self.requests, self.times, self.peers, self.rejections):
            for entries in log.values():
                entries.clear()

    def last_request(self, api: str) -> dict[str, Any]:
        """What the router last sent to one API, which its wire rules accepted."""
        assert not self.rejections[api], self.rejections[api]
        return self.requests[api][-1]

    def script(self, api: str, *scenarios: str) -> None:
        self.scripts[api].extend(scenarios)

    async def _next(self, api: str, request: Request) -> tuple[str, dict[str, Any]]:
        body = json.loads(await request.body() or b"{}")
        self.requests[api].append(body)
        self.times[api].append(time.monotonic())
        self.peers[api].append(request.client.port if request.client else 0)
        scenario = self.scripts[api].pop(0) if self.scripts[api] else "ok"
        problem = self._problem(api, request.url.path, body)
        if problem:
            self.rejections[api].append(problem)
            return "rejected", body
        if scenario == "slow":
            await asyncio.sleep(2)
        return scenario, body

    @staticmethod
    def _problem(api: str, path: str, body: dict[str, Any]) -> str | None:
        """What the real endpoint would refuse in this request."""
        if path.endswith(("EmbedContents", ":embedContent")):
            model = path.rsplit("/", 1)[-1].split(":", 1)[0]
            return wire_rules.gemini_embedding(model, body, batch=path.endswith(":batchEmbedContents"))
        if path.endswith("/embeddings"):
            return wire_rules.openai_embedding(body)
        return RULES[api](body)

    @staticmethod
    def _error(scenario: str, body: dict[str, Any]) -> Response | None:
        if scenario == "429":
            return JSONResponse(body, status_code=429, headers={"retry-after": "1"})
        if scenario in ("500", "503", "529"):
            return JSONResponse(body, status_code=int(scenario))
        return None

    def _refusal(self, api: str, scenario: str) -> Response | None:
        """The real API's 400 for a request that breaks its rules, or for the ``refused`` scenario."""
        if scenario not in ("rejected", "refused"):
            return None
        reason = self.rejections[api][-1] if scenario == "rejected" else f"{REASONS[api]} (key {LEAKED_KEY})"
        if api == "openai":
            code = "context_length_exceeded" if scenario == "refused" else None
            error = {"message": reason, "type": "invalid_request_error", "param": "messages", "code": code}
            return JSONResponse({"error": error}, status_code=400)
        if api == "anthropic":
            body = {"type": "error", "error": {"type": "invalid_request_error", "message": reason}}
            return JSONResponse(body, status_code=400)
        return JSONResponse({"error": {"code": 400, "message": reason, "status": "INVALID_ARGUMENT"}}, status_code=400)

    def _tool_id(self) -> str:
        """Tool-use ids unique for the fake's lifetime, as Anthropic's are."""
        self.issued_ids += 1
        return f"toolu_{self.issued_ids}"

    async def openai(self, request: Request) -> Response:
        scenario, body = await self._next("openai", request)
        if refusal := self._refusal("openai", scenario):
            return refusal
        if scenario == "quota":
            return JSONResponse(
                {"error": {"message": "quota", "type": "insufficient_quota", "code": "insufficient_quota"}},
                status_code=429,
            )
        error = self._error(scenario, {"error": {"message": scenario, "type": "server_error", "code": None}})
        if error:
            return error
        return StreamingResponse(self._openai_stream(scenario, body), media_type="text/event-stream")

    async def _openai_stream(self, scenario: str, request: dict[str, Any]) -> AsyncIterator[str]:
        def chunk(
            delta: dict[str, Any], finish: str | None = None, logprobs: Any = None, index: int = 0, **extra: Any
        ) -> str:
            body = {
                "id": "chatcmpl-fake",
                "object": "chat.completion.chunk",
                "created": 1,
                "model": "gpt-4o",
                "choices": [{"index": index, "delta": delta, "finish_reason": finish, "logprobs": logprobs}],
                **extra,
            }
            return f"data: {json.dumps(body)}\n\n"

        yield chunk({"role": "assistant", "content": ""})
        for n, word in enumerate(JSON_ANSWER if scenario == "ok-json" else WORDS):
            if scenario == "cut" and n == 2:
                raise ConnectionResetError("connection dropped mid-stream")
            if scenario == "stall" and n == 2:
                await asyncio.sleep(STALL_SECONDS)
            if scenario == "stream-error" and n == 2:
                failure = {"error": {"message": "The server had an error.", "type": "server_error"}}
                yield f"data: {json.dumps(failure)}\n\n"
                return
            for index in range(request.get("n") or 1):
                said = choice_word(index, n, word)
                logprobs = openai_logprobs(said, request.get("top_logprobs") or 0) if request.get("logprobs") else None
                yield chunk({"content": said}, logprobs=logprobs, index=index)
        for index, (name, arguments) in enumerate(calls_of(scenario)):
            call = {
                "index": index,
                "id": self._tool_id().replace("toolu_", "call_"),
                "type": "function",
                "function": {"name": name, "arguments": json.dumps(arguments)},
            }
            yield chunk({"tool_calls": [call]})
        for index in range(request.get("n") or 1):
            yield chunk({}, "tool_calls" if calls_of(scenario) else "stop", index=index)
        usage = {
            "id": "chatcmpl-fake",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "gpt-4o",
            "choices": [],
            "usage": {"prompt_tokens": 1000, "completion_tokens": 500, "total_tokens": 1500},
        }
        if scenario == "ok-cache":
            usage["usage"] |= {
                "prompt_tokens_details": {"cached_tokens": 800, "audio_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": 300, "audio_tokens": 0},
            }
        yield f"data: {json.dumps(usage)}\n\n"
        yield "data: [DONE]\n\n"

    async def openai_embeddings(self, request: Request) -> Response:
        scenario, body = await self._next("openai", request)
        if refusal := self._refusal("openai", scenario):
            return refusal
        error = self._error(scenario, {"error": {"message": scenario, "type": "server_error", "code": None}})
        if error:
            return error
        texts = [body["input"]] if isinstance(body["input"], str) else body["input"]
        size = body.get("dimensions") or 1536
        base64_wanted = body.get("encoding_format") == "base64"
        data = [
            {
                "object": "embedding",
                "index": k,
                "embedding": _packed(vector(k, size)) if base64_wanted else vector(k, size),
            }
            for k in range(len(texts))
        ]
        usage = {"prompt_tokens": 8 * len(texts), "total_tokens": 8 * len(texts)}
        return JSONResponse({"object": "list", "data": data, "model": body["model"], "usage": usage})

    async def anthropic(self, request: Request) -> Response:
        scenario, _ = await self._next("anthropic", request)
        if refusal := self._refusal("anthropic", scenario):
            return refusal
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
                    "usage": {"input_tokens": 2000, "output_tokens": 1}
                    | (
                        {"input_tokens": 200, "cache_read_input_tokens": 1500, "cache_creation_input_tokens": 300}
                        if scenario == "ok-cache"
                        else {}
                    ),
                }
            },
        )
        yield event("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}})
        for n, word in enumerate(JSON_ANSWER if scenario == "ok-json" else WORDS):
            if scenario == "cut" and n == 2:
                raise ConnectionResetError("connection dropped mid-stream")
            if scenario == "stall" and n == 2:
                await asyncio.sleep(STALL_SECONDS)
            yield event("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": word}})
        yield event("content_block_stop", {"index": 0})
        stop = "tool_use" if calls_of(scenario) else "end_turn"
        for n, (name, arguments) in enumerate(calls_of(scenario), start=1):
            block = {"type": "tool_use", "id": self._tool_id(), "name": name, "input": {}}
            yield event("content_block_start", {"index": n, "content_block": block})
            delta = {"type": "input_json_delta", "partial_json": json.dumps(arguments)}
            yield event("content_block_delta", {"index": n, "delta": delta})
            yield event("content_block_stop", {"index": n})
        yield event(
            "message_delta", {"delta": {"stop_reason": stop, "stop_sequence": None}, "usage": {"output_tokens": 1000}}
        )
        yield event("message_stop", {})

    async def gemini(self, target: str, request: Request) -> Response:
        scenario, body = await self._next("gemini", request)
        if refusal := self._refusal("gemini", scenario):
            return refusal
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
        if target.endswith(("EmbedContents", ":embedContent")):
            return self._gemini_embeddings(scenario, body, batch=target.endswith(":batchEmbedContents"))
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
        return StreamingResponse(self._gemini_stream(scenario, body), media_type="text/event-stream")

    @staticmethod
    def _gemini_embeddings(scenario: str, body: dict[str, Any], batch: bool) -> Response:
        requests = body["requests"] if batch else [body]
        vectors = [{"values": vector(k, r.get("outputDimensionality") or 3072)} for k, r in enumerate(requests)]
        answer: dict[str, Any] = {"embeddings": vectors} if batch else {"embedding": vectors[0]}
        if scenario != "no-usage":
            tokens = 6 * len(requests)
            answer["usageMetadata"] = {"promptTokenCount": tokens, "totalTokenCount": tokens}
        return JSONResponse(answer)

    async def _gemini_stream(self, scenario: str, request: dict[str, Any]) -> AsyncIterator[str]:
        config = request.get("generationConfig") or {}
        words = JSON_ANSWER if scenario == "ok-json" else WORDS
        for n, word in enumerate(words):
            if scenario == "cut" and n == 2:
                raise ConnectionResetError("connection dropped mid-stream")
            if scenario == "stall" and n == 2:
                await asyncio.sleep(STALL_SECONDS)
            last = n == len(words) - 1  # the last chunk of an answer says why it ended, as Gemini's does
            candidates = [
                self._gemini_candidate(scenario, config, index, n, word, last)
                for index in range(config.get("candidateCount") or 1)
            ]
            usage: dict[str, Any] = {"promptTokenCount": 4000, "candidatesTokenCount": 400 * (n + 1)}
            if scenario == "ok-cache":
                usage |= {"cachedContentTokenCount": 3000, "thoughtsTokenCount": 500}
            usage["totalTokenCount"] = 4000 + usage["candidatesTokenCount"] + usage.get("thoughtsTokenCount", 0)
            body: dict[str, Any] = {"candidates": candidates, "modelVersion": "gemini-1.5-pro", "usageMetadata": usage}
            yield f"data: {json.dumps(body)}\n\n"

    @staticmethod
    def _gemini_candidate(
        scenario: str, config: dict[str, Any], index: int, n: int, word: str, last: bool
    ) -> dict[str, Any]:
        said = choice_word(index, n, word)
        parts: list[dict[str, Any]] = [{"text": said}]
        if last:
            parts += [{"functionCall": {"name": name, "args": args}} for name, args in calls_of(scenario)]
        candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": index}
        if config.get("responseLogprobs"):
            alternatives = [{"token": said, "logProbability": -0.5}] * (config.get("logprobs") or 0)
            candidate["logprobsResult"] = {
                "chosenCandidates": [{"token": said, "logProbability": -0.5}],
                "topCandidates": [{"candidates": alternatives}],
                "logProbabilitySum": -0.5,
            }
        if last:
            candidate["finishReason"] = "STOP"
        return candidate


def calls_of(scenario: str) -> list[tuple[str, dict[str, Any]]]:
    """The tool calls a scenario makes in its turn: ``lookup`` for ``ok-tools`` and ``ok-parallel``, or the
    scripted ``calls:`` list."""
    if scenario.startswith(SCRIPTED_CALLS):
        return [(name, arguments) for name, arguments in json.loads(scenario.removeprefix(SCRIPTED_CALLS))]
    return [("lookup", arguments) for arguments in CALLS.get(scenario, [])]


def scripted_calls(*calls: tuple[str, dict[str, Any]]) -> str:
    """The scenario of one turn making ``calls`` (tool name, arguments), all at once."""
    return SCRIPTED_CALLS + json.dumps([[name, arguments] for name, arguments in calls])


def vector(k: int, size: int) -> list[float]:
    """The fake's embedding of the ``k``-th text: exact in float32, so a base64 round trip loses nothing."""
    return [k + (i % 8) / 8 for i in range(size)]


def _packed(values: list[float]) -> str:
    return base64.b64encode(struct.pack(f"<{len(values)}f", *values)).decode()


def choice_word(index: int, position: int, word: str) -> str:
    """The word a choice says at a position: every choice after the first opens with its own number."""
    return f"Answer {index}:" if index and position == 0 else word


def openai_logprobs(token: str, top: int) -> dict[str, Any]:
    """OpenAI's log probabilities of one streamed token (each chunk here carries one), -0.5 each."""
    entry = {"token": token, "logprob": -0.5, "bytes": list(token.encode())}
    return {"content": [{**entry, "top_logprobs": [entry] * top}], "refusal": None}
