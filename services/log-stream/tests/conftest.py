from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from agentworks_core.app import create_app as create_core
from agentworks_core.config import CoreSettings
from agentworks_core.models import MIGRATIONS as CORE_MIGRATIONS
from agentworks_events import AgentRunLog, AgentRunStarted, AgentRunStep, LogLine, RunTokens, ToolCallRecord
from agentworks_events.runs import step_id_for
from agentworks_localstack.threads import AppThread, free_port
from agentworks_log_stream.app import create_app
from agentworks_log_stream.config import LogStreamSettings
from agentworks_log_stream.models import MIGRATIONS
from agentworks_platform.principal import Principal
from agentworks_platform.service_auth import LocalTokenSigner
from agentworks_platform.settings import dev_service_account
from agentworks_pubsub.testing import RecordingSink, push_envelope

PUSHER = "pubsub-invoker@agentworks-local.iam.gserviceaccount.com"


class Terminals:
    def __init__(self, core: AppThread, logs: AppThread, key: bytes) -> None:
        self.core = core
        self.logs = logs
        self.key = key
        self.owner = Principal(uuid.uuid4(), f"owner-{uuid.uuid4().hex[:6]}@example.com", None, "r", "")
        self.ids: dict[str, Any] = {}

    def gateway_headers(self, url: str, principal: Principal | None = None) -> dict[str, str]:
        token = LocalTokenSigner(self.key, dev_service_account("gateway")).sign(url)
        return {"authorization": f"Bearer {token}", **(principal or self.owner).headers()}

    def core_call(self, method: str, path: str, json: Any = None, principal: Principal | None = None) -> Any:
        response = httpx.request(
            method, f"{self.core.url}{path}", json=json, headers=self.gateway_headers(self.core.url, principal)
        )
        assert response.status_code < 300, response.text
        return response.json()

    def seed(self) -> None:
        workspace = self.core_call("POST", "/api/workspaces", {"name": "Acme"})
        project = self.core_call("POST", f"/api/workspaces/{workspace['id']}/projects", {"name": "Shop"})
        card = self.core_call("POST", f"/api/projects/{project['id']}/cards", {"title": "Checkout"})
        self.ids = {
            "workspace": uuid.UUID(workspace["id"]),
            "project": uuid.UUID(project["id"]),
            "card": uuid.UUID(card["id"]),
            "board": uuid.UUID(project["board_id"]),
        }

    def push(self, event: Any, subscription: str = "log-stream-agent-runs") -> None:
        body = push_envelope(event, subscription)
        token = LocalTokenSigner(self.key, PUSHER).sign(self.logs.url)
        response = httpx.post(
            f"{self.logs.url}/_events/{subscription}", json=body, headers={"authorization": f"Bearer {token}"}
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


@pytest.fixture
def terminals(
    migrated_database: Callable[[Path], str], tmp_path: Path, dev_key_file: Path, request: pytest.FixtureRequest
) -> Iterator[Terminals]:
    key_path = dev_key_file
    key = key_path.read_bytes()
    queue_size = getattr(request, "param", 1000)
    core_port, logs_port = free_port(), free_port()
    core = AppThread(
        create_core(
            CoreSettings(
                environment="test",
                dev_signing_key_file=key_path,
                port=core_port,
                database_url=migrated_database(CORE_MIGRATIONS),
            ),
            sink=RecordingSink(),
        ),
        port=core_port,
    ).start()
    database = migrated_database(MIGRATIONS)

    def instance(port: int, **overrides: Any) -> AppThread:
        settings = LogStreamSettings(
            environment="test",
            dev_signing_key_file=key_path,
            port=port,
            database_url=database,
            core_url=core.url,
            client_queue_size=queue_size,
            blobs_dir=tmp_path / "blobs",
            retain_lines_hours=0,
            **overrides,
        )
        return AppThread(create_app(settings), port=port).start()

    logs = instance(logs_port)
    made = Terminals(core, logs, key)
    made.instance = instance  # type: ignore[attr-defined]
    made.blobs_dir = tmp_path / "blobs"  # type: ignore[attr-defined]
    made.seed()
    yield made
    logs.stop()
    core.stop()
