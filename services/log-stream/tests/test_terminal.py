"""The terminal WebSocket: replay + live + resume is exact, slow clients are cut, strangers refused."""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from typing import Any

import httpx
import pytest
from agentworks_log_stream.state import log_stream_state
from agentworks_log_stream.terminal.archive import Archiver
from agentworks_log_stream.terminal.endpoints import Ordered, live, record_close
from agentworks_log_stream.terminal.hub import Hub
from agentworks_platform.principal import Principal
from agentworks_platform.service_auth import LocalTokenSigner
from agentworks_platform.settings import dev_service_account
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from .conftest import Terminals


def lines_in(message: dict[str, Any]) -> list[dict[str, Any]]:
    """The lines a terminal frame carries: one for ``line``, several for ``lines``, none otherwise."""
    if message["type"] == "line":
        return [message]
    if message["type"] == "lines":
        return [{"type": "line", "run_id": message["run_id"], **line} for line in message["lines"]]
    return []


async def _read_lines(terminals: Terminals, count: int, query: str = "") -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    async with connect(
        terminals.ws_url(query), additional_headers=terminals.gateway_headers(terminals.logs.url), open_timeout=10
    ) as socket:
        while len(seen) < count:
            message = json.loads(await asyncio.wait_for(socket.recv(), 10))
            seen.extend(lines_in(message))
    return seen


def test_history_then_live_lines_in_order_without_gap_or_duplicate(terminals: Terminals) -> None:
    run = uuid.uuid4()
    terminals.push(terminals.started(run))
    terminals.push(terminals.batch(run, [1, 2, 3]))

    async def scenario() -> list[int]:
        socket_headers = terminals.gateway_headers(terminals.logs.url)
        async with connect(terminals.ws_url(), additional_headers=socket_headers) as socket:
            seqs: list[int] = []
            await asyncio.to_thread(terminals.push, terminals.batch(run, [6, 7]))  # early: held back
            await asyncio.to_thread(terminals.push, terminals.batch(run, [3, 4, 5]))  # overlaps the replay
            while len(seqs) < 7:
                message = json.loads(await asyncio.wait_for(socket.recv(), 10))
                seqs.extend(line["seq"] for line in lines_in(message))
            return seqs

    assert asyncio.run(scenario()) == [1, 2, 3, 4, 5, 6, 7]


def test_a_hole_in_the_store_holds_later_lines_back_without_stalling_the_catch_up(
    terminals: Terminals, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("agentworks_log_stream.terminal.endpoints.REPLAY_PAGE", 3)
    reads: list[int] = []
    read_page = Archiver.lines

    async def counted(archiver: Archiver, run: Any, after: int, limit: int) -> list[dict[str, Any]]:
        reads.append(after)
        if len(reads) > 40:  # the same page again and again: the terminal would never hear anything else
            raise RuntimeError("the store is read in a loop")
        return await read_page(archiver, run, after, limit)

    monkeypatch.setattr(Archiver, "lines", counted)
    run = uuid.uuid4()
    terminals.push(terminals.started(run))
    terminals.push(terminals.batch(run, [1]))
    terminals.push(terminals.batch(run, list(range(3, 11))))  # line 2 is not stored yet: more than a page after it

    async def scenario() -> list[dict[str, Any]]:
        socket_headers = terminals.gateway_headers(terminals.logs.url)
        async with connect(terminals.ws_url(), additional_headers=socket_headers) as socket:
            frames = [json.loads(await asyncio.wait_for(socket.recv(), 10)) for _ in range(2)]
            await asyncio.to_thread(terminals.push, terminals.batch(run, [2]))  # the hole fills
            while sum(len(lines_in(frame)) for frame in frames) < 10:
                frames.append(json.loads(await asyncio.wait_for(socket.recv(), 10)))
            return frames

    frames = asyncio.run(scenario())
    assert [frame["type"] for frame in frames[:2]] == ["lines", "status"]  # the replay ended, line 1 sent
    assert [line["seq"] for frame in frames for line in lines_in(frame)] == list(range(1, 11))
    assert reads[:4] == [0, 4, 7, 10]  # each page read once, up to the end of what is stored


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    total=st.integers(min_value=1, max_value=20),
    batch=st.integers(min_value=1, max_value=6),
    disconnects=st.lists(st.integers(min_value=1, max_value=20), max_size=3),
    seed=st.integers(0, 10_000),
)
def test_any_delivery_order_and_any_disconnects_show_each_line_once_in_order(
    terminals: Terminals, total: int, batch: int, disconnects: list[int], seed: int
) -> None:
    run = uuid.uuid4()
    terminals.push(terminals.started(run))
    batches = [list(range(start, min(start + batch, total + 1))) for start in range(1, total + 1, batch)]
    deliveries = [terminals.batch(run, seqs) for seqs in batches]
    deliveries += random.Random(seed).sample(deliveries, k=len(deliveries) // 2)  # duplicates, same event ids
    random.Random(seed).shuffle(deliveries)
    half = len(deliveries) // 2
    for event in deliveries[:half]:
        terminals.push(event)

    async def client() -> list[int]:
        seen: list[int] = []
        cut_points = sorted(p for p in disconnects if p < total)
        after = ""
        pushed_rest = False
        while len(seen) < total:
            goal = cut_points.pop(0) if cut_points else total
            async with connect(
                terminals.ws_url(f"?run_id={run}&after={after}"),
                additional_headers=terminals.gateway_headers(terminals.logs.url),
            ) as socket:
                if not pushed_rest:
                    for event in deliveries[half:]:
                        await asyncio.to_thread(terminals.push, event)
                    pushed_rest = True
                while len(seen) < goal:
                    message = json.loads(await asyncio.wait_for(socket.recv(), 10))
                    seen.extend(line["seq"] for line in lines_in(message))
            after = f"{run}:{seen[-1]}" if seen else ""
        return seen

    assert asyncio.run(client()) == list(range(1, total + 1))


class FakeSocket:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.closed: tuple[int, str] | None = None

    async def send_json(self, message: dict[str, Any]) -> None:
        self.sent.append(message)

    async def send_text(self, text: str) -> None:
        self.sent.append(json.loads(text))

    async def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)

    async def receive(self) -> dict[str, Any]:
        await asyncio.Event().wait()  # a client that never speaks and never leaves
        raise AssertionError("unreachable")


async def test_a_full_queue_cuts_only_that_client_with_4008_and_a_resume_cursor() -> None:
    hub, card, run = Hub(queue_size=3), uuid.uuid4(), uuid.uuid4()
    slow, fast = hub.subscribe(card), hub.subscribe(card)
    fast_socket, slow_socket = FakeSocket(), FakeSocket()
    ordered = Ordered({})
    fast_task = asyncio.create_task(live(fast_socket, fast, None, Ordered({})))  # type: ignore[arg-type]
    for seq in range(1, 11):
        hub.publish(card, {"type": "line", "run_id": str(run), "seq": seq, "text": "x"})
        await asyncio.sleep(0.01)  # the fast client keeps up; the slow one never reads
    assert slow.overflowed
    assert not fast.overflowed
    ordered.sent[run] = 2
    assert await live(slow_socket, slow, None, ordered) == 4008  # type: ignore[arg-type]
    assert slow_socket.closed is not None
    assert slow_socket.closed[0] == 4008
    assert f"after={run}:2" in slow_socket.closed[1]
    while len(fast_socket.sent) < 10:  # noqa: ASYNC110 - the fake socket has no event to wait on
        await asyncio.sleep(0.01)
    fast_task.cancel()
    assert [m["seq"] for m in fast_socket.sent] == list(range(1, 11))


async def test_a_client_waiting_for_frames_costs_no_task_per_frame() -> None:
    hub, card, run = Hub(), uuid.uuid4(), uuid.uuid4()
    subscriber, socket = hub.subscribe(card), FakeSocket()
    loop = asyncio.get_running_loop()
    created: list[Any] = []

    def counting_factory(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
        created.append(coro)
        return asyncio.Task(coro, loop=loop, **kwargs)

    loop.set_task_factory(counting_factory)  # type: ignore[arg-type]
    try:
        task = asyncio.create_task(live(socket, subscriber, None, Ordered({})))  # type: ignore[arg-type]
        for seq in range(1, 51):  # one frame at a time: the client waits before each
            hub.publish(card, {"type": "line", "run_id": str(run), "seq": seq, "text": "x"})
            while len(socket.sent) < seq:  # noqa: ASYNC110 - the fake socket has no event to wait on
                await asyncio.sleep(0)
    finally:
        loop.set_task_factory(None)
    task.cancel()
    assert [m["seq"] for m in socket.sent] == list(range(1, 51))
    assert len(created) <= 2  # the client's own task and its departure watcher, whatever the number of frames


async def test_a_quiet_client_hears_a_ping_each_heartbeat(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("agentworks_log_stream.terminal.endpoints.HEARTBEAT_SECONDS", 0.05)
    hub, card = Hub(), uuid.uuid4()
    subscriber, socket = hub.subscribe(card), FakeSocket()
    task = asyncio.create_task(live(socket, subscriber, None, Ordered({})))  # type: ignore[arg-type]
    while len(socket.sent) < 2:  # noqa: ASYNC110 - the fake socket has no event to wait on
        await asyncio.sleep(0.01)
    task.cancel()
    assert socket.sent[:2] == [{"type": "ping"}, {"type": "ping"}]


@pytest.mark.parametrize(("code", "abnormal"), [(1000, False), (1001, False), (1006, True), (4008, True)])
def test_every_closed_socket_is_logged_with_whether_it_ended_abnormally(
    caplog: pytest.LogCaptureFixture, code: int, abnormal: bool
) -> None:
    with caplog.at_level("INFO"):
        record_close("terminal", code)
    (record,) = [r for r in caplog.records if r.getMessage() == "websocket.closed"]
    assert record.fields == {"channel": "terminal", "code": code, "abnormal": abnormal}


async def test_batched_lines_pass_whole_when_they_continue_the_run_and_split_when_they_overlap() -> None:
    hub, card, run = Hub(), uuid.uuid4(), uuid.uuid4()
    subscriber, socket = hub.subscribe(card), FakeSocket()
    ordered = Ordered({run: 2})  # the replay already sent lines 1-2

    def batch(*seqs: int) -> dict[str, Any]:
        lines = [{"seq": n, "at": "t", "stream": "stdout", "text": f"l{n}"} for n in seqs]
        return {"type": "lines", "run_id": str(run), "lines": lines}

    for frame in (batch(3, 4), batch(4, 5, 6), batch(9, 10), batch(7, 8)):
        hub.publish(card, frame)
    task = asyncio.create_task(live(socket, subscriber, None, ordered))  # type: ignore[arg-type]
    while sum(len(lines_in(m)) for m in socket.sent) < 8:  # noqa: ASYNC110 - the fake socket has no event
        await asyncio.sleep(0.01)
    task.cancel()
    assert [m["type"] for m in socket.sent][:1] == ["lines"]  # 3-4 continue the run: sent as one frame
    assert [line["seq"] for m in socket.sent for line in lines_in(m)] == list(range(3, 11))


async def test_batches_queued_for_a_client_go_out_joined_in_one_frame_per_run() -> None:
    hub, card, run, other = Hub(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    subscriber, socket = hub.subscribe(card), FakeSocket()

    def batch(run_id: uuid.UUID, *seqs: int) -> dict[str, Any]:
        lines = [{"seq": n, "at": "t", "stream": "stdout", "text": f"l{n}"} for n in seqs]
        return {"type": "lines", "run_id": str(run_id), "lines": lines}

    for frame in (batch(run, 1, 2, 3), batch(run, 4, 5), batch(other, 1), batch(other, 2), batch(run, 6)):
        hub.publish(card, frame)
    task = asyncio.create_task(live(socket, subscriber, None, Ordered({})))  # type: ignore[arg-type]
    while sum(len(lines_in(m)) for m in socket.sent) < 8:  # noqa: ASYNC110 - the fake socket has no event
        await asyncio.sleep(0.01)
    task.cancel()
    assert [(m["run_id"] == str(run), [x["seq"] for x in m["lines"]]) for m in socket.sent] == [
        (True, [1, 2, 3, 4, 5]),
        (False, [1, 2]),
        (True, [6]),
    ]


def test_a_client_that_leaves_is_let_go_at_once_not_at_the_next_heartbeat(terminals: Terminals) -> None:
    hub = log_stream_state(terminals.logs.server.config.app.state.ctx).hub
    card = uuid.UUID(str(terminals.ids["card"]))

    async def scenario() -> float:
        async with connect(terminals.ws_url(), additional_headers=terminals.gateway_headers(terminals.logs.url)):
            while hub.count(card) == 0:  # noqa: ASYNC110 - the hub lives in the server's thread
                await asyncio.sleep(0.02)
        left = time.monotonic()
        while hub.count(card) and time.monotonic() - left < 10:  # noqa: ASYNC110
            await asyncio.sleep(0.02)
        return time.monotonic() - left

    assert asyncio.run(scenario()) < 5  # the heartbeat is 15 s; a departure is seen at once
    assert hub.count(card) == 0


def test_strangers_and_forged_tokens_are_refused(terminals: Terminals) -> None:
    stranger = Principal(uuid.uuid4(), "stranger@example.com", None, "r", "")

    async def close_code(headers: dict[str, str]) -> int | None:
        try:
            async with connect(terminals.ws_url(), additional_headers=headers) as socket:
                await asyncio.wait_for(socket.recv(), 10)
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None
        except Exception as exc:
            return getattr(getattr(exc, "response", None), "status_code", -1)
        return None

    other = terminals.gateway_headers(terminals.logs.url, stranger)
    forged = {**terminals.gateway_headers(terminals.logs.url), "authorization": "Bearer forged"}
    foreign_key = {**terminals.gateway_headers(terminals.logs.url), "x-aw-key-workspace": str(uuid.uuid4())}
    codes = [asyncio.run(close_code(h)) for h in (other, forged, foreign_key)]
    assert codes[0] in (4404, 403)
    assert codes[1] in (4401, 403)
    assert codes[2] in (4404, 403)


def test_history_api_pages_and_downloads(terminals: Terminals) -> None:
    run = uuid.uuid4()
    terminals.push(terminals.started(run))
    terminals.push(terminals.batch(run, list(range(1, 8))))
    base = f"{terminals.logs.url}/api/cards/{terminals.ids['card']}/runs/{run}/logs"
    headers = terminals.gateway_headers(terminals.logs.url)
    first = httpx.get(f"{base}?limit=5", headers=headers).json()
    assert [line["seq"] for line in first["items"]] == [1, 2, 3, 4, 5]
    rest = httpx.get(f"{base}?limit=5&cursor={first['next_cursor']}", headers=headers).json()
    assert [line["seq"] for line in rest["items"]] == [6, 7]
    assert rest["next_cursor"] is None
    download = httpx.get(f"{base}/download", headers=headers)
    assert [json.loads(line)["seq"] for line in download.text.splitlines()] == list(range(1, 8))
    stranger = Principal(uuid.uuid4(), "stranger@example.com", None, "r", "")
    refused = httpx.get(base, headers=terminals.gateway_headers(terminals.logs.url, stranger))
    assert refused.status_code == 404


def test_clients_of_every_instance_receive_every_line(terminals: Terminals, backend: str) -> None:
    if backend != "postgres":
        pytest.skip("instances share lines through PostgreSQL LISTEN/NOTIFY; SQLite fleets are single-instance")
    from agentworks_localstack.threads import free_port

    port = free_port()
    second = terminals.instance(port)  # type: ignore[attr-defined]
    run = uuid.uuid4()
    terminals.push(terminals.started(run))

    async def scenario() -> tuple[list[int], list[int]]:
        headers = terminals.gateway_headers(terminals.logs.url)
        on_first = terminals.ws_url()
        on_second = on_first.replace(f":{terminals.logs.port}/", f":{port}/")
        second_headers = terminals.gateway_headers(f"http://127.0.0.1:{port}")
        async with (
            connect(on_first, additional_headers=headers) as a,
            connect(on_second, additional_headers=second_headers) as b,
        ):
            await asyncio.sleep(0.3)
            for start in (1, 4, 7):
                await asyncio.to_thread(terminals.push, terminals.batch(run, [start, start + 1, start + 2]))
            seen: tuple[list[int], list[int]] = ([], [])
            for socket, got in ((a, seen[0]), (b, seen[1])):
                while len(got) < 9:
                    message = json.loads(await asyncio.wait_for(socket.recv(), 10))
                    got.extend(line["seq"] for line in lines_in(message))
            return seen

    try:
        first, other = asyncio.run(scenario())
    finally:
        second.stop()
    assert first == other == list(range(1, 10))


def test_live_board_channel_relays_card_changes_and_run_status(terminals: Terminals) -> None:
    from agentworks_events import CardMoved, CardSnapshot

    ids = terminals.ids
    lane_a, lane_b = uuid.uuid4(), uuid.uuid4()
    moved = CardMoved(
        workspace_id=ids["workspace"],
        project_id=ids["project"],
        card_id=ids["card"],
        board_id=ids["board"],
        from_lane_id=lane_a,
        from_lane_number=0,
        to_lane_id=lane_b,
        to_lane_number=1,
        from_position=0,
        to_position=0,
        card=CardSnapshot(
            card_id=ids["card"], board_id=ids["board"], lane_id=lane_b, lane_number=1, title="Checkout", position=0
        ),
    )
    url = f"ws://127.0.0.1:{terminals.logs.port}/api/boards/{ids['board']}/events"

    async def scenario() -> list[dict[str, Any]]:
        async with connect(url, additional_headers=terminals.gateway_headers(terminals.logs.url)) as board:
            await asyncio.sleep(0.2)
            await asyncio.to_thread(terminals.push, moved, "log-stream-card-events")
            await asyncio.to_thread(terminals.push, terminals.started(uuid.uuid4()))
            messages: list[dict[str, Any]] = []
            while len(messages) < 2:
                message = json.loads(await asyncio.wait_for(board.recv(), 10))
                if message["type"] != "ping":
                    messages.append(message)
            return messages

    card_message, status = asyncio.run(scenario())
    assert card_message["type"] == "card"
    assert card_message["event"]["type"] == "card.moved"
    assert card_message["event"]["to_lane_number"] == 1
    assert (status["type"], status["status"], status["card_id"]) == ("status", "running", str(ids["card"]))


def test_ended_runs_are_archived_and_read_back_after_pruning(terminals: Terminals) -> None:
    import gzip

    from agentworks_events import AgentRunCompleted, RunArtifacts, RunTokens

    ids, run = terminals.ids, uuid.uuid4()
    terminals.push(terminals.started(run))
    terminals.push(terminals.batch(run, [4, 5]))
    completed = AgentRunCompleted(
        workspace_id=ids["workspace"],
        project_id=ids["project"],
        run_id=run,
        card_id=ids["card"],
        agent="prd",
        provider="offline",
        model="offline-small",
        tokens=RunTokens(),
        cost=0,
        price=0,
        duration_ms=1,
        last_seq=5,  # type: ignore[arg-type]
        artifacts=RunArtifacts(),
    )
    terminals.push(completed)
    archive = terminals.blobs_dir / f"workspaces/{ids['workspace']}/projects/{ids['project']}/runs/{run}.ndjson.gz"  # type: ignore[attr-defined]
    assert not archive.exists()  # lines 1-3 have not arrived yet
    terminals.push(terminals.batch(run, [1, 2, 3]))
    assert [json.loads(line)["seq"] for line in gzip.decompress(archive.read_bytes()).splitlines()] == [1, 2, 3, 4, 5]

    headers = terminals.gateway_headers(terminals.logs.url)
    prune = f"{terminals.logs.url}/internal/retention/prune"
    assert httpx.post(prune, headers=headers).status_code == 403
    scheduler = LocalTokenSigner(terminals.key, dev_service_account("scheduler")).sign(terminals.logs.url)
    pruned = httpx.post(prune, headers={"authorization": f"Bearer {scheduler}"}).json()
    assert pruned["deleted_lines"] == 5
    base = f"{terminals.logs.url}/api/cards/{ids['card']}/runs/{run}/logs"
    page = httpx.get(f"{base}?limit=3", headers=headers).json()
    assert [line["seq"] for line in page["items"]] == [1, 2, 3]
    rest = httpx.get(f"{base}?cursor={page['next_cursor']}", headers=headers).json()
    assert [line["seq"] for line in rest["items"]] == [4, 5]
    replayed = asyncio.run(_read_lines(terminals, 5, f"?run_id={run}"))
    assert [m["seq"] for m in replayed] == [1, 2, 3, 4, 5]
