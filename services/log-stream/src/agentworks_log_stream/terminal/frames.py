"""Frames sized for the gateway's relay: every frame a client receives stays under ``MAX_FRAME_BYTES``.

The gateway relays at most 128 KB per message and closes the socket on a larger one, so batches are split into
several ``lines`` frames, a line too long for any frame is cut with a marker (the whole line stays in the store
and the download), and a card event too large for a board frame travels without its description (the board
keeps the one it has and refetches after every card event) or, failing that, as a ``resync`` frame (refetch).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

MAX_FRAME_BYTES = 60 * 1024
ENVELOPE_BYTES = 200  # '{"type": "lines", "run_id": "<uuid>", "lines": []}' and a line's keys, with room to spare
MAX_LINE_BYTES = MAX_FRAME_BYTES - ENVELOPE_BYTES
LINE_FIELDS = ("seq", "at", "stream", "text")
RESYNC: dict[str, Any] = {"type": "resync"}


def truncation_marker(shown: int, total: int) -> str:
    return f" … [line cut: {shown:,} of {total:,} characters shown; the download has all of it]"


def fit_line(line: dict[str, Any]) -> dict[str, Any]:
    """The line itself when its JSON fits a frame, else a copy whose text is cut and marked."""
    if len(json.dumps(line)) <= MAX_LINE_BYTES:
        return line
    text: str = line["text"]
    room = MAX_LINE_BYTES - len(json.dumps({**line, "text": ""})) - len(truncation_marker(len(text), len(text)))
    cut = fitting_prefix(text, room)
    return {**line, "text": text[:cut] + truncation_marker(cut, len(text))}


def fitting_prefix(text: str, room: int) -> int:
    """How many leading characters of ``text`` fit in ``room`` bytes of JSON (quotes included)."""
    cut = min(len(text), max(room, 0))
    while cut > 0 and (encoded := len(json.dumps(text[:cut]))) > room:  # escapes: up to 12 bytes a character
        cut = min(cut - 1, cut * room // encoded)
    return max(cut, 0)


def lines_frames(run_id: str, lines: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """``lines`` frames carrying ``lines`` in order, each under the frame limit."""
    chunk: list[dict[str, Any]] = []
    size = ENVELOPE_BYTES
    for line in lines:
        fitted = fit_line({k: line[k] for k in LINE_FIELDS})
        cost = len(json.dumps(fitted)) + 2
        if chunk and size + cost > MAX_FRAME_BYTES:
            yield {"type": "lines", "run_id": run_id, "lines": chunk}
            chunk, size = [], ENVELOPE_BYTES
        chunk.append(fitted)
        size += cost
    if chunk:
        yield {"type": "lines", "run_id": run_id, "lines": chunk}


def fit_board_message(message: dict[str, Any]) -> dict[str, Any]:
    """A board message as it is when it fits; else the card event without the card's description (marked
    ``partial``); else a ``resync`` frame, which makes the board refetch."""
    if len(json.dumps(message)) <= MAX_FRAME_BYTES:
        return message
    event = message.get("event")
    if message.get("type") == "card" and isinstance(event, dict) and isinstance(event.get("card"), dict):
        card = {k: v for k, v in event["card"].items() if k != "description"}  # the board keeps what it had
        slim = {**message, "event": {**event, "card": card}, "partial": True}
        if len(json.dumps(slim)) <= MAX_FRAME_BYTES:
            return slim
    return RESYNC
