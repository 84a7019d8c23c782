"""Tool-using runs' transcripts: steps stored once, sent in order per run and agent, replayed exactly after a
reconnect, split into frames the relay takes, and a skipped run's reason on the terminal."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from agentworks_events import AgentRunFailed, AgentRunSkipped, ToolCallRecord
from agentworks_log_stream.terminal import endpoints
from agentworks_log_stream.terminal.frames import MAX_FRAME_BYTES
from agentworks_log_stream.terminal.transcript import step_frames
from websockets.asyncio.client import connect

from .conftest import Terminals


def call(number: int, result: str = "ok", **arguments: Any) -> ToolCallRecord:
    return ToolCallRecord(
        call_id=f"call-{number}", tool="read_document", arguments=arguments or {"name": "prd"}, ok=True, result=result
    )


def joined_steps(frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The steps the ``step`` frames add up to, in the order their last part arrived (as a client joins them)."""
    parts: dict[tuple[str, int], dict[int, dict[str, Any]]] = {}
    steps: list[dict[str, Any]] = []
    for frame in frames:
        key = (frame["run_id"], frame["step"])
        parts.setdefault(key, {})[frame["part"]] = frame
        if len(parts[key]) == frame["parts"]:
            ordered = [parts[key][i] for i in range(frame["parts"])]
            steps.append(
                {
                    "run_id": frame["run_id"],
                    "agent": frame["agent"],
                    "step": frame["step"],
                    "text": "".join(p["text"] for p in ordered),
                    "tool_calls": [c for p in ordered for c in p["tool_calls"]],
                }
            )
    return steps


async def _frames(terminals: Terminals, query: str, until: Any) -> tuple[list[dict[str, Any]], list[int]]:
    """Frames of the terminal (and each one's size on the wire) until ``until(frames)`` holds."""
    frames: list[dict[str, Any]] = []
    sizes: list[int] = []
    async with connect(
        terminals.ws_url(query), additional_headers=terminals.gateway_headers(terminals.logs.url), max_size=None
    ) as socket:
        while not until(frames):
            raw = await asyncio.wait_for(socket.recv(), 10)
            sizes.append(len(raw))
            frames.append(json.loads(raw))
    return frames, sizes


def _steps_of(frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return joined_steps([f for f in frames if f["type"] == "step"])


def _has_steps(count: int) -> Any:
    return lambda frames: len(_steps_of(frames)) >= count


def test_steps_arrive_in_order_whatever_the_delivery_order(terminals: Terminals) -> None:
    run = uuid.uuid4()
    terminals.push(terminals.started(run))
    terminals.push(terminals.step(run, 2, calls=(call(2),)))

    async def scenario() -> list[int]:
        frames: list[dict[str, Any]] = []
        async with connect(
            terminals.ws_url(), additional_headers=terminals.gateway_headers(terminals.logs.url)
        ) as socket:
            await asyncio.to_thread(terminals.push, terminals.step(run, 3))
            await asyncio.to_thread(terminals.push, terminals.step(run, 1, calls=(call(1),)))
            while len(_steps_of(frames)) < 3:
                frames.append(json.loads(await asyncio.wait_for(socket.recv(), 10)))
        return [s["step"] for s in _steps_of(frames)]

    assert asyncio.run(scenario()) == [1, 2, 3]


def test_a_duplicate_step_changes_nothing(terminals: Terminals) -> None:
    run = uuid.uuid4()
    terminals.push(terminals.started(run))
    first = terminals.step(run, 1, calls=(call(1),))
    terminals.push(first)
    terminals.push(first)  # redelivered
    terminals.push(first.model_copy(update={"id": uuid.uuid4(), "text": "another text"}))  # republished otherwise
    terminals.push(terminals.step(run, 2))

    frames, _ = asyncio.run(_frames(terminals, "", lambda f: any(x["type"] == "status" for x in f)))
    assert [(s["step"], s["text"]) for s in _steps_of(frames)] == [(1, "Step **1** of prd."), (2, "Step **2** of prd.")]
    page = httpx.get(
        f"{terminals.logs.url}/api/cards/{terminals.ids['card']}/runs/{run}/transcript",
        headers=terminals.gateway_headers(terminals.logs.url),
    ).json()
    assert [(s["step"], s["text"]) for s in page["items"]] == [(1, "Step **1** of prd."), (2, "Step **2** of prd.")]
    assert page["items"][0]["tool_calls"][0]["call_id"] == "call-1"


def test_replay_after_a_reconnect_is_exact(terminals: Terminals) -> None:
    run = uuid.uuid4()
    terminals.push(terminals.started(run))
    for step in (1, 2):
        terminals.push(terminals.step(run, step, calls=(call(step, result=f"result {step}"),)))

    before, _ = asyncio.run(_frames(terminals, "", _has_steps(2)))
    for step in (3, 4):
        terminals.push(terminals.step(run, step, calls=(call(step, result=f"result {step}"),)))
    resumed, _ = asyncio.run(_frames(terminals, f"?steps={run}:2", _has_steps(2)))
    whole, _ = asyncio.run(_frames(terminals, "", _has_steps(4)))

    assert [s["step"] for s in _steps_of(resumed)] == [3, 4]
    assert _steps_of(before) + _steps_of(resumed) == _steps_of(whole)
    assert [s["tool_calls"][0]["result"] for s in _steps_of(whole)] == [f"result {n}" for n in (1, 2, 3, 4)]


def test_a_big_step_is_split_into_frames_under_the_limit_and_joins_back_whole(terminals: Terminals) -> None:
    run = uuid.uuid4()
    terminals.push(terminals.started(run))
    calls = tuple(call(n, result=('ü€"\n' * 2000)[: 8000 - n]) for n in range(1, 25))
    prose = "## Plan\n\n" + "Ünïcode prose, long. " * 6000
    terminals.push(terminals.step(run, 1, calls=calls, text=prose))

    frames, sizes = asyncio.run(_frames(terminals, "", _has_steps(1)))
    steps = _steps_of(frames)
    assert len([f for f in frames if f["type"] == "step"]) > 2
    assert max(sizes) <= MAX_FRAME_BYTES
    assert steps[0]["text"] == prose
    assert [c["result"] for c in steps[0]["tool_calls"]] == [c.result for c in calls]


def test_a_call_too_big_for_a_frame_shows_its_arguments_shortened() -> None:
    message = {
        "type": "step",
        "run_id": str(uuid.uuid4()),
        "agent": "prd",
        "step": 1,
        "at": datetime.now(UTC).isoformat(),
        "duration_ms": 1,
        "text": "",
        "tool_calls": [call(1, result="x" * 8000, name="prd", content="€" * 200_000).model_dump(mode="json")],
    }
    frames = step_frames(message)
    assert all(len(json.dumps(frame)) <= MAX_FRAME_BYTES for frame in frames)
    shown = joined_steps(frames)[0]["tool_calls"][0]
    assert shown["arguments"]["name"] == "prd"
    assert shown["arguments"]["content"].endswith("[cut: 2,000 of 200,000 characters shown]")
    assert shown["result"] == "x" * 8000


def test_two_agents_of_one_lane_each_have_their_own_steps(terminals: Terminals) -> None:
    prd_run, design_run = uuid.uuid4(), uuid.uuid4()
    terminals.push(terminals.started(prd_run))
    terminals.push(terminals.step(prd_run, 1))
    terminals.push(terminals.step(design_run, 1, agent="designer"))
    terminals.push(terminals.step(prd_run, 2))

    frames, _ = asyncio.run(_frames(terminals, "", _has_steps(3)))
    by_agent = {(s["agent"], s["run_id"], s["step"]) for s in _steps_of(frames)}
    assert by_agent == {("prd", str(prd_run), 1), ("prd", str(prd_run), 2), ("designer", str(design_run), 1)}


def test_a_skipped_agent_says_why_on_the_terminal(terminals: Terminals) -> None:
    run = uuid.uuid4()
    skipped = AgentRunSkipped(
        workspace_id=terminals.ids["workspace"],
        project_id=terminals.ids["project"],
        run_id=run,
        card_id=terminals.ids["card"],
        agent="designer",
        reason_code="budget_exceeded",
        reason="The workspace's monthly budget is spent.",
    )

    async def live_then_replayed() -> tuple[dict[str, Any], list[dict[str, Any]]]:
        async with connect(
            terminals.ws_url(), additional_headers=terminals.gateway_headers(terminals.logs.url)
        ) as socket:
            await asyncio.to_thread(terminals.push, skipped)
            await asyncio.to_thread(terminals.push, skipped)  # a duplicate announces nothing more
            live = json.loads(await asyncio.wait_for(socket.recv(), 10))
        replayed, _ = await _frames(terminals, "", lambda f: any(x["type"] == "status" for x in f))
        return live, replayed

    live, replayed = asyncio.run(live_then_replayed())
    expected = {"status": "skipped", "agent": "designer", "reason_code": "budget_exceeded", "reason": skipped.reason}
    assert {k: live[k] for k in expected} == expected
    assert {k: replayed[-1][k] for k in expected} == expected


def _status_of(terminals: Terminals, run: uuid.UUID) -> dict[str, Any]:
    """The run's status as a terminal opened now replays it."""

    def has_it(frames: list[dict[str, Any]]) -> bool:
        return any(f["type"] == "status" and f["run_id"] == str(run) for f in frames)

    frames, _ = asyncio.run(_frames(terminals, "", has_it))
    return next(f for f in frames if f["type"] == "status" and f["run_id"] == str(run))


def test_a_run_skipped_at_its_first_model_call_says_why_and_its_lines_are_archived(terminals: Terminals) -> None:
    """The run had started (a taken-over attempt wrote a line) when the router refused its first model call."""
    run = uuid.uuid4()
    terminals.push(terminals.started(run))
    terminals.push(terminals.batch(run, [1]))
    why = "openai keeps failing for gpt-5, so the provider router stopped calling it for a while."
    ids = terminals.ids
    skipped = AgentRunSkipped(
        workspace_id=ids["workspace"], project_id=ids["project"], run_id=run, card_id=ids["card"], agent="prd",
        reason_code="circuit_open", reason=why, last_seq=1,
    )  # fmt: skip
    terminals.push(skipped)
    status = _status_of(terminals, run)
    assert {k: status[k] for k in ("status", "reason_code", "reason", "last_seq")} == (
        {"status": "skipped", "reason_code": "circuit_open", "reason": why, "last_seq": 1}
    )
    archive = terminals.blobs_dir / f"workspaces/{ids['workspace']}/projects/{ids['project']}/runs/{run}.ndjson.gz"  # type: ignore[attr-defined]
    assert archive.exists()


def test_a_refusal_still_in_flight_and_a_failure_say_why_on_the_terminal(terminals: Terminals) -> None:
    ids = terminals.ids
    where = {"workspace_id": ids["workspace"], "project_id": ids["project"], "card_id": ids["card"], "agent": "qa"}
    refused = AgentRunFailed(
        **where, run_id=uuid.uuid4(), reason="The hourly quota is used up.", error_code="quota_exceeded", refused=True
    )
    failed = AgentRunFailed(
        **where,
        run_id=uuid.uuid4(),
        reason="openai keeps failing for gpt-5, so the provider router stopped calling it for a while.",
        error_code="circuit_open",
        last_seq=0,
    )
    terminals.push(refused)
    terminals.push(failed)
    for event, status in ((refused, "refused"), (failed, "failed")):
        shown = _status_of(terminals, event.run_id)
        assert (shown["status"], shown["reason_code"], shown["reason"]) == (status, event.error_code, event.reason)


def test_a_replay_past_a_missing_step_reads_on_and_sends_the_rest_once_it_comes(
    terminals: Terminals, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(endpoints, "STEP_PAGE", 2)  # several pages behind the missing step
    run = uuid.uuid4()
    terminals.push(terminals.started(run))
    for step in range(2, 8):
        terminals.push(terminals.step(run, step))

    async def scenario() -> list[int]:
        frames: list[dict[str, Any]] = []
        async with connect(
            terminals.ws_url(), additional_headers=terminals.gateway_headers(terminals.logs.url)
        ) as socket:
            while not any(f["type"] == "status" for f in frames):  # the replay ends, holding steps 2 to 7 back
                frames.append(json.loads(await asyncio.wait_for(socket.recv(), 10)))
            assert _steps_of(frames) == []
            await asyncio.to_thread(terminals.push, terminals.step(run, 1))
            while len(_steps_of(frames)) < 7:
                frames.append(json.loads(await asyncio.wait_for(socket.recv(), 10)))
        return [s["step"] for s in _steps_of(frames)]

    assert asyncio.run(scenario()) == [1, 2, 3, 4, 5, 6, 7]
