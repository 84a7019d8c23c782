"""What the history routes answer."""

from __future__ import annotations

from agentworks_events import ToolCallRecord, UtcDateTime
from pydantic import BaseModel


class Line(BaseModel):
    seq: int
    at: UtcDateTime
    stream: str
    text: str


class TranscriptStep(BaseModel):
    """One step of a tool-using run: the model's prose (Markdown) and every tool call it made, with its result."""

    step: int
    at: UtcDateTime
    agent: str
    text: str
    tool_calls: list[ToolCallRecord]
    duration_ms: int


class PruneOut(BaseModel):
    """What a retention sweep deleted."""

    deleted_lines: int
