"""A card's terminal as the fleet tests read it: the socket through the gateway, read in the background, each run's
lines and joined transcript steps in arrival order, and the checks that they came in order and replay exactly."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

DEADLINE_SECONDS = 240.0


async def poll(condition: Callable[[], bool], seconds: float = DEADLINE_SECONDS) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the fleet did not get there in time"
        await asyncio.sleep(0.1)


class Terminal:
    """A card's terminal socket read in the background, frames kept in arrival order (heartbeats left out)."""

    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket
        self.frames: list[dict[str, Any]] = []
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for text in self.socket:
                frame = json.loads(text)
                if frame["type"] != "ping":
                    self.frames.append(frame)

    def lines(self, run_id: uuid.UUID) -> list[dict[str, Any]]:
        """The run's lines as received, each as its ``lines`` or ``line`` frame carried it."""
        lines: list[dict[str, Any]] = []
        for frame in self.of(run_id, "lines", "line"):
            lines.extend(frame["lines"] if frame["type"] == "lines" else [_line_of(frame)])
        return lines

    def steps(self, run_id: uuid.UUID) -> list[dict[str, Any]]:
        """The run's steps in the order their first parts arrived, parts joined as the web app joins them."""
        joined: dict[int, dict[str, Any]] = {}
        for frame in self.of(run_id, "step"):
            step = joined.setdefault(frame["step"], {**_step_header(frame), "text": "", "tool_calls": [], "parts": []})
            step["text"] += frame["text"]
            step["tool_calls"] += frame["tool_calls"]
            step["parts"].append((frame["part"], frame["parts"]))
        return list(joined.values())

    def statuses(self, run_id: uuid.UUID) -> list[dict[str, Any]]:
        return self.of(run_id, "status")

    def of(self, run_id: uuid.UUID, *types: str) -> list[dict[str, Any]]:
        return [f for f in self.frames if f["type"] in types and f.get("run_id") == str(run_id)]

    def ended(self, run_id: uuid.UUID) -> bool:
        """The run's final status has come, and every line up to the last seq it names."""
        final = [s for s in self.statuses(run_id) if s["status"] == "completed"]
        return bool(final) and max((line["seq"] for line in self.lines(run_id)), default=0) >= final[-1]["last_seq"]

    def stop(self) -> None:
        self._reader.cancel()


def _line_of(frame: dict[str, Any]) -> dict[str, Any]:
    return {k: frame[k] for k in ("seq", "at", "stream", "text")}


def _step_header(frame: dict[str, Any]) -> dict[str, Any]:
    return {k: frame[k] for k in ("run_id", "agent", "step", "at", "duration_ms")}


@dataclass(frozen=True, slots=True)
class TerminalOpener:
    """Opens a card's terminal through a gateway as a signed-in browser on ``origin`` does."""

    gateway: str
    origin: str
    cookies: Mapping[str, str]

    @contextlib.asynccontextmanager
    async def open(self, card_id: str, query: str = "") -> AsyncIterator[Terminal]:
        url = self.gateway.replace("http", "ws", 1) + f"/api/cards/{card_id}/terminal{query}"
        cookie = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        headers = {"cookie": cookie, "origin": self.origin}
        async with connect(url, additional_headers=headers, open_timeout=60) as socket:
            reader = Terminal(socket)
            try:
                yield reader
            finally:
                reader.stop()

    async def replayed(self, card_id: str, runs: list[uuid.UUID], query: str = "") -> Terminal:
        """What a terminal opened with ``query`` receives of ``runs``: each run's replay ends with its status."""
        async with self.open(card_id, query) as replay:
            await poll(lambda: all(replay.statuses(run) for run in runs))
            return replay


def assert_in_order(live: Terminal, run_id: uuid.UUID, steps: int) -> None:
    """The run's lines dense from 1 and its steps 1 … ``steps``, each once and whole, in order; its last status
    names its last line."""
    lines, received = live.lines(run_id), live.steps(run_id)
    assert [line["seq"] for line in lines] == list(range(1, len(lines) + 1))
    assert [step["step"] for step in received] == list(range(1, steps + 1))
    for step in received:
        assert step["parts"] == [(part, len(step["parts"])) for part in range(len(step["parts"]))]
    assert live.statuses(run_id)[-1]["last_seq"] == lines[-1]["seq"]


async def assert_replays(
    opener: TerminalOpener, card_id: str, live: Terminal, cursors: Mapping[uuid.UUID, int]
) -> None:
    """Reopened, the card's terminal replays what the live one received of each run: all of it, and exactly what
    followed a cursor (for each run, the middle of its lines and the step given in ``cursors``)."""
    runs = list(cursors)
    whole = await opener.replayed(card_id, runs)
    middle = {run: live.lines(run)[len(live.lines(run)) // 2]["seq"] for run in runs}
    after = ",".join(f"{run}:{seq}" for run, seq in middle.items())
    steps = ",".join(f"{run}:{step}" for run, step in cursors.items())
    resumed = await opener.replayed(card_id, runs, f"?after={after}&steps={steps}")
    for run in runs:
        lines, received = live.lines(run), without_parts(live.steps(run))
        assert whole.lines(run) == lines
        assert without_parts(whole.steps(run)) == received
        assert resumed.lines(run) == [line for line in lines if line["seq"] > middle[run]]
        assert without_parts(resumed.steps(run)) == [step for step in received if step["step"] > cursors[run]]
        for replay in (whole, resumed):
            [status] = replay.statuses(run)
            assert (status["status"], status["last_seq"]) == ("completed", lines[-1]["seq"])


def without_parts(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Steps as joined: how a step was split into frames may differ between live and replay."""
    return [{k: v for k, v in step.items() if k != "parts"} for step in steps]
