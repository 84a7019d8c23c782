from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from agentworks_events import AgentRunLog, AgentRunStarted, AgentRunStep, LogLine, RunTokens, ToolCallRecord
from agentworks_events.runs import step_id_for
from agentworks_localstack.threads import AppThread, free_port
from agentworks_log_stream.app import create_app
from agentworks_log_stream.config import LogStreamSettings
from agentworks_log_stream.models import MIGRATIONS
from agentworks_platform.internal_http import InternalClient
from agentworks_platform.peer_stub import CoreDirectory, PeerStub
from agentworks_platform.principal import Principal
from agentworks_platform.service_auth import LocalTokenSigner
from agentworks_platform.settings import dev_service_account
from agentworks_pubsub.testing import push_envelope

PUSHER = "pubsub-invoker@agentworks-local.iam.gserviceaccount.com"
CORE_URL = "http://127.0.0.1:8081"


class Terminals:
    """Log-stream on a real socket, core a stub (``directory``) holding one workspace with a card its owner reads."""

    def __init__(self, directory: CoreDirectory, logs: AppThread, key: bytes) -> None:
        self.directory = directory
        self.logs = logs
        self.key = key
        self.owner = Principal(uuid.uuid4(), f"owner-{uuid.uuid4().hex[:6]}@example.com", None, "r", "")
        self.tenancy = directory.tenancy(self.owner.user_id)
        tenancy = self.tenancy
        self.ids: dict[str, Any] = {
            "workspace": tenancy.workspace,
            "project": tenancy.project,
            "card": tenancy.card,
            "board": tenancy.board,
        }

    def gateway_headers(self, url: str, principal: Principal | None = None) -> dict[str, str]:
        token = LocalTokenSigner(self.key, dev_service_account("gateway")).sign(url)
        return {"authorization": f"Bearer {token}", **(principal or self.owner).headers()}

    def push(self, event: Any, subscription: str = "log-stream-agent-runs") -> None:
        body = push_envelope(event, subscription)
        token = LocalTokenSigner(self.key, PUSHER).sign(self.logs.url)
        response = httpx.post(  # a batch of 5000 lines takes longer than httpx's 5 s default on a busy machine
            f"{self.logs.url}/_events/{subscription}",
            json=body,
            headers={"authorization": f"Bearer {token}"},
            timeout=30,
        )
        assert response.status_code == 204, response.text

    def started(self, run_id: uuid.UUID) -> AgentRunStarted:
        return AgentRunStarted(
            workspace_id=self.ids["workspace"],
            project_id=self.ids["project"],
            run_id=run_id,
            card_id=self.ids["card"],
            agent="prd",
            provider="offline",
            model="offline-small",
            trigger_event_id=uuid.uuid4(),
        )

    def batch(
        self, run_id: uuid.UUID, seqs: list[int], event_id: uuid.UUID | None = None, width: int = 0
    ) -> AgentRunLog:
        lines = tuple(LogLine(seq=s, at=datetime.now(UTC), text=f"line {s} " + "x" * width) for s in seqs)
        return AgentRunLog(
            id=event_id or uuid.uuid4(),
            workspace_id=self.ids["workspace"],
            project_id=self.ids["project"],
            run_id=run_id,
            card_id=self.ids["card"],
            agent="prd",
            lines=lines,
        )

    def step(
        self, run_id: uuid.UUID, step: int, agent: str = "prd", calls: tuple[ToolCallRecord, ...] = (), text: str = ""
    ) -> AgentRunStep:
        return AgentRunStep(
            id=step_id_for(run_id, step),
            workspace_id=self.ids["workspace"],
            project_id=self.ids["project"],
            run_id=run_id,
            card_id=self.ids["card"],
            agent=agent,
            step=step,
            text=text or f"Step **{step}** of {agent}.",
            tool_calls=calls,
            tokens=RunTokens(input_tokens=10 * step, output_tokens=step),
            cost=Decimal("0.001") * step,
            duration_ms=5,
        )

    def ws_url(self, query: str = "") -> str:
        return f"ws://127.0.0.1:{self.logs.port}/api/cards/{self.ids['card']}/terminal{query}"


def listening(instance: AppThread, timeout: float = 10) -> AppThread:
    """``instance`` once it is ready: on PostgreSQL its listener has connected, so no client opened before then
    gets the listener's first ``resync``."""
    deadline = time.monotonic() + timeout
    while httpx.get(f"{instance.url}/readyz").status_code != 200:
        assert time.monotonic() < deadline, f"log-stream on port {instance.port} never became ready"
        time.sleep(0.02)
    return instance


@pytest.fixture
def terminals(
    migrated_database: Callable[[Path], str],
    tmp_path: Path,
    dev_key_file: Path,
    dev_key: bytes,
    request: pytest.FixtureRequest,
    peer_stub: Callable[[str], PeerStub],
) -> Iterator[Terminals]:
    queue_size = getattr(request, "param", 1000)
    core = peer_stub("core")
    directory = CoreDirectory(core)
    database = migrated_database(MIGRATIONS)

    def instance(port: int, **overrides: Any) -> AppThread:
        settings = LogStreamSettings(
            environment="test",
            dev_signing_key_file=dev_key_file,
            port=port,
            database_url=database,
            core_url=CORE_URL,
            client_queue_size=queue_size,
            blobs_dir=tmp_path / "blobs",
            retain_lines_hours=0,
            **overrides,
        )
        core_client = InternalClient(
            CORE_URL, LocalTokenSigner(dev_key, dev_service_account("log-stream")), transport=core
        )
        return listening(AppThread(create_app(settings, core_client=core_client), port=port).start())

    logs = instance(free_port())
    made = Terminals(directory, logs, dev_key)
    made.instance = instance  # type: ignore[attr-defined]
    made.blobs_dir = tmp_path / "blobs"  # type: ignore[attr-defined]
    yield made
    logs.stop()
