"""Fan-out that never loses or stalls: bounded notifications, frames sized for the gateway's relay, gaps filled
from the store, and a listener that survives any error and resyncs its clients."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import sqlalchemy.exc
from agentworks_events import AgentRunLog, CardCreated, CardSnapshot, LogLine
from agentworks_gateway.app import create_app as create_gateway
from agentworks_gateway.config import GatewaySettings
from agentworks_gateway.models import MIGRATIONS as GATEWAY_MIGRATIONS
from agentworks_gateway.websockets_relay import MAX_MESSAGE_BYTES
from agentworks_localstack.threads import AppThread, free_port
from agentworks_log_stream.models import MIGRATIONS, RunLog
from agentworks_log_stream.state import log_stream_state
from agentworks_log_stream.terminal import repository
from agentworks_log_stream.terminal.endpoints import GAP_SECONDS, Ordered, live
from agentworks_log_stream.terminal.fanout import PROBE, Fanout
from agentworks_log_stream.terminal.frames import MAX_FRAME_BYTES, fit_board_message, lines_frames
from agentworks_log_stream.terminal.hub import Hub
from agentworks_platform.db import Database
from sqlalchemy.engine import make_url
from websockets.asyncio.client import ClientConnection, connect

from .conftest import Terminals
from .test_terminal import FakeSocket, lines_in

ORIGIN = "http://localhost:8080"
RELAY_LIMIT = MAX_MESSAGE_BYTES * 2  # what the gateway accepts from log-stream before closing with 1009


def test_the_frame_limit_leaves_room_under_the_gateways_relay_limit() -> None:
    assert MAX_FRAME_BYTES < RELAY_LIMIT


def test_any_batch_is_split_into_frames_under_the_limit_and_overlong_lines_are_cut_with_a_marker() -> None:
    at = "2026-12-06T10:00:00.000000Z"
    lines = [{"seq": n, "at": at, "stream": "stdout", "text": f"{n} " + "x" * 200} for n in range(1, 5001)]
    lines += [{"seq": 5000 + n, "at": at, "stream": "stdout", "text": 'é"' * 60_000} for n in range(1, 4)]
    frames = list(lines_frames(str(uuid.uuid4()), lines))
    assert all(len(json.dumps(frame)) <= MAX_FRAME_BYTES for frame in frames)
    sent = [line for frame in frames for line in frame["lines"]]
    assert [line["seq"] for line in sent] == list(range(1, 5004))
    assert sent[0]["text"] == lines[0]["text"]
    assert all("line cut" in line["text"] and line["text"].startswith('é"é"') for line in sent[5000:])


def test_a_card_event_too_big_for_a_frame_loses_its_description_and_then_becomes_a_resync() -> None:
    card = {"card_id": "c", "title": "t", "description": "d" * 200_000}
    slim = fit_board_message({"type": "card", "event": {"type": "card.created", "card": card}})
    assert slim["partial"] is True
    assert slim["event"]["card"] == {"card_id": "c", "title": "t"}
    titled = {**card, "title": "t" * 200_000}
    assert fit_board_message({"type": "card", "event": {"type": "card.created", "card": titled}}) == {"type": "resync"}
    small = {"type": "card", "event": {"type": "card.created", "card": {**card, "description": "d"}}}
    assert fit_board_message(small) is small


async def test_joined_live_batches_stay_under_the_frame_limit() -> None:
    hub, card, run = Hub(), uuid.uuid4(), uuid.uuid4()
    subscriber, socket = hub.subscribe(card), FakeSocket()
    for seq in range(1, 41):  # 40 queued batches of 20 KB would join into one 800 KB frame
        hub.publish(card, {"type": "lines", "run_id": str(run), "lines": [{"seq": seq, "text": "x" * 20_000}]})
    texts: list[str] = []
    socket.send_text = _recording(texts)  # type: ignore[method-assign]
    task = asyncio.create_task(live(socket, subscriber, None, Ordered({})))  # type: ignore[arg-type]
    while sum(len(lines_in(json.loads(t))) for t in texts) < 40:  # noqa: ASYNC110 - the fake socket has no event
        await asyncio.sleep(0.01)
    task.cancel()
    assert len(texts) > 1
    assert all(len(text) <= MAX_FRAME_BYTES for text in texts)
    assert [line["seq"] for t in texts for line in lines_in(json.loads(t))] == list(range(1, 41))


async def test_a_long_line_held_back_from_the_store_goes_out_cut_to_a_frame() -> None:
    hub, card, run = Hub(), uuid.uuid4(), uuid.uuid4()
    subscriber, socket = hub.subscribe(card), FakeSocket()
    ordered = Ordered({})
    stored = {"type": "line", "run_id": str(run), "seq": 2, "at": "t", "stream": "stdout", "text": "y" * 100_000}
    assert ordered.offer(stored) == []  # line 2 came from the store before line 1: held back as stored
    [first] = lines_frames(str(run), [{"seq": 1, "at": "t", "stream": "stdout", "text": "x"}])
    hub.publish(card, first)
    texts: list[str] = []
    socket.send_text = _recording(texts)  # type: ignore[method-assign]
    task = asyncio.create_task(live(socket, subscriber, None, ordered))  # type: ignore[arg-type]
    while sum(len(lines_in(json.loads(t))) for t in texts) < 2:  # noqa: ASYNC110 - the fake socket has no event
        await asyncio.sleep(0.01)
    task.cancel()
    assert all(len(text) <= MAX_FRAME_BYTES for text in texts)
    [line_2] = [line for t in texts for line in lines_in(json.loads(t)) if line["seq"] == 2]
    assert line_2["text"].startswith("y" * 1000)
    assert "[line cut:" in line_2["text"]


def _recording(texts: list[str]) -> Callable[[str], Any]:
    async def send_text(text: str) -> None:
        texts.append(text)

    return send_text


async def test_a_gap_that_stays_open_is_filled_from_the_store(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("agentworks_log_stream.terminal.endpoints.GAP_SECONDS", 0.05)
    hub, card, run = Hub(), uuid.uuid4(), uuid.uuid4()
    subscriber, socket = hub.subscribe(card), FakeSocket()
    ordered = Ordered({})
    catch_ups: list[float] = []

    async def from_store() -> None:  # the store has line 1, whose notification never came
        catch_ups.append(time.monotonic())
        for item in ordered.offer({"type": "line", "run_id": str(run), "seq": 1, "text": "one"}):
            await socket.send_json(item if isinstance(item, dict) else item.message)

    task = asyncio.create_task(live(socket, subscriber, None, ordered, from_store))  # type: ignore[arg-type]
    hub.publish(card, {"type": "lines", "run_id": str(run), "lines": [{"seq": 2, "text": "two"}]})
    while len(socket.sent) < 2:  # noqa: ASYNC110 - the fake socket has no event to wait on
        await asyncio.sleep(0.01)
    task.cancel()
    assert [line["seq"] for m in socket.sent for line in lines_in(m)] == [1, 2]
    assert len(catch_ups) == 1


async def test_a_run_that_ended_past_the_last_line_sent_is_caught_up_from_the_store() -> None:
    now = [0.0]
    hub, card, run = Hub(), uuid.uuid4(), uuid.uuid4()
    subscriber, socket = hub.subscribe(card), FakeSocket()
    ordered = Ordered({run: 1}, clock=lambda: now[0])
    caught_up = asyncio.Event()

    async def from_store() -> None:  # the store has lines 2 and 3, whose notification never came
        for seq in (2, 3):
            ordered.offer({"type": "line", "run_id": str(run), "seq": seq, "text": f"line {seq}"})
        caught_up.set()

    task = asyncio.create_task(live(socket, subscriber, None, ordered, from_store))  # type: ignore[arg-type]
    ended = {"type": "status", "run_id": str(run), "agent": "prd", "status": "completed", "last_seq": 3}
    hub.publish(card, ended)  # no line after the missing ones will ever come to show the gap
    while not socket.sent:  # noqa: ASYNC110 - the fake socket has no event to wait on
        await asyncio.sleep(0)
    now[0] += GAP_SECONDS
    other_run = {"type": "status", "run_id": str(uuid.uuid4()), "agent": "qa", "status": "running", "last_seq": None}
    hub.publish(card, other_run)  # any frame wakes the terminal before its own timer
    await asyncio.wait_for(caught_up.wait(), 5)
    task.cancel()
    assert socket.sent[0] == ended
    assert ordered.seconds_to_gap() is None  # the gap closed with the run's last line


async def test_a_resync_makes_a_terminal_catch_up_and_reaches_a_board_as_it_is() -> None:
    hub, card, board = Hub(), uuid.uuid4(), uuid.uuid4()
    terminal, terminal_socket = hub.subscribe(card), FakeSocket()
    board_subscriber, board_socket = hub.subscribe(board), FakeSocket()
    caught_up = asyncio.Event()

    async def catch_up() -> None:
        caught_up.set()

    tasks = [
        asyncio.create_task(live(terminal_socket, terminal, None, Ordered({}), catch_up)),  # type: ignore[arg-type]
        asyncio.create_task(live(board_socket, board_subscriber, None, None)),  # type: ignore[arg-type]
    ]
    hub.broadcast({"type": "resync"})
    await asyncio.wait_for(caught_up.wait(), 5)
    while not board_socket.sent:  # noqa: ASYNC110 - the fake socket has no event to wait on
        await asyncio.sleep(0.01)
    for task in tasks:
        task.cancel()
    assert board_socket.sent == [{"type": "resync"}]
    assert terminal_socket.sent == []


# --- through the wire: instances on one database, the gateway's relay in front -------------------------------


def _second_instance(terminals: Terminals, backend: str) -> tuple[str, Callable[[], None]]:
    """Another log-stream on the same database on PostgreSQL; the same one on SQLite (single-instance)."""
    if backend != "postgres":
        return terminals.logs.url, lambda: None
    port = free_port()
    second: AppThread = terminals.instance(port)  # type: ignore[attr-defined]
    return f"http://127.0.0.1:{port}", second.stop


def _card_created(terminals: Terminals, card_id: uuid.UUID, description: str) -> CardCreated:
    ids = terminals.ids
    snapshot = CardSnapshot(
        card_id=card_id,
        board_id=ids["board"],
        lane_id=uuid.uuid4(),
        lane_number=0,
        title="Big",
        description=description,
        position=0,
    )
    return CardCreated(workspace_id=ids["workspace"], project_id=ids["project"], card_id=card_id, card=snapshot)


async def _messages(socket: ClientConnection, count: int) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    while len(messages) < count:
        text = await asyncio.wait_for(socket.recv(), 20)
        assert len(text) <= MAX_FRAME_BYTES
        message = json.loads(text)
        if message["type"] != "ping":
            messages.append(message)
    return messages


def test_card_events_of_any_size_reach_board_clients_on_every_instance(terminals: Terminals, backend: str) -> None:
    other, stop_other = _second_instance(terminals, backend)
    child = terminals.directory.card(terminals.tenancy)
    events = [
        _card_created(terminals, terminals.ids["card"], "d" * 20_000),
        _card_created(terminals, child, "é" * 150_000),  # agents' child cards have no limit
    ]
    path = f"/api/boards/{terminals.ids['board']}/events"

    async def scenario() -> list[list[dict[str, Any]]]:
        async with (
            connect(terminals.logs.url.replace("http", "ws", 1) + path, additional_headers=_headers(terminals)) as a,
            connect(other.replace("http", "ws", 1) + path, additional_headers=_headers(terminals, other)) as b,
        ):
            await asyncio.sleep(0.3)
            for event in events:
                await asyncio.to_thread(terminals.push, event, "log-stream-card-events")
            return [await _messages(a, 2), await _messages(b, 2)]

    try:
        received = asyncio.run(scenario())
    finally:
        stop_other()
    for first, second in received:
        assert first["event"]["card"]["description"] == "d" * 20_000
        assert (second["event"]["card_id"], second["partial"]) == (str(child), True)
        assert "description" not in second["event"]["card"]


def _headers(terminals: Terminals, url: str | None = None) -> dict[str, str]:
    return terminals.gateway_headers(url or terminals.logs.url)


@pytest.fixture
def relay(
    terminals: Terminals, backend: str, migrated_database: Callable[[Path], str], dev_key_file: Path
) -> Iterator[tuple[str, dict[str, str]]]:
    """A gateway relaying to a log-stream instance other than the one receiving the events (on PostgreSQL), with
    a signed-up owner of the card: yields the gateway's address and the owner's cookie header."""
    target, stop_target = _second_instance(terminals, backend)
    port = free_port()
    settings = GatewaySettings(
        environment="test",
        port=port,
        dev_signing_key_file=dev_key_file,
        database_url=migrated_database(GATEWAY_MIGRATIONS),
        log_stream_url=target,
        allowed_origins=(ORIGIN,),
    )
    gateway = AppThread(create_gateway(settings), port=port).start()
    try:
        yield gateway.url, _owner_of_a_card(terminals, gateway.url)
    finally:
        gateway.stop()
        stop_target()


def _owner_of_a_card(terminals: Terminals, gateway: str) -> dict[str, str]:
    """Signs up at the gateway and makes the new user the owner of a card (in core's directory)."""
    with httpx.Client(base_url=gateway, headers={"origin": ORIGIN}, timeout=30) as client:
        email = f"relay-{uuid.uuid4().hex[:8]}@example.com"
        signed_up = client.post("/api/auth/signup", json={"email": email, "password": "correct horse battery"})
        assert signed_up.is_success, signed_up.text
        cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    tenancy = terminals.directory.tenancy(uuid.UUID(signed_up.json()["id"]))
    terminals.ids = {
        "workspace": tenancy.workspace,
        "project": tenancy.project,
        "card": tenancy.card,
        "board": tenancy.board,
    }
    return {"cookie": cookie}


def _wide_batch(terminals: Terminals, run: uuid.UUID, seqs: range, width: int) -> AgentRunLog:
    at = datetime.now(UTC)
    lines = tuple(LogLine(seq=s, at=at, text=f"{s} " + "w" * width) for s in seqs)
    ids = terminals.ids
    return AgentRunLog(
        workspace_id=ids["workspace"],
        project_id=ids["project"],
        run_id=run,
        card_id=ids["card"],
        agent="prd",
        lines=lines,
    )


async def _terminal_seqs(
    url: str, headers: dict[str, str], count: int, subscribed: asyncio.Event | None = None
) -> list[dict[str, Any]]:
    """The first ``count`` lines a terminal receives; ``subscribed`` is set at its first frame, the replay's run
    status, which the server sends once the socket is subscribed to live lines."""
    seen: list[dict[str, Any]] = []
    async with connect(url, additional_headers=headers, origin=ORIGIN, max_size=None) as socket:  # type: ignore[arg-type]
        while len(seen) < count:
            text = await asyncio.wait_for(socket.recv(), 30)
            assert len(text) <= MAX_FRAME_BYTES
            if subscribed is not None:
                subscribed.set()
            seen.extend(lines_in(json.loads(text)))
    return seen


def test_a_5000_line_batch_and_100_kb_lines_are_stored_and_reach_live_and_replaying_clients_through_the_relay(
    terminals: Terminals, relay: tuple[str, dict[str, str]]
) -> None:
    gateway, cookie = relay
    run = uuid.uuid4()
    terminals.push(terminals.started(run))
    url = gateway.replace("http", "ws", 1) + f"/api/cards/{terminals.ids['card']}/terminal"

    async def live_client() -> list[dict[str, Any]]:
        subscribed = asyncio.Event()
        reader = asyncio.create_task(_terminal_seqs(url, cookie, 5020, subscribed))
        await asyncio.wait_for(subscribed.wait(), 30)
        await asyncio.to_thread(terminals.push, _wide_batch(terminals, run, range(1, 5001), 200))
        await asyncio.to_thread(terminals.push, _wide_batch(terminals, run, range(5001, 5021), 100_000))
        return await reader

    for seen in (asyncio.run(live_client()), asyncio.run(_terminal_seqs(url, cookie, 5020))):
        assert [line["seq"] for line in seen] == list(range(1, 5021))
        assert seen[4999]["text"] == "5000 " + "w" * 200
        assert "line cut" in seen[5000]["text"]
    download = httpx.get(
        f"{gateway}/api/cards/{terminals.ids['card']}/runs/{run}/logs/download",
        headers={**cookie, "origin": ORIGIN},
        timeout=30,
    )
    stored = [json.loads(line) for line in download.text.splitlines()]
    assert len(stored) == 5020
    assert stored[-1]["text"] == "5020 " + "w" * 100_000


# --- the listener: survives losing its connection or any error, and says so ----------------------------------


def _only_postgres(backend: str) -> None:
    if backend != "postgres":
        pytest.skip("the LISTEN connection exists on PostgreSQL only; SQLite fleets are single-instance")


def _terminate_listeners(database_url: str) -> int:
    """Ends the LISTEN connections on this test's database (only: other tests share the server)."""
    dsn = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    query = (
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
        " WHERE datname = current_database() AND application_name = 'log-stream-listener'"
    )
    with psycopg.connect(dsn, autocommit=True) as connection:
        row = connection.execute(query).fetchone()
    return int(row[0]) if row else 0


def test_killing_the_listeners_connection_mid_run_loses_no_line_at_any_client(
    terminals: Terminals, backend: str
) -> None:
    _only_postgres(backend)
    other, stop_other = _second_instance(terminals, backend)
    run = uuid.uuid4()
    terminals.push(terminals.started(run))
    first_url = terminals.ws_url()
    second_url = first_url.replace(terminals.logs.url.replace("http", "ws", 1), other.replace("http", "ws", 1))
    database = terminals.logs.server.config.app.state.ctx.settings.database_url

    async def client(url: str, headers: dict[str, str], subscribed: asyncio.Event) -> list[int]:
        seen: list[int] = []
        async with connect(url, additional_headers=headers) as socket:
            while len(seen) < 300:
                message = json.loads(await asyncio.wait_for(socket.recv(), 20))
                subscribed.set()  # the first frame is the replay's run status, sent once subscribed to live lines
                seen.extend(line["seq"] for line in lines_in(message))
        return seen

    async def scenario() -> list[list[int]]:
        subscribed = [asyncio.Event(), asyncio.Event()]
        readers = [
            asyncio.create_task(client(first_url, _headers(terminals), subscribed[0])),
            asyncio.create_task(client(second_url, _headers(terminals, other), subscribed[1])),
        ]
        for each in subscribed:
            await asyncio.wait_for(each.wait(), 20)
        for start in range(1, 301, 10):
            await asyncio.to_thread(terminals.push, terminals.batch(run, list(range(start, start + 10))))
            if start == 101:
                assert await asyncio.to_thread(_terminate_listeners, database) >= 1
        return list(await asyncio.gather(*readers))

    try:
        received = asyncio.run(scenario())
    finally:
        stop_other()
    assert received == [list(range(1, 301))] * 2


def test_an_error_in_the_listeners_read_back_is_survived_logged_and_shown_in_readyz(
    terminals: Terminals, backend: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _only_postgres(backend)
    log_stream_state(terminals.logs.server.config.app.state.ctx).fanout.retry_seconds = 2.0
    run = uuid.uuid4()
    terminals.push(terminals.started(run))
    real = repository.lines_between
    failures: list[int] = []

    async def failing_once(*args: Any, **kwargs: Any) -> Any:
        if not failures:
            failures.append(1)
            raise sqlalchemy.exc.OperationalError("SELECT", {}, Exception("server closed the connection"))
        return await real(*args, **kwargs)

    monkeypatch.setattr(repository, "lines_between", failing_once)

    def readiness() -> int:
        return httpx.get(f"{terminals.logs.url}/readyz", timeout=10).status_code

    async def scenario() -> tuple[list[int], list[int]]:
        async with connect(terminals.ws_url(), additional_headers=_headers(terminals)) as socket:
            await asyncio.sleep(0.3)
            await asyncio.to_thread(terminals.push, terminals.batch(run, [1, 2, 3]))
            for _ in _until(lambda: bool(failures), 10):
                pass
            statuses: list[int] = []

            def ready_again() -> bool:
                statuses.append(readiness())
                return statuses[-1] == 200

            for _ in _until(ready_again, 20):
                pass
            await asyncio.to_thread(terminals.push, terminals.batch(run, [4, 5]))
            seen: list[int] = []
            while len(seen) < 5:
                seen.extend(line["seq"] for line in lines_in(json.loads(await asyncio.wait_for(socket.recv(), 20))))
            return statuses, seen

    with caplog.at_level(logging.WARNING):
        statuses, seen = asyncio.run(scenario())
    assert 503 in statuses
    assert seen == [1, 2, 3, 4, 5]
    assert readiness() == 200
    assert any(r.getMessage() == "fanout.listener_reconnecting" for r in caplog.records)


def _until(condition: Callable[[], bool], seconds: float) -> Iterator[None]:
    """Yields (for a poll) until ``condition`` holds, failing after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        yield
        time.sleep(0.05)


def test_a_failed_notification_never_undoes_the_stored_lines(
    terminals: Terminals, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _only_postgres(backend)
    monkeypatch.setattr("agentworks_log_stream.terminal.fanout.CHANNEL", "")  # pg_notify refuses an empty channel
    run = uuid.uuid4()
    terminals.push(terminals.started(run))
    terminals.push(terminals.batch(run, [1, 2, 3]))  # answers 204: stored, though nobody was told
    base = f"{terminals.logs.url}/api/cards/{terminals.ids['card']}/runs/{run}/logs"
    page = httpx.get(base, headers=terminals.gateway_headers(terminals.logs.url)).json()
    assert [line["seq"] for line in page["items"]] == [1, 2, 3]


async def test_a_delivery_that_fails_to_store_fails_and_is_never_taken_for_a_failed_notification(
    migrated_database: Callable[[Path], str], backend: str
) -> None:
    _only_postgres(backend)
    db = Database(migrated_database(MIGRATIONS))
    fanout, run, card = Fanout(db, Hub()), uuid.uuid4(), uuid.uuid4()
    lines = [LogLine(seq=seq, at=datetime.now(UTC), text=f"line {seq}") for seq in (51, 52)]

    async def racing_delivery() -> None:  # it raced the first delivery of the run to create the run
        async with db.transaction() as session:
            session.add(_run_log(run, card))
            await repository.store_lines(session, run, card, lines)
            await fanout.lines(session, card, run, [{"seq": line.seq} for line in lines])

    failed_notifications = _Recorded("fanout.notify_failed")
    logging.getLogger("agentworks_log_stream.terminal.fanout").addHandler(failed_notifications)
    try:
        async with db.transaction() as session:  # the delivery that created the run first
            session.add(_run_log(run, card))
        with pytest.raises(sqlalchemy.exc.IntegrityError):  # the receiver runs it again, or Pub/Sub redelivers
            await racing_delivery()
    finally:
        logging.getLogger("agentworks_log_stream.terminal.fanout").removeHandler(failed_notifications)
        await db.dispose()
    assert failed_notifications.records == []


def _run_log(run: uuid.UUID, card: uuid.UUID) -> RunLog:
    return RunLog(
        run_id=run,
        workspace_id=uuid.uuid4(),
        project_id=uuid.uuid4(),
        card_id=card,
        agent="prd",
        status="running",
        created_at=datetime.now(UTC),
    )


def test_a_listener_connection_that_stops_answering_is_given_up_and_its_clients_resync(
    terminals: Terminals, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _only_postgres(backend)
    real_execute = psycopg.AsyncConnection.execute
    hung: list[int] = []

    async def half_open(self: psycopg.AsyncConnection[Any], query: Any, *args: Any, **kwargs: Any) -> Any:
        if query == PROBE and not hung:  # the first probe gets no answer, as over a dead network path
            hung.append(1)
            await asyncio.Event().wait()
        return await real_execute(self, query, *args, **kwargs)

    monkeypatch.setattr(psycopg.AsyncConnection, "execute", half_open)
    port = free_port()
    quick: AppThread = terminals.instance(port, listener_probe_seconds=0.5)  # type: ignore[attr-defined]
    log_stream_state(quick.server.config.app.state.ctx).fanout.retry_seconds = 2.0
    reconnects = _Recorded("fanout.listener_reconnecting")  # after the instance set up logging
    logging.getLogger("agentworks_log_stream.terminal.fanout").addHandler(reconnects)
    run = uuid.uuid4()
    terminals.push(terminals.started(run))

    def readiness() -> int:
        return httpx.get(f"{quick.url}/readyz", timeout=10).status_code

    async def scenario() -> tuple[list[int], list[int]]:
        url = terminals.ws_url().replace(f":{terminals.logs.port}/", f":{port}/")
        async with connect(url, additional_headers=_headers(terminals, quick.url)) as socket:
            for _ in _until(lambda: bool(hung), 10):
                pass
            await asyncio.to_thread(terminals.push, terminals.batch(run, [1, 2, 3]))  # sent while nobody hears
            statuses: list[int] = []
            for _ in _until(lambda: statuses.append(readiness()) or statuses[-1] == 503, 10):
                pass
            for _ in _until(lambda: statuses.append(readiness()) or statuses[-1] == 200, 20):
                pass
            seen: list[int] = []
            while len(seen) < 3:
                seen.extend(line["seq"] for line in lines_in(json.loads(await asyncio.wait_for(socket.recv(), 20))))
            return statuses, seen

    try:
        statuses, seen = asyncio.run(scenario())
    finally:
        logging.getLogger("agentworks_log_stream.terminal.fanout").removeHandler(reconnects)
        quick.stop()
    assert 503 in statuses
    assert seen == [1, 2, 3]
    assert reconnects.records
    assert reconnects.records[0].fields["error"] == "TimeoutError"  # type: ignore[attr-defined]


class _Recorded(logging.Handler):
    """Keeps the records of one log event."""

    def __init__(self, event: str) -> None:
        super().__init__(logging.DEBUG)
        self.event = event
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage() == self.event:
            self.records.append(record)
