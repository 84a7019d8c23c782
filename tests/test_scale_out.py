"""The fleet scaled out as Cloud Run scales it: two instances each of gateway, core, orchestrator and log-stream
(one provider router, one billing) as processes, each service on a PostgreSQL database of its own shared by its
instances, the emulator pushing to each service through a round-robin front.

Like Cloud Run, every instance answers to its service's URL, a front alternating connections between the
instances, so consecutive WebSockets (whichever gateway relays them) land on both log-stream instances; whichever
instance a push lands on, the other one's clients depend on the fan-out between instances.
Everything is asserted through the gateways, as the browser sees it: board events of cards with 20,000-character
descriptions, a 5,000-line batch and lines of 100 KB on live and replaying terminals, no line lost when the
listeners' connections are killed mid-stream, and a revoked API key's sockets closed on both gateways.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from agentworks_events import AgentRunLog
from agentworks_events.runs import LogLine
from agentworks_localstack.dev_process import dev_fleet
from agentworks_localstack.fleet import EMULATOR_PORT, FLEET, free_port_offset, gateway_origins, instance_url
from agentworks_log_stream.terminal.fanout import LISTENER_OPTIONS
from agentworks_platform.testing import Templates
from agentworks_pubsub.testing import publish_all
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

pytestmark = [pytest.mark.postgres, pytest.mark.stack, pytest.mark.timeout(900)]

TWICE = {"gateway": 2, "core": 2, "orchestrator": 2, "log-stream": 2}
STARTUP_SECONDS = 480.0  # ten processes on two busy cores
DEADLINE_SECONDS = 90.0
REVOCATION_SECONDS = 30.0  # the gateways check open sockets' credentials every 2 s
PASSWORD = "correct horse battery"
LONG_LINE = 100 * 1024
CUT_MARKER = "[line cut:"
LISTENER_APPLICATION = LISTENER_OPTIONS["application_name"]
GATEWAY = next(spec for spec in FLEET if spec.name == "gateway")
LOG_STREAM = next(spec for spec in FLEET if spec.name == "log-stream")


@dataclass
class ScaledFleet:
    """The running fleet: both gateways' URLs, the fleet's log, its emulator and log-stream's database."""

    gateways: list[str]
    origin: str
    log: Path
    emulator_host: str
    admin: str
    log_stream_database: str

    def listener_pids(self) -> list[int]:
        """The backends of log-stream's LISTEN connections (one per instance while they listen), found by the
        listener's application name: a quiet listener's last query is its liveness probe, no longer ``LISTEN``."""
        with psycopg.connect(self.admin, autocommit=True) as connection:
            rows = connection.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND application_name = %s",
                (self.log_stream_database, LISTENER_APPLICATION),
            ).fetchall()
        return sorted(int(row[0]) for row in rows)

    def kill_listeners(self, pids: list[int]) -> None:
        with psycopg.connect(self.admin, autocommit=True) as connection:
            for pid in pids:
                connection.execute("SELECT pg_terminate_backend(%s)", (pid,))


@dataclass
class Account:
    """A signed-up owner's workspace and project, and a browser session on gateway A."""

    workspace_id: str
    project_id: str
    board_id: str
    cookies: dict[str, str]


@pytest.fixture(scope="module")
def fleet(
    tmp_path_factory: pytest.TempPathFactory,
    postgres_admin: str,
    templates: Templates,
) -> Iterator[ScaledFleet]:
    databases = {spec.name: templates.postgres(spec.migrations, postgres_admin) for spec in FLEET}
    offset = free_port_offset(instances=TWICE)
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GOOGLE_API_KEY")}
    env.update({f"{spec.env_prefix}DATABASE_URL": databases[spec.name] for spec in FLEET})
    workdir = tmp_path_factory.mktemp("scaled-fleet")
    emulator_host = f"127.0.0.1:{EMULATOR_PORT + offset}"
    try:
        with (
            dev_fleet(workdir, offset, env, TWICE, STARTUP_SECONDS),
            pytest.MonkeyPatch.context() as patch,
        ):
            patch.setenv("PUBSUB_EMULATOR_HOST", emulator_host)
            yield ScaledFleet(
                gateways=[instance_url(GATEWAY, offset, i, TWICE) for i in range(2)],
                origin=gateway_origins(offset)[0],
                log=workdir / "fleet.log",
                emulator_host=emulator_host,
                admin=postgres_admin,
                log_stream_database=databases["log-stream"].rsplit("/", 1)[-1],
            )
    finally:
        for url in databases.values():
            templates.release(postgres_admin, url)


@pytest.fixture(scope="module")
def account(fleet: ScaledFleet) -> Account:
    with httpx.Client(base_url=fleet.gateways[0], headers={"origin": fleet.origin}, timeout=60) as client:
        signup = client.post("/api/auth/signup", json={"email": "scale@example.com", "password": PASSWORD})
        assert signup.status_code == 201, signup.text
        workspace = client.post("/api/workspaces", json={"name": "Scale"}).json()
        project = client.post(f"/api/workspaces/{workspace['id']}/projects", json={"name": "Fleet"}).json()
        return Account(workspace["id"], project["id"], project["board_id"], dict(client.cookies))


def _browser(fleet: ScaledFleet, account: Account, gateway: int = 0) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=fleet.gateways[gateway], headers={"origin": fleet.origin}, cookies=account.cookies, timeout=60
    )


async def _new_card(fleet: ScaledFleet, account: Account, description: str = "") -> dict[str, Any]:
    async with _browser(fleet, account) as browser:
        made = await browser.post(
            f"/api/projects/{account.project_id}/cards", json={"title": "Scaled", "description": description}
        )
    assert made.status_code == 201, made.text
    card: dict[str, Any] = made.json()
    return card


@contextlib.asynccontextmanager
async def _socket(
    fleet: ScaledFleet, gateway: int, path: str, headers: dict[str, str]
) -> AsyncIterator[ClientConnection]:
    url = fleet.gateways[gateway].replace("http", "ws", 1) + path
    async with connect(url, additional_headers=headers, max_size=None, open_timeout=60) as socket:
        yield socket


def _cookie_headers(fleet: ScaledFleet, account: Account) -> dict[str, str]:
    return {"origin": fleet.origin, "cookie": "; ".join(f"{k}={v}" for k, v in account.cookies.items())}


async def _frames_until(socket: ClientConnection, done: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
    """Frames received until one satisfies ``done`` (that one included), within the deadline."""
    frames: list[dict[str, Any]] = []
    async with asyncio.timeout(DEADLINE_SECONDS):
        while not frames or not done(frames[-1]):
            frames.append(json.loads(await socket.recv()))
    return frames


class Terminal:
    """A terminal client reading one run's lines in the background, in the order they arrive."""

    def __init__(self, socket: ClientConnection, run_id: uuid.UUID) -> None:
        self.socket = socket
        self.run_id = str(run_id)
        self.lines: list[dict[str, Any]] = []
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for text in self.socket:
                frame = json.loads(text)
                if frame.get("run_id") != self.run_id:
                    continue
                if frame["type"] == "lines":
                    self.lines.extend(frame["lines"])
                elif frame["type"] == "line":
                    self.lines.append(frame)

    async def until(self, last_seq: int) -> list[dict[str, Any]]:
        await _poll(lambda: any(line["seq"] >= last_seq for line in self.lines) or self._reader.done())
        return self.lines

    def stop(self) -> None:
        self._reader.cancel()


@contextlib.asynccontextmanager
async def _terminal(
    fleet: ScaledFleet, account: Account, gateway: int, card_id: str, run_id: uuid.UUID
) -> AsyncIterator[Terminal]:
    async with _socket(fleet, gateway, f"/api/cards/{card_id}/terminal", _cookie_headers(fleet, account)) as socket:
        terminal = Terminal(socket, run_id)
        try:
            yield terminal
        finally:
            terminal.stop()


async def _poll(condition: Callable[[], bool], seconds: float = DEADLINE_SECONDS) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the fleet did not get there in time"
        await asyncio.sleep(0.05)


def _log_event(account: Account, card: dict[str, Any], run_id: uuid.UUID, texts: dict[int, str]) -> AgentRunLog:
    """One ``agent.run.log`` batch as the orchestrator publishes it."""
    now = datetime.now(UTC)
    return AgentRunLog(
        workspace_id=uuid.UUID(account.workspace_id),
        project_id=uuid.UUID(account.project_id),
        run_id=run_id,
        card_id=uuid.UUID(card["id"]),
        agent="prd",
        lines=tuple(LogLine(seq=seq, at=now, text=text) for seq, text in texts.items()),
    )


async def _publish(*events: AgentRunLog) -> None:
    await publish_all(events)


def _assert_complete(lines: list[dict[str, Any]], texts: dict[int, str]) -> None:
    """Every line once and in order; a line too long for a frame arrives cut, with the marker."""
    assert [line["seq"] for line in lines] == list(texts)
    for line in lines:
        expected = texts[line["seq"]]
        if len(expected) < LONG_LINE:
            assert line["text"] == expected
        else:
            shown, _, marker = line["text"].partition(" … ")
            assert expected.startswith(shown)
            assert marker.startswith(CUT_MARKER), (line["seq"], len(line["text"]), line["text"][-120:])


async def _stored(fleet: ScaledFleet, account: Account, card_id: str, run_id: uuid.UUID) -> dict[int, str]:
    async with _browser(fleet, account, gateway=1) as browser:
        download = await browser.get(f"/api/cards/{card_id}/runs/{run_id}/logs/download")
    assert download.status_code == 200, download.text[:500]
    records = [json.loads(line) for line in download.text.splitlines() if line]
    return {int(record["seq"]): str(record["text"]) for record in records}


def _closed_boards(fleet: ScaledFleet, instance: int) -> int:
    label = f"log-stream#{instance + 1}"
    return sum(
        1
        for line in fleet.log.read_text().splitlines()
        if line.startswith(label) and "websocket.closed" in line and "board" in line
    )


async def test_a_card_with_a_long_description_reaches_boards_on_both_gateways(
    fleet: ScaledFleet, account: Account
) -> None:
    description = "".join(f"{i:05d} " for i in range(20_000 // 6)).ljust(20_000, "x")
    closed_before = [_closed_boards(fleet, i) for i in range(2)]
    path = f"/api/boards/{account.board_id}/events"
    headers = _cookie_headers(fleet, account)
    async with contextlib.AsyncExitStack() as stack:
        # Both gateways relay through log-stream's front, which alternates: consecutive sockets land on both.
        boards = [await stack.enter_async_context(_socket(fleet, gateway, path, headers)) for gateway in (0, 1, 0, 1)]
        card = await _new_card(fleet, account, description)

        def created(frame: dict[str, Any]) -> bool:
            return frame.get("type") == "card" and frame["event"]["card_id"] == card["id"]

        for board in boards:
            event = (await _frames_until(board, created))[-1]["event"]
            assert (event["type"], event["card"]["description"]) == ("card.created", description)
    # Each log-stream instance served some of the boards (each logs the close of a board it served).
    await _poll(lambda: all(_closed_boards(fleet, i) > closed_before[i] for i in range(2)))


async def test_a_big_batch_and_long_lines_reach_live_and_replaying_clients(
    fleet: ScaledFleet, account: Account
) -> None:
    card, run_id = await _new_card(fleet, account), uuid.uuid4()
    batch = {seq: f"line {seq} of the big batch" for seq in range(1, 5001)}
    long_lines = {seq: f"{seq}:" + "y" * LONG_LINE for seq in range(5001, 5006)}
    texts = {**batch, **long_lines}
    async with (
        _terminal(fleet, account, 0, card["id"], run_id) as live_a,
        _terminal(fleet, account, 1, card["id"], run_id) as live_b,
    ):
        await _publish(_log_event(account, card, run_id, batch), _log_event(account, card, run_id, long_lines))
        for live in (live_a, live_b):
            _assert_complete(await live.until(5005), texts)
    for gateway in (0, 1):
        async with _terminal(fleet, account, gateway, card["id"], run_id) as replaying:
            _assert_complete(await replaying.until(5005), texts)
    assert await _stored(fleet, account, card["id"], run_id) == texts


async def test_killing_the_listeners_connections_mid_stream_loses_no_line(fleet: ScaledFleet, account: Account) -> None:
    card, run_id = await _new_card(fleet, account), uuid.uuid4()
    texts = {seq: f"streamed line {seq}" for seq in range(1, 3001)}
    batches = [
        _log_event(account, card, run_id, {seq: texts[seq] for seq in range(first, first + 50)})
        for first in range(1, 3001, 50)
    ]
    await _poll(lambda: len(fleet.listener_pids()) == 2)
    listeners = fleet.listener_pids()
    async with (
        _terminal(fleet, account, 0, card["id"], run_id) as live_a,
        _terminal(fleet, account, 1, card["id"], run_id) as live_b,
    ):
        await _publish(*batches[:30])
        await _poll(lambda: bool(live_a.lines) and bool(live_b.lines))
        fleet.kill_listeners(listeners)
        await _publish(*batches[30:])
        for live in (live_a, live_b):
            _assert_complete(await live.until(3000), texts)
    await _poll(lambda: len(fleet.listener_pids()) == 2 and not set(fleet.listener_pids()) & set(listeners))
    async with _terminal(fleet, account, 1, card["id"], run_id) as replaying:
        _assert_complete(await replaying.until(3000), texts)


async def test_revoking_an_api_key_closes_its_sockets_on_both_gateways(fleet: ScaledFleet, account: Account) -> None:
    card = await _new_card(fleet, account)
    async with _browser(fleet, account) as browser:
        made = await browser.post(f"/api/workspaces/{account.workspace_id}/api-keys", json={"name": "sockets"})
        assert made.status_code == 201, made.text
        key = made.json()
        headers = {"authorization": f"Bearer {key['key']}"}
        async with (
            _socket(fleet, 0, f"/api/boards/{account.board_id}/events", headers) as board,
            _socket(fleet, 1, f"/api/cards/{card['id']}/terminal", headers) as terminal,
        ):
            revoked = await browser.delete(f"/api/workspaces/{account.workspace_id}/api-keys/{key['id']}")
            assert revoked.status_code == 204, revoked.text
            assert [await _close_code(board), await _close_code(terminal)] == [4401, 4401]


async def _close_code(socket: ClientConnection) -> int | None:
    """The code the gateway closes ``socket`` with (frames before it are skipped), within the revocation time."""
    try:
        async with asyncio.timeout(REVOCATION_SECONDS):
            while True:
                await socket.recv()
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None
