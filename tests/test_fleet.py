"""The whole fleet on the local stack: the emulator, the real Pub/Sub client and all six services.

A card moved into lane 1 through the gateway produces exactly one PRD run whose log lines, steps (the offline
model's four), the card's document it writes, run record and usage events all arrive where they belong; a
redelivered ``card.moved`` changes nothing.

A card moved through lanes 0–3 (on SQLite) gets each agent's work from its tools: its blueprint, PRD and design
brief (the Designer's too) are versions its runs wrote with ``write_document``, each naming the card and the run, in
the card's own lineage (a second card's PRD is its version 1); only the Architect makes child cards, each linked to
the card, which lists them; and the card's terminal receives every run's lines and steps in order, and replays
exactly what followed a cursor when reopened.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from agentworks_events import CardMoved
from agentworks_localstack.bootstrap import bootstrap
from agentworks_localstack.fleet import FLEET
from agentworks_localstack.threads import AppThread, EmulatorThread, free_port
from agentworks_platform.db import Database
from agentworks_platform.service_auth import LocalTokenSigner
from agentworks_pubsub import EventPublisher, load_topology
from sqlalchemy import text
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from .fleet_support import fleet_settings, settings_class_of
from .terminal_support import TerminalOpener, assert_in_order, assert_replays, poll

PUSHER = "pubsub-invoker@agentworks-local.iam.gserviceaccount.com"
ORIGIN = "http://localhost:8080"
pytestmark = pytest.mark.stack


class Fleet:
    def __init__(self, urls: dict[str, str], databases: dict[str, str], emulator: EmulatorThread) -> None:
        self.urls = urls
        self.databases = databases
        self.emulator = emulator

    def rows(self, service: str, query: str) -> list[Any]:
        async def read() -> list[Any]:
            db = Database(self.databases[service])
            try:
                async with db.transaction() as session:
                    return list((await session.execute(text(query))).all())
            finally:
                await db.dispose()

        return asyncio.run(read())

    def wait(self, condition: Callable[[], bool], seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while not condition():
            assert time.monotonic() < deadline, "the fleet did not get there in time"
            time.sleep(0.1)


@pytest.fixture
def fleet(
    migrated_database: Callable[[Path], str], tmp_path: Path, dev_key_file: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Fleet]:
    key_path = dev_key_file
    key = key_path.read_bytes()
    emulator = EmulatorThread(tmp_path / "pubsub.db", LocalTokenSigner(key, PUSHER)).start()
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", emulator.host)
    for variable in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GOOGLE_API_KEY"):
        monkeypatch.delenv(variable, raising=False)
    ports = {spec.name: free_port() for spec in FLEET}
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    databases = {spec.name: migrated_database(spec.migrations) for spec in FLEET}
    peers = {f"{name.replace('-', '_')}_url": url for name, url in urls.items()}
    threads: list[AppThread] = []
    try:
        for spec in FLEET:
            module: Any = importlib.import_module(f"{spec.package}.app")
            settings_class = settings_class_of(spec)
            fields = settings_class.model_fields
            settings = fleet_settings(
                settings_class,
                tmp_path / spec.name,
                port=ports[spec.name],
                environment="test",
                database_url=databases[spec.name],
                dev_signing_key_file=key_path,
                **{k: v for k, v in peers.items() if k in fields},
            )
            threads.append(AppThread(module.create_app(settings), port=ports[spec.name]).start())
        topology = load_topology()
        bootstrap(topology, topology.project, urls, PUSHER)
        yield Fleet(urls, databases, emulator)
    finally:
        for thread in reversed(threads):
            thread.stop()
        emulator.close()


def _move_card_into_lane_1(gateway: str) -> dict[str, Any]:
    with httpx.Client(base_url=gateway, headers={"origin": ORIGIN}, timeout=30) as client:
        signup = client.post("/api/auth/signup", json={"email": "e2e@example.com", "password": "correct horse battery"})
        assert signup.status_code == 201, signup.text
        workspace = client.post("/api/workspaces", json={"name": "E2E"}).json()
        project = client.post(f"/api/workspaces/{workspace['id']}/projects", json={"name": "Shop"}).json()
        card = client.post(f"/api/projects/{project['id']}/cards", json={"title": "Checkout"}).json()
        lanes = client.get(f"/api/boards/{project['board_id']}").json()["lanes"]
        moved = client.put(f"/api/cards/{card['id']}/move", json={"lane_id": lanes[1]["id"]})
        assert moved.status_code == 200, moved.text
        return {"workspace": workspace, "project": project, "card": card, "cookies": dict(client.cookies)}


async def _terminal_lines(gateway: str, card_id: str, cookies: dict[str, str], origin: str) -> list[Any]:
    url = gateway.replace("http", "ws", 1) + f"/api/cards/{card_id}/terminal"
    cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
    received: list[Any] = []
    async with connect(url, additional_headers={"cookie": cookie}, origin=origin) as socket:  # type: ignore[arg-type]
        assert socket.response is not None
        assert "sec-websocket-extensions" not in socket.response.headers  # frames go out uncompressed
        while not any(m["type"] == "status" for m in received):
            received.append(json.loads(await asyncio.wait_for(socket.recv(), 10)))
    return received


async def _terminal_refusal(gateway: str, card_id: str, cookies: dict[str, str], origin: str) -> int | None:
    try:
        await _terminal_lines(gateway, card_id, cookies, origin)
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None
    except InvalidStatus as refused:
        return int(refused.response.status_code)
    return None


def _billing_through_the_gateway(browser: httpx.Client, workspace_id: str, card_id: str) -> None:
    usage = browser.get(f"/api/workspaces/{workspace_id}/usage", params=[("group_by", "day"), ("group_by", "card")])
    assert usage.status_code == 200, usage.text
    assert set(usage.json()["series"]) == {"day", "card"}  # repeated query parameters survive the gateway
    [by_card] = usage.json()["series"]["card"]
    assert (by_card["key"], by_card["runs"], by_card["provider_calls"], by_card["price"]) == (card_id, 1, 4, "0")
    budget = browser.put(f"/api/workspaces/{workspace_id}/budgets/workspace", json={"monthly_cap": "25"})
    assert (budget.status_code, budget.json()["state"]) == (200, "ok")
    summary = browser.get(f"/api/workspaces/{workspace_id}/billing").json()
    assert (summary["runs"], summary["payment_collection"]["enabled"]) == (1, False)
    csv_export = browser.get(f"/api/workspaces/{workspace_id}/charges.csv")
    assert csv_export.headers["content-disposition"].startswith("attachment")
    assert len(csv_export.text.strip().splitlines()) == 2
    webhook = browser.post("/webhooks/stripe", content=b"{}", headers={"stripe-signature": "t=1,v1=00"})
    assert (webhook.status_code, webhook.json()["error"]["code"]) == (404, "payments_off")


def test_moving_a_card_runs_the_prd_agent_end_to_end(fleet: Fleet) -> None:
    gateway = fleet.urls["gateway"]
    made = _move_card_into_lane_1(gateway)
    card_id, project_id = made["card"]["id"], made["project"]["id"]
    browser = httpx.Client(base_url=gateway, headers={"origin": ORIGIN}, cookies=made["cookies"], timeout=30)

    def runs() -> list[dict[str, Any]]:
        return list(browser.get(f"/api/cards/{card_id}/runs").json()["runs"])

    fleet.wait(lambda: bool(runs()) and runs()[0]["status"] == "completed")
    [run] = runs()
    assert (run["agent"], run["provider"], run["status"]) == ("prd", "offline", "completed")
    fleet.wait(lambda: browser.get(f"/api/cards/{card_id}/documents/prd").status_code == 200)
    prd = browser.get(f"/api/cards/{card_id}/documents/prd").json()
    assert (prd["run_id"], prd["agent"]) == (run["id"], "prd")
    assert "[offline model" in prd["content"]

    logs = fleet.rows("log-stream", "SELECT event_type FROM inbox WHERE subscription = 'log-stream-agent-runs'")
    assert {"agent.run.started", "agent.run.log", "agent.run.step", "agent.run.completed"} <= {r[0] for r in logs}
    fleet.wait(lambda: len(fleet.rows("billing", "SELECT event_type FROM inbox")) >= 5)
    billed = sorted(r[0] for r in fleet.rows("billing", "SELECT event_type FROM inbox"))
    assert billed == ["usage.recorded"] * 4 + ["usage.run_settled"]
    _billing_through_the_gateway(browser, made["workspace"]["id"], card_id)

    moved = fleet.rows("core", "SELECT data FROM outbox WHERE event_type = 'card.moved'")
    replay = CardMoved.model_validate_json(moved[0][0])

    async def redeliver() -> None:
        publisher = EventPublisher(load_topology().project)
        await publisher.publish(replay)
        await publisher.close()

    asyncio.run(redeliver())
    fleet.wait(lambda: len(fleet.rows("orchestrator", "SELECT 1 FROM inbox WHERE event_type = 'card.moved'")) == 1)
    time.sleep(1.0)
    assert len(runs()) == 1
    assert len(fleet.rows("orchestrator", "SELECT id FROM runs")) == 1
    assert sorted(r[0] for r in fleet.rows("billing", "SELECT event_type FROM inbox")) == billed

    lines = asyncio.run(_terminal_lines(gateway, card_id, made["cookies"], ORIGIN))
    seqs = [
        line["seq"]
        for m in lines
        if m["type"] in ("line", "lines") and m["run_id"] == run["id"]
        for line in (m["lines"] if m["type"] == "lines" else [m])
    ]
    assert seqs[:3] == [1, 2, 3]
    # A refused handshake is an HTTP 403: a foreign Origin, or no session.
    assert asyncio.run(_terminal_refusal(gateway, card_id, made["cookies"], "https://evil.example")) == 403
    assert asyncio.run(_terminal_refusal(gateway, card_id, {}, ORIGIN)) == 403

    with browser.stream("POST", f"/api/projects/{project_id}/copilot", json={"question": "What next?"}) as answer:
        frames = [json.loads(line[6:]) for line in answer.iter_lines() if line.startswith("data: {")]
    assert frames[-1]["status"] == "completed"
    assert "What next?" in "".join(f.get("delta", "") for f in frames)
    browser.close()


LANE_AGENTS = {0: {"ceo_copilot", "strategy"}, 1: {"prd"}, 2: {"designer"}, 3: {"architect"}}
READY_LANE = 4  # no agent runs there: a card made in it starts nothing until it moves


class Board:
    """A signed-in browser on a project's board, through the gateway."""

    def __init__(self, client: httpx.AsyncClient, project: dict[str, Any], lanes: list[dict[str, Any]]) -> None:
        self.client = client
        self.project = project
        self.lanes = lanes

    async def new_card(self, title: str) -> str:
        lane = self.lanes[READY_LANE]["id"]
        made = await self.client.post(
            f"/api/projects/{self.project['id']}/cards", json={"title": title, "lane_id": lane}
        )
        assert made.status_code == 201, made.text
        return str(made.json()["id"])

    async def move_and_wait(self, card_id: str, lane: int) -> None:
        """Move the card into ``lane`` and wait until each agent of the lane has completed a run of it."""
        moved = await self.client.put(f"/api/cards/{card_id}/move", json={"lane_id": self.lanes[lane]["id"]})
        assert moved.status_code == 200, moved.text
        await self.completed(card_id, LANE_AGENTS[lane])

    async def completed(self, card_id: str, agents: set[str]) -> None:
        """Wait until each of ``agents`` has completed a run of the card."""
        deadline = time.monotonic() + 120
        while not agents <= {r["agent"] for r in await self.runs(card_id) if r["status"] == "completed"}:
            assert time.monotonic() < deadline, f"{', '.join(sorted(agents))} did not complete"
            await asyncio.sleep(0.1)

    async def runs(self, card_id: str) -> list[dict[str, Any]]:
        return list((await self.client.get(f"/api/cards/{card_id}/runs")).json()["runs"])

    async def get(self, path: str) -> Any:
        answer = await self.client.get(path)
        assert answer.status_code == 200, answer.text
        return answer.json()

    async def tool_calls(self, card_id: str, run: dict[str, Any]) -> list[dict[str, Any]]:
        """The calls of the run's transcript that succeeded, whole (as the transcript API has them)."""
        page = await self.get(f"/api/cards/{card_id}/runs/{run['id']}/transcript?limit=200")
        assert [step["step"] for step in page["items"]] == list(range(1, run["steps"] + 1))
        return [call for step in page["items"] for call in step["tool_calls"] if call["ok"]]


# On SQLite only: the PRD test above runs this same fleet on PostgreSQL too, and what lanes 0–3 add is held on both
# backends below the fleet (documents and child cards from run steps in core's test_run_projection.py, the agents'
# tools in the orchestrator's test_role_tools.py, terminal order and replay in log-stream's test_terminal.py).
@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_card_moved_through_lanes_0_to_3_gets_each_agents_work_from_its_tools(fleet: Fleet) -> None:
    made = _move_card_into_lane_1(fleet.urls["gateway"])  # the account, and a first card's PRD run
    asyncio.run(_lanes_0_to_3(fleet, made))


async def _lanes_0_to_3(fleet: Fleet, made: dict[str, Any]) -> None:
    gateway, project = fleet.urls["gateway"], made["project"]
    opener = TerminalOpener(gateway, ORIGIN, made["cookies"])
    async with httpx.AsyncClient(
        base_url=gateway, headers={"origin": ORIGIN}, cookies=made["cookies"], timeout=60
    ) as client:
        board = Board(client, project, (await client.get(f"/api/boards/{project['board_id']}")).json()["lanes"])
        first = made["card"]["id"]
        card = await board.new_card("Refunds")
        async with opener.open(card) as live:
            for lane in LANE_AGENTS:
                await board.move_and_wait(card, lane)
            runs = await board.runs(card)
            await poll(lambda: all(live.ended(uuid.UUID(run["id"])) for run in runs))
        assert sorted(run["agent"] for run in runs) == sorted(a for agents in LANE_AGENTS.values() for a in agents)
        calls = {run["id"]: await board.tool_calls(card, run) for run in runs}
        await _assert_documents_from_tools(board, card, runs, calls)
        await _assert_children_of_the_architect(board, card, runs, calls)
        await _assert_lineage_per_card(board, first, card)
        for run in runs:
            assert_in_order(live, uuid.UUID(run["id"]), run["steps"])
        await assert_replays(opener, card, live, {uuid.UUID(run["id"]): 1 for run in runs})


async def _assert_documents_from_tools(
    board: Board, card: str, runs: list[dict[str, Any]], calls: dict[str, list[dict[str, Any]]]
) -> None:
    """Every document of the card was written by a run's write_document call, once per call: the card's blueprint,
    PRD and design brief (the Designer's, from its tools) among them, each version naming the card and a run."""
    writes: dict[str, list[dict[str, Any]]] = {}
    for run in runs:
        for call in calls[run["id"]]:
            if call["tool"] == "write_document":
                writes.setdefault(call["arguments"]["name"], []).append(run)
    assert {"blueprint", "prd", "design_brief"} <= set(writes)
    assert [run["agent"] for run in writes["design_brief"]] == ["designer"]
    documents = await board.get(f"/api/cards/{card}/documents")
    assert {d["name"] for d in documents} == set(writes)
    for document in documents:
        writers = {run["id"]: run["agent"] for run in writes[document["name"]]}
        assert document["version"] == len(writes[document["name"]])
        assert (document["card_id"], writers.get(document["run_id"])) == (card, document["agent"])


async def _assert_children_of_the_architect(
    board: Board, card: str, runs: list[dict[str, Any]], calls: dict[str, list[dict[str, Any]]]
) -> None:
    """Only the Architect made child cards: one per call, each linked to the card, which lists them."""
    asked = {
        run["agent"]: sorted(c["arguments"]["title"] for c in calls[run["id"]] if c["tool"] == "create_child_card")
        for run in runs
    }
    assert asked.pop("architect")
    assert not any(asked.values()), asked
    children = await board.get(f"/api/cards/{card}/children")
    [architect] = [run for run in runs if run["agent"] == "architect"]
    assert sorted(child["title"] for child in children) == sorted(
        c["arguments"]["title"] for c in calls[architect["id"]] if c["tool"] == "create_child_card"
    )
    for child in children:
        assert (await board.get(f"/api/cards/{child['id']}"))["parent_id"] == card


async def _assert_lineage_per_card(board: Board, first: str, second: str) -> None:
    """Each card's PRD is its own lineage: the second card's is its version 1, not version 2 of the first's."""
    await board.completed(first, {"prd"})
    for card in (first, second):
        [prd_run] = [run for run in await board.runs(card) if run["agent"] == "prd"]
        prd = await board.get(f"/api/cards/{card}/documents/prd")
        assert (prd["card_id"], prd["version"], prd["run_id"], prd["agent"]) == (card, 1, prd_run["id"], "prd")
