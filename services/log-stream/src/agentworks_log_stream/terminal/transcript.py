"""A tool-using run's transcript: each step's prose and tool calls, as stored and as sent in ``step`` frames.

A step is sent as one or more ``step`` frames, each under ``frames.MAX_FRAME_BYTES``:
``{"type": "step", "run_id", "agent", "step", "at", "duration_ms", "part", "parts", "text", "tool_calls"}``.
A client joins the parts of a step (``part`` 0 … ``parts`` − 1) by concatenating their ``text`` and their
``tool_calls`` in part order, and holds a step as received once it has every part. Long prose is split across
parts, never cut; a tool call too big for one frame (a document's content in its arguments) shows its arguments
shortened with a marker (the transcript API has all of it). Tool results are at most 8,000 characters.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from agentworks_events import utc_text

from agentworks_log_stream.models import RunStepRow
from agentworks_log_stream.terminal.frames import MAX_FRAME_BYTES, fitting_prefix

STEP_ENVELOPE_BYTES = 400  # the frame's keys, ids, timestamp and part numbers, with room to spare
PIECE_BYTES = MAX_FRAME_BYTES - STEP_ENVELOPE_BYTES
ARGUMENT_PREVIEW = 2000  # characters of an argument kept when a call is too big for a frame
ERROR_PREVIEW = 4000


def step_message(row: RunStepRow) -> dict[str, Any]:
    """The whole step as the hub carries it (split into frames only when sent)."""
    return {
        "type": "step",
        "run_id": str(row.run_id),
        "agent": row.agent,
        "step": row.step,
        "at": utc_text(row.at),
        "duration_ms": row.duration_ms,
        "text": row.text,
        "tool_calls": row.tool_calls,
    }


def cut_marker(shown: int, total: int) -> str:
    return f" … [cut: {shown:,} of {total:,} characters shown]"


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + cut_marker(limit, len(text))


def _shortened_arguments(arguments: dict[str, Any]) -> dict[str, Any]:
    """Each argument kept when short; a long one as a prefix of its text (or of its JSON) and a marker."""
    shortened: dict[str, Any] = {}
    for key, value in arguments.items():
        text = value if isinstance(value, str) else json.dumps(value)
        shortened[key] = value if len(text) <= ARGUMENT_PREVIEW else _cut(text, ARGUMENT_PREVIEW)
    return shortened


def fit_call(call: dict[str, Any]) -> dict[str, Any]:
    """The tool call as it is when its JSON fits a frame, else with its arguments, error and result shortened."""
    if len(json.dumps(call)) <= PIECE_BYTES:
        return call
    fitted = {**call, "arguments": _shortened_arguments(call["arguments"]), "error": None}
    if call.get("error") is not None:
        fitted["error"] = _cut(call["error"], ERROR_PREVIEW)
    if len(json.dumps(fitted)) > PIECE_BYTES:
        result: str = call["result"]
        marker = cut_marker(len(result), len(result))
        room = PIECE_BYTES - len(json.dumps({**fitted, "result": ""})) - len(marker)
        cut = fitting_prefix(result, room)
        fitted["result"] = result[:cut] + cut_marker(cut, len(result))
    return fitted


def _pieces(message: dict[str, Any]) -> Iterator[tuple[str, Any, int]]:
    """The step's prose in chunks that fit a frame, then each tool call fitted: (kind, piece, its JSON size)."""
    text: str = message["text"]
    while text:
        cut = fitting_prefix(text, PIECE_BYTES) or 1
        chunk, text = text[:cut], text[cut:]
        yield "text", chunk, len(json.dumps(chunk))
    for call in message["tool_calls"]:
        fitted = fit_call(call)
        yield "call", fitted, len(json.dumps(fitted)) + 2


def step_frames(message: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``step`` frames of a step message, each under the frame limit, numbered ``part`` of ``parts``."""
    header = {k: message[k] for k in ("type", "run_id", "agent", "step", "at", "duration_ms")}
    bodies: list[dict[str, Any]] = []
    body: dict[str, Any] = {"text": "", "tool_calls": []}
    size = 0
    for kind, piece, cost in _pieces(message):
        if size and size + cost > PIECE_BYTES:
            bodies.append(body)
            body, size = {"text": "", "tool_calls": []}, 0
        if kind == "text":
            body["text"] += piece
        else:
            body["tool_calls"].append(piece)
        size += cost
    bodies.append(body)
    return [{**header, "part": i, "parts": len(bodies), **b} for i, b in enumerate(bodies)]
