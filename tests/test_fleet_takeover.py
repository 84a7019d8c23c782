"""An orchestrator killed in the middle of a tool-using run, on the fleet as ``make dev`` runs it: each service a
process of its own on its embedded defaults, the offline provider slowed down so that a run lasts.

A card moved into lane 3 starts the Architect's run, each step checkpointed with its ``agent.run.step``. Once the
step that creates the child cards is checkpointed, the orchestrator's process is killed outright. The supervisor
starts it again, Pub/Sub redelivers the card's move, and once the dead executor's lease has lapsed the new attempt
resumes after the last checkpoint: the steps before it are not done again, nothing is written twice (each document
one version, each child card and comment once), every provider call is recorded and the run is settled once,
counting the call the kill cut off. A terminal open all along receives the run's lines and steps in order, each
once, across both attempts; reopened, whole or from a cursor, it replays exactly what the live one received after
that cursor.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from agentworks_localstack.dev_process import DevFleet, running_dev_fleet
from agentworks_localstack.fleet import free_port_offset, gateway_origins

from .terminal_support import TerminalOpener, assert_in_order, assert_replays, poll

pytestmark = [pytest.mark.stack, pytest.mark.timeout(900)]

# Seconds the offline provider waits after each streamed word: the steps after the kill stream some twenty words.
TOKEN_DELAY = "0.4"
# A lapsed lease is what lets the redelivered move take the run over; the default 30 s would only make it later.
LEASE_SECONDS = "10"
STARTUP_SECONDS = 300.0  # six processes and the emulator on two busy cores
PASSWORD = "correct horse battery"
ARCHITECTURE_LANE = 3


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevFleet]:
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GOOGLE_API_KEY")}
    env.update(AW_PROVIDER_ROUTER_OFFLINE_TOKEN_DELAY=TOKEN_DELAY, AW_ORCHESTRATOR_LEASE_SECONDS=LEASE_SECONDS)
    with running_dev_fleet(
        tmp_path_factory.mktemp("fleet"), free_port_offset(), env, startup_seconds=STARTUP_SECONDS
    ) as running:
        yield running


def rows(fleet: DevFleet, service: str, query: str, *parameters: Any) -> list[Any]:
    """A query on a service's SQLite database (WAL: read beside the service's own writes)."""
    with contextlib.closing(sqlite3.connect(fleet.data_dir / f"{service}.db", timeout=30)) as database:
        return database.execute(query, parameters).fetchall()


def step_events(fleet: DevFleet) -> list[dict[str, Any]]:
    """The ``agent.run.step`` events the orchestrator has stored to publish (one run in this fleet)."""
    found = rows(fleet, "orchestrator", "SELECT data FROM outbox WHERE event_type = 'agent.run.step' ORDER BY seq")
    return [json.loads(data) for (data,) in found]


def children_created(fleet: DevFleet) -> bool:
    """A checkpointed step has asked for child cards."""
    return any(e["kind"] == "card.create_child" for event in step_events(fleet) for e in event["effects"])


def checkpoints(fleet: DevFleet, run_id: uuid.UUID) -> dict[int, tuple[str, str]]:
    """The run's checkpoints: step → (when it was written, the conversation then)."""
    found = rows(
        fleet, "orchestrator", "SELECT step, created_at, messages FROM run_checkpoints WHERE run_id = ?", run_id.hex
    )
    return {int(step): (str(at), str(messages)) for step, at, messages in found}


def sign_up(fleet: DevFleet) -> dict[str, Any]:
    origin = gateway_origins(fleet.offset)[0]
    with httpx.Client(base_url=fleet.gateway, headers={"origin": origin}, timeout=60) as client:
        signup = client.post("/api/auth/signup", json={"email": "takeover@example.com", "password": PASSWORD})
        assert signup.status_code == 201, signup.text
        workspace = client.post("/api/workspaces", json={"name": "Takeover"}).json()
        project = client.post(f"/api/workspaces/{workspace['id']}/projects", json={"name": "Shop"}).json()
        card = client.post(f"/api/projects/{project['id']}/cards", json={"title": "Checkout"}).json()
        lanes = client.get(f"/api/boards/{project['board_id']}").json()["lanes"]
        return {
            "workspace": workspace,
            "project": project,
            "card": card,
            "lanes": lanes,
            "cookies": dict(client.cookies),
        }


def browser(fleet: DevFleet, session: dict[str, Any]) -> httpx.AsyncClient:
    origin = gateway_origins(fleet.offset)[0]
    return httpx.AsyncClient(base_url=fleet.gateway, headers={"origin": origin}, cookies=session["cookies"], timeout=60)


async def test_an_orchestrator_killed_mid_run_resumes_after_its_last_checkpoint(fleet: DevFleet) -> None:
    session = sign_up(fleet)
    card_id = session["card"]["id"]
    opener = TerminalOpener(fleet.gateway, gateway_origins(fleet.offset)[0], session["cookies"])
    async with browser(fleet, session) as client, opener.open(card_id) as live:
        lane = session["lanes"][ARCHITECTURE_LANE]["id"]
        moved = await client.put(f"/api/cards/{card_id}/move", json={"lane_id": lane})
        assert moved.status_code == 200, moved.text
        run_id = await _run_started(fleet)

        await poll(lambda: children_created(fleet))
        fleet.kill("orchestrator")
        before = checkpoints(fleet, run_id)
        [(status, attempt, agent)] = rows(fleet, "orchestrator", "SELECT status, attempt, agent FROM runs")
        assert (status, attempt, agent) == ("running", 1, "architect"), "the kill came after the run's end"

        await poll(lambda: live.ended(run_id))
        steps = await _assert_resumed(fleet, run_id, before)
        assert_in_order(live, run_id, steps)
        await _assert_written_once(client, card_id, run_id, live.steps(run_id))
        await _assert_settled_once(fleet, run_id, steps)
        assert any("attempt 2" in line["text"] for line in live.lines(run_id))

    await assert_replays(opener, card_id, live, {run_id: len(before)})


async def _run_started(fleet: DevFleet) -> uuid.UUID:
    found: list[Any] = []

    def started() -> bool:
        found[:] = rows(fleet, "orchestrator", "SELECT id FROM runs")
        return bool(found)

    await poll(started)
    [(run_id,)] = found
    return uuid.UUID(run_id)


async def _assert_resumed(fleet: DevFleet, run_id: uuid.UUID, before: dict[int, tuple[str, str]]) -> int:
    """The second attempt went on after the last checkpoint: the earlier steps' checkpoints are untouched (a step
    done again would rewrite its own) and every later step is the second attempt's. Returns the run's steps."""
    await poll(lambda: bool(rows(fleet, "orchestrator", "SELECT 1 FROM runs WHERE status = 'completed'")))
    [(attempt,)] = rows(fleet, "orchestrator", "SELECT attempt FROM runs")
    after = checkpoints(fleet, run_id)
    steps = len(after)
    assert attempt == 2
    assert sorted(before) == list(range(1, len(before) + 1))
    assert sorted(after) == list(range(1, steps + 1))
    assert len(before) < steps
    assert {step: after[step] for step in before} == before
    attempts = [(event["step"], event["attempt"]) for event in step_events(fleet)]
    assert attempts == [(step, 1 if step in before else 2) for step in range(1, steps + 1)]
    return steps


async def _assert_written_once(
    client: httpx.AsyncClient, card_id: str, run_id: uuid.UUID, steps: list[dict[str, Any]]
) -> None:
    """What the run's tool calls wrote is on the card once: one version of each document it wrote, one child card
    per create_child_card call (each linked to the card, which lists it), one comment per comment call."""
    calls = [call for step in steps for call in step["tool_calls"] if call["ok"]]
    written = {call["arguments"]["name"] for call in calls if call["tool"] == "write_document"}
    asked = sorted(call["arguments"]["title"] for call in calls if call["tool"] == "create_child_card")
    assert written
    assert asked
    documents = (await client.get(f"/api/cards/{card_id}/documents")).json()
    assert {d["name"]: (d["version"], d["run_id"], d["card_id"]) for d in documents} == dict.fromkeys(
        written, (1, str(run_id), card_id)
    )
    children = (await client.get(f"/api/cards/{card_id}/children")).json()
    assert sorted(child["title"] for child in children) == asked
    for child in children:
        linked = await client.get(f"/api/cards/{child['id']}")
        assert linked.json()["parent_id"] == card_id
    comments = (await client.get(f"/api/cards/{card_id}/comments")).json()
    assert [c["run_id"] for c in comments] == [str(run_id)] * sum(call["tool"] == "comment" for call in calls)
    [run] = (await client.get(f"/api/cards/{card_id}/runs")).json()["runs"]
    assert (run["id"], run["status"], run["attempt"], run["steps"]) == (str(run_id), "completed", 2, len(steps))


async def _assert_settled_once(fleet: DevFleet, run_id: uuid.UUID, steps: int) -> None:
    """One charge, counting every call the router recorded for the run: one success per step, and the call the
    kill cut off (recorded as cancelled) when it came mid-call."""

    def recorded() -> list[str]:
        return [r[0] for r in rows(fleet, "billing", "SELECT outcome FROM usage_records WHERE run_id = ?", run_id.hex)]

    def charged() -> list[Any]:
        return rows(fleet, "billing", "SELECT provider_calls, run_status FROM run_charges WHERE run_id = ?", run_id.hex)

    await poll(lambda: bool(charged()) and len(recorded()) == charged()[0][0])
    [(calls, status)] = charged()
    outcomes = sorted(recorded())
    assert status == "completed"
    assert outcomes in (["success"] * steps, ["cancelled", *["success"] * steps])
    settled = rows(fleet, "orchestrator", "SELECT 1 FROM outbox WHERE event_type = 'usage.run_settled'")
    assert len(settled) == 1
    assert len(rows(fleet, "billing", "SELECT 1 FROM inbox WHERE event_type = 'usage.run_settled'")) == 1
    [(orchestrator_calls,)] = rows(fleet, "orchestrator", "SELECT provider_calls FROM runs")
    assert calls == orchestrator_calls
