from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from agentworks_events import AgentRunStarted, Event, to_message
from agentworks_events.samples import sample_events
from agentworks_platform.app import ServiceContext, create_service_app
from agentworks_platform.db import Database
from agentworks_platform.service_auth import LocalTokenSigner, ensure_dev_key
from agentworks_platform.settings import ServiceSettings
from agentworks_pubsub import PermanentEventError, PushMessage, PushReceiver, load_topology
from agentworks_pubsub.ownership import OwnershipUnavailableError
from sqlalchemy import Column, Integer, String, Table, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from .conftest import Tables

SUBSCRIPTION = "core-agent-runs"
PUSHER = "pubsub-invoker@agentworks-local.iam.gserviceaccount.com"
AUDIENCE = "http://127.0.0.1:8081"


class Effects:
    """A handler with a visible effect (a row in the outbox table, reused here as a side table)."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self.mode = "ok"
        self.calls = 0

    async def __call__(self, session: AsyncSession, event: Any, push: PushMessage) -> None:
        self.calls += 1
        await session.execute(
            insert(self.table).values(
                event_id=str(event.id),
                topic="effect",
                event_type=event.type,
                ordering_key="",
                data="{}",
                attributes="{}",
                created_at=event.occurred_at,
                publish_attempts=push.delivery_attempt,
            )
        )
        if self.mode == "transient":
            raise ConnectionError("database briefly unavailable")
        if self.mode == "permanent":
            raise PermanentEventError("run belongs to a deleted card")


class Harness:
    def __init__(self, client: httpx.AsyncClient, db: Database, tables: Tables, effects: Effects, key: bytes) -> None:
        self.client, self.db, self.tables, self.effects = client, db, tables, effects
        self.signer = LocalTokenSigner(key, PUSHER)

    async def push(
        self,
        event: Event | None = None,
        *,
        body: bytes | None = None,
        token: str | None = None,
        attempt: int = 1,
        attributes: dict[str, str] | None = None,
    ) -> httpx.Response:
        if body is None:
            assert event is not None
            message = to_message(event)
            body = json.dumps(
                {
                    "message": {
                        "data": base64.b64encode(message.data).decode(),
                        "attributes": message.attributes if attributes is None else attributes,
                        "messageId": str(time.time_ns()),
                        "publishTime": "2026-01-01T00:00:00Z",
                        "orderingKey": message.ordering_key,
                    },
                    "subscription": f"projects/agentworks/subscriptions/{SUBSCRIPTION}",
                    "deliveryAttempt": attempt,
                }
            ).encode()
        headers = {
            "authorization": f"Bearer {token if token is not None else self.signer.sign(AUDIENCE)}",
            "content-type": "application/json",
        }
        return await self.client.post(f"/_events/{SUBSCRIPTION}", content=body, headers=headers)

    async def count(self, table: Table) -> int:
        async with self.db.transaction() as session:
            return int(await session.scalar(select(func.count()).select_from(table)) or 0)


class Verdicts:
    """A subscription's verifier: ``refusing`` names events whose ids are another workspace's, ``unsure``
    those it cannot check yet."""

    def __init__(self) -> None:
        self.refusing: set[str] = set()
        self.unsure: set[str] = set()

    async def __call__(self, _ctx: ServiceContext, event: Any) -> None:
        if str(event.id) in self.refusing:
            raise PermanentEventError(f"card {event.card_id} belongs to another workspace")
        if str(event.id) in self.unsure:
            raise OwnershipUnavailableError("core answered 503")


@pytest.fixture
def verdicts() -> Verdicts:
    return Verdicts()


@pytest.fixture
async def harness(db: Database, tables: Tables, dev_key_file: Path, verdicts: Verdicts) -> AsyncIterator[Harness]:
    key_path = dev_key_file
    key = key_path.read_bytes()
    effects = Effects(tables.outbox)
    handlers = {SUBSCRIPTION: {"agent.run.started": effects}}
    receiver = PushReceiver(load_topology(), "core", tables.inbox, handlers, verifiers={SUBSCRIPTION: verdicts})
    settings = ServiceSettings(
        service_name="core", environment="test", port=8081, dev_signing_key_file=key_path, database_url=db.url
    )
    app = create_service_app(settings, title="t", description="t", routers=[receiver.router()], db=db)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url=AUDIENCE) as client:
            yield Harness(client, db, tables, effects, key)


def _started() -> AgentRunStarted:
    return next(e for e in sample_events() if isinstance(e, AgentRunStarted))


async def test_event_is_processed_once_and_recorded(harness: Harness) -> None:
    event = _started()
    assert (await harness.push(event)).status_code == 204
    assert (await harness.push(event, attempt=2)).status_code == 204
    assert harness.effects.calls == 1
    assert await harness.count(harness.tables.outbox) == 1
    async with harness.db.transaction() as session:
        row = (await session.execute(select(harness.tables.inbox))).one()
    assert (row.subscription, row.event_id, row.event_type, row.outcome) == (
        SUBSCRIPTION,
        str(event.id),
        "agent.run.started",
        "processed",
    )


async def test_event_types_without_handler_are_validated_and_recorded(harness: Harness) -> None:
    run_events = [e for e in sample_events() if e.type.startswith("agent.run.")]
    for event in run_events:
        assert (await harness.push(event)).status_code == 204
    assert await harness.count(harness.tables.inbox) == len(run_events)


async def test_transient_failure_answers_5xx_and_leaves_no_effect(harness: Harness) -> None:
    event = _started()
    harness.effects.mode = "transient"
    assert (await harness.push(event)).status_code == 503
    assert await harness.count(harness.tables.inbox) == 0
    assert await harness.count(harness.tables.outbox) == 0
    harness.effects.mode = "ok"
    assert (await harness.push(event, attempt=2)).status_code == 204
    assert await harness.count(harness.tables.outbox) == 1


async def test_permanent_failure_is_acked_recorded_and_not_retried(harness: Harness) -> None:
    event = _started()
    harness.effects.mode = "permanent"
    assert (await harness.push(event)).status_code == 204
    assert await harness.count(harness.tables.outbox) == 0
    async with harness.db.transaction() as session:
        outcome = await session.scalar(select(harness.tables.inbox.c.outcome))
    assert outcome == "rejected"
    harness.effects.mode = "ok"
    assert (await harness.push(event)).status_code == 204
    assert harness.effects.calls == 1


async def _inbox(harness: Harness) -> list[tuple[str, str, str | None]]:
    async with harness.db.transaction() as session:
        rows = await session.execute(
            select(harness.tables.inbox.c.event_id, harness.tables.inbox.c.outcome, harness.tables.inbox.c.detail)
        )
    return [tuple(row) for row in rows.all()]  # type: ignore[misc]


@pytest.mark.parametrize(
    "label",
    ["agent.run.log", "agent.run.completed", "AGENT.RUN.STARTED", "agent.run.started ", "", None],
)
async def test_a_message_whose_type_attribute_disagrees_with_its_event_is_rejected_and_recorded(
    harness: Harness, label: str | None
) -> None:
    event = _started()
    attributes = {k: v for k, v in to_message(event).attributes.items() if k != "type"}
    if label is not None:
        attributes["type"] = label
    assert (await harness.push(event, attributes=attributes)).status_code == 204
    assert harness.effects.calls == 0
    [(event_id, outcome, detail)] = await _inbox(harness)
    assert (event_id, outcome) == (str(event.id), "rejected")
    assert "type attribute" in (detail or "")
    assert (await harness.push(event, attempt=2)).status_code == 204  # correctly labelled, it is a duplicate
    assert harness.effects.calls == 0


async def test_an_event_its_verifier_refuses_is_rejected_and_recorded_without_effect(
    harness: Harness, verdicts: Verdicts
) -> None:
    event = _started()
    verdicts.refusing.add(str(event.id))
    assert (await harness.push(event)).status_code == 204
    assert harness.effects.calls == 0
    [(_, outcome, detail)] = await _inbox(harness)
    assert outcome == "rejected"
    assert "another workspace" in (detail or "")


async def test_an_event_its_verifier_cannot_check_yet_is_retried(harness: Harness, verdicts: Verdicts) -> None:
    event = _started()
    verdicts.unsure.add(str(event.id))
    assert (await harness.push(event)).status_code == 503
    assert (harness.effects.calls, await _inbox(harness)) == (0, [])
    verdicts.unsure.clear()
    assert (await harness.push(event, attempt=2)).status_code == 204
    assert harness.effects.calls == 1


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b'{"nomessage": true}',
        json.dumps({"message": {"data": "!!!notbase64", "messageId": "1"}}).encode(),
        json.dumps({"message": {"data": base64.b64encode(b"{}").decode(), "messageId": "1"}}).encode(),
        json.dumps(
            {
                "message": {
                    "data": base64.b64encode(b'{"type": "agent.run.exploded"}').decode(),
                    "messageId": "2",
                }
            }
        ).encode(),
        json.dumps({"message": {"data": "", "messageId": ""}}).encode(),
    ],
)
async def test_malformed_and_unknown_messages_are_acked_without_effect(harness: Harness, body: bytes) -> None:
    assert (await harness.push(body=body)).status_code == 204
    assert await harness.count(harness.tables.inbox) == 0
    assert harness.effects.calls == 0


@pytest.mark.parametrize(
    ("token_case", "status"),
    [("missing", 401), ("forged", 401), ("expired", 401), ("wrong audience", 403), ("not the pusher", 403)],
)
async def test_bad_push_tokens_are_refused_with_no_effect(
    harness: Harness, tmp_path: Path, token_case: str, status: int
) -> None:
    signer = harness.signer
    now = int(time.time())
    tokens = {  # made on demand: only the forged case needs a key of its own
        "missing": lambda: "",
        "forged": lambda: LocalTokenSigner(ensure_dev_key(tmp_path / "evil.pem"), PUSHER).sign(AUDIENCE),
        "expired": lambda: signer.sign(AUDIENCE, iat=now - 7200, exp=now - 3600),
        "wrong audience": lambda: signer.sign("http://127.0.0.1:8082"),
        "not the pusher": lambda: signer.sign(AUDIENCE, email="core@agentworks-local.iam.gserviceaccount.com"),
    }
    response = await harness.push(_started(), token=tokens[token_case]())
    assert response.status_code == status
    assert await harness.count(harness.tables.inbox) == 0
    assert harness.effects.calls == 0


async def test_consumer_span_continues_the_publishers_trace(harness: Harness) -> None:
    from agentworks_platform.telemetry import configure_tracing, current_traceparent
    from opentelemetry import trace
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    spans = InMemorySpanExporter()
    configure_tracing("tests", "none", "proj", extra_processor=SimpleSpanProcessor(spans))
    with trace.get_tracer("publisher").start_as_current_span("publish") as span:
        event = _started()
        traceparent = current_traceparent()
        trace_id = span.get_span_context().trace_id
    message = to_message(event, traceparent)
    body = json.dumps(
        {
            "message": {
                "data": base64.b64encode(message.data).decode(),
                "attributes": message.attributes,
                "messageId": "77",
            }
        }
    ).encode()
    assert (await harness.push(body=body)).status_code == 204
    consumed = [s for s in spans.get_finished_spans() if s.name == f"consume {SUBSCRIPTION}"]
    assert len(consumed) == 1
    assert consumed[0].context.trace_id == trace_id
    assert consumed[0].attributes is not None
    assert consumed[0].attributes["messaging.event.type"] == "agent.run.started"


class Accounts:
    """Handlers that create a workspace's row on its first event and count the rest: the two first events of a
    workspace both see no row, both insert, and one of them loses the race."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self._checked = 0
        self._both_checked = asyncio.Event()

    async def __call__(self, session: AsyncSession, event: Any, _push: PushMessage) -> None:
        key = str(event.workspace_id)
        found = await session.scalar(select(self.table.c.events).where(self.table.c.workspace == key))
        if found is not None:
            await session.execute(update(self.table).where(self.table.c.workspace == key).values(events=found + 1))
            return
        self._checked += 1
        if self._checked == 2:
            self._both_checked.set()
        await asyncio.wait_for(self._both_checked.wait(), 10)
        await session.execute(insert(self.table).values(workspace=key, events=1))


async def test_two_handlers_creating_the_same_row_both_succeed_through_the_path_of_an_existing_row(
    db: Database, tables: Tables, dev_key_file: Path
) -> None:
    if not db.is_postgres:
        pytest.skip("SQLite transactions of a process take turns: two handlers never interleave")
    accounts = Table(
        "accounts", tables.metadata, Column("workspace", String(36), primary_key=True), Column("events", Integer)
    )
    async with db.engine.begin() as connection:
        await connection.run_sync(accounts.create)
    key_path = dev_key_file
    handlers = {SUBSCRIPTION: {"agent.run.started": Accounts(accounts)}}
    receiver = PushReceiver(load_topology(), "core", tables.inbox, handlers)
    settings = ServiceSettings(
        service_name="core", environment="test", port=8081, dev_signing_key_file=key_path, database_url=db.url
    )
    app = create_service_app(settings, title="t", description="t", routers=[receiver.router()], db=db)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url=AUDIENCE) as client:
            harness = Harness(client, db, tables, Effects(tables.outbox), key_path.read_bytes())
            first = _started()
            second = first.model_copy(update={"id": uuid.uuid4()})
            answers = await asyncio.gather(harness.push(first), harness.push(second))
    assert [a.status_code for a in answers] == [204, 204]
    async with db.transaction() as session:
        assert (await session.execute(select(accounts.c.workspace, accounts.c.events))).all() == [
            (str(first.workspace_id), 2)
        ]
    assert await harness.count(tables.inbox) == 2
