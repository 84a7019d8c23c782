"""The offline provider: deterministic, streams token by token, zero cost, clearly labelled as offline.

It answers in the shape the prompt asks for. When a system prompt carries an AgentWorks output contract
(a line ``AGENTWORKS_OUTPUT_CONTRACT: {json}``), the answer ends with a fenced JSON block that fulfils it.
Offered an agent's tools, it works as an agent would, one turn per step: it reads the card, writes the
document the ``write_document`` tool names first and creates two child cards, comments on the card, then
answers with a summary. So the whole product works end to end with no provider key configured.
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
LABEL = "[offline model — no provider key configured; this text is generated locally]"


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
        card = next((m.content for m in request.messages if m.role == "tool"), "")
        topic = (card.split("\n", 1)[0].split(": ", 1)[-1] or "the card")[:80]
        plan = _session(offered, topic)
        if not plan:
            return self.answer(request), ()
        if turn >= len(plan):
            return f"Done: wrote the draft, split the work into two child cards and left a note on {topic}.", ()
        text, calls = plan[turn]
        return (LABEL + "\n" + text if turn == 0 else text), tuple(
            ToolCall(f"call_offline_{turn + 1}_{n}", name, json.dumps(arguments))
            for n, (name, arguments) in enumerate(calls, start=1)
        )

    async def stream_chat(self, request: ChatRequest) -> AsyncIterator[Delta]:
        text, calls = self.agent_turn(request)
        prompt_tokens = sum(count_tokens(m.content) for m in request.messages)
        pieces = re.findall(r"\S+\s*|\s+", text)
        for piece in pieces:
            yield Delta(content=piece)
            if self._delay:
                await asyncio.sleep(self._delay)
        for index, call in enumerate(calls):
            yield Delta(tool_call=call, tool_call_index=index)
        output_tokens = count_tokens(text) + sum(count_tokens(call.arguments) for call in calls)
        finish = "tool_calls" if calls else "stop"
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


Turn = tuple[str, list[tuple[str, dict[str, Any]]]]


def _session(offered: dict[str, Any], topic: str) -> list[Turn]:
    """The offline agent's turns, each kept only when the tools it needs are offered."""
    document = _first_document(offered.get("write_document"))
    turns: list[Turn] = []
    if "read_card" in offered:
        turns.append(("Reading the card first.", [("read_card", {})]))
    if document and "create_child_card" in offered:
        title = document.replace("_", " ").title()
        content = f"# {title}\n\n{LABEL}\n\nDraft for {topic}."
        children = [
            (
                "create_child_card",
                {
                    "title": f"{part} for {topic}"[:200],
                    "description": f"Generated offline: the {part.lower()} part of {topic}.",
                    "acceptance_criteria": [f"The {part.lower()} part works end to end."],
                },
            )
            for part in ("Groundwork", "Follow-up")
        ]
        turns.append(
            (
                f"Drafting the {title} and splitting the work into two child cards.",
                [("write_document", {"name": document, "title": title, "content": content}), *children],
            )
        )
    if "comment" in offered:
        note = f"Offline draft ready for review. {LABEL}"
        turns.append(("Leaving a note for the team.", [("comment", {"body": note})]))
    return turns


def _first_document(tool: Any) -> str | None:
    """The first document name ``write_document`` offers (its ``name`` enum), if it offers any."""
    if tool is None:
        return None
    names = tool.parameters.get("properties", {}).get("name", {}).get("enum") or []
    return str(names[0]) if names else None


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
