"""The offline provider: deterministic, streams token by token, zero cost, clearly labelled as offline.

It answers in the shape the prompt asks for. When a system prompt carries an AgentWorks output contract
(a line ``AGENTWORKS_OUTPUT_CONTRACT: {json}``), the answer ends with a fenced JSON block that fulfils it.
Offered an agent's tools, it works as that role would, one turn per step (``offline_session``): it reads the
card, writes the role's documents, and, as the tools offered allow, generates an image, creates two child cards
or adds to the card's checklist, comments, then answers with a summary. So the whole product works end to end
with no provider key configured.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import struct
import zlib
from collections.abc import AsyncIterator
from typing import Any

from agentworks_provider_router.providers import offline_session
from agentworks_provider_router.providers.base import (
    ChatRequest,
    Delta,
    EmbeddingRequest,
    EmbeddingResult,
    ImageRequest,
    ImageResult,
    ToolCall,
)

EMBEDDING_DIMENSIONS = 256

CONTRACT = re.compile(r"AGENTWORKS_OUTPUT_CONTRACT: (\{.*\})")
LABEL = offline_session.LABEL


def count_tokens(text: str) -> int:
    return max(1, len(text.split())) if text else 0


class OfflineProvider:
    name = "offline"

    def __init__(self, token_delay: float = 0.002) -> None:
        self._delay = token_delay

    def answer(self, request: ChatRequest) -> str:
        prompt = "\n".join(m.content for m in request.messages)
        digest = hashlib.sha256(prompt.encode()).hexdigest()[:8]
        question = next((m.content for m in reversed(request.messages) if m.role == "user"), "")
        topic = " ".join(question.split()[:12]) or "the request"
        lines = [LABEL, f"Working on: {topic}", f"Reference {digest}: reviewed the context and drafted a response."]
        contract = self._contract(request)
        if contract is None:
            return "\n".join([*lines, "Done."])
        return "\n".join(
            [
                *lines,
                "Here is the result.",
                "```json",
                json.dumps(self._fulfil(contract, topic, digest), indent=2),
                "```",
            ]
        )

    @staticmethod
    def _contract(request: ChatRequest) -> dict[str, Any] | None:
        for message in request.messages:
            match = CONTRACT.search(message.content)
            if match and message.role == "system":
                try:
                    parsed: dict[str, Any] = json.loads(match.group(1))
                except ValueError:
                    return None
                return parsed
        return None

    @staticmethod
    def _fulfil(contract: dict[str, Any], topic: str, digest: str) -> dict[str, Any]:
        documents = [
            {
                "kind": kind,
                "title": kind.replace("_", " ").title(),
                "content": f"# {kind.replace('_', ' ').title()}\n\n{LABEL}\n\nDraft for {topic} ({digest}).",
            }
            for kind in contract.get("documents", [])
        ]
        cards = [
            {"title": f"Task {n}: {topic}"[:200], "description": f"Generated offline ({digest})."}
            for n in range(1, int(contract.get("child_cards", 0)) + 1)
        ]
        return {"summary": f"Offline draft for {topic} ({digest}).", "documents": documents, "child_cards": cards}

    def agent_turn(self, request: ChatRequest) -> tuple[str, tuple[ToolCall, ...]]:
        """The next turn of an agent session driven through the offered tools: what it says and the calls it
        makes (none once the work is done). Offered none of an agent's tools, it answers as to any request."""
        offered = {tool.name: tool for tool in request.tools}
        turn = sum(1 for m in request.messages if m.role == "assistant")
        seen = offline_session.seen_in(request)
        plan = offline_session.session(offered, seen)
        if not plan:
            return self.answer(request), ()
        if turn >= len(plan):
            return offline_session.summary(plan, seen), ()
        step = plan[turn]
        return (LABEL + "\n" + step.text if turn == 0 else step.text), tuple(
            ToolCall(f"call_offline_{turn + 1}_{n}", name, json.dumps(arguments))
            for n, (name, arguments) in enumerate(step.calls, start=1)
        )

    async def stream_chat(self, request: ChatRequest) -> AsyncIterator[Delta]:
        text, calls = self.agent_turn(request)
        prompt_tokens = sum(count_tokens(m.content) for m in request.messages)
        pieces = re.findall(r"\S+\s*|\s+", text)
        cut = request.max_tokens is not None and count_tokens(text) > request.max_tokens
        if cut:
            # As a provider does at its output limit: the text cut at the limit, no tool call, finish "length".
            pieces = [piece for piece in pieces if piece.strip()][: request.max_tokens]
            text, calls = "".join(pieces), ()
        for piece in pieces:
            yield Delta(content=piece)
            if self._delay:
                await asyncio.sleep(self._delay)
        for index, call in enumerate(calls):
            yield Delta(tool_call=call, tool_call_index=index)
        output_tokens = count_tokens(text) + sum(count_tokens(call.arguments) for call in calls)
        finish = "length" if cut else "tool_calls" if calls else "stop"
        yield Delta(finish_reason=finish, input_tokens=prompt_tokens, output_tokens=output_tokens)

    async def generate_images(self, request: ImageRequest) -> ImageResult:
        seed = hashlib.sha256(request.prompt.encode()).digest()
        return ImageResult(
            tuple(_png(seed[i % len(seed)]) for i in range(request.n)), input_tokens=count_tokens(request.prompt)
        )

    async def embed(self, request: EmbeddingRequest) -> EmbeddingResult:
        """A deterministic unit vector per text, derived from its hash (equal texts, equal vectors)."""
        size = request.dimensions or EMBEDDING_DIMENSIONS
        vectors = tuple(_unit_vector(text, size) for text in request.texts)
        return EmbeddingResult(vectors, sum(count_tokens(text) for text in request.texts))

    async def aclose(self) -> None:
        return None


def _unit_vector(text: str, size: int) -> tuple[float, ...]:
    stream = b""
    counter = 0
    while len(stream) < size:
        stream += hashlib.sha256(f"{counter}:{text}".encode()).digest()
        counter += 1
    raw = [byte / 127.5 - 1 for byte in stream[:size]]
    norm = sum(value * value for value in raw) ** 0.5 or 1.0
    return tuple(value / norm for value in raw)


def _png(shade: int, size: int = 8) -> bytes:
    """A tiny deterministic grey PNG (the offline stand-in for a generated image)."""
    raw = b"".join(b"\x00" + bytes([shade, shade, 255 - shade]) * size for _ in range(size))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
