"""Schemathesis against the gateway's merged OpenAPI document, on a fleet started as `make dev` starts it.

A user signs up, creates a workspace with a project and a card, and an API key; Schemathesis then calls every
operation of ``/api/openapi.json`` with that key and runs every check it has (no server error, status code,
content type, headers and body conforming to the document, valid input accepted and invalid input refused, …)
on a bounded number of generated examples per operation. Any server error or any response the document does
not describe fails the test.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from agentworks_localstack.dev_process import dev_fleet
from agentworks_localstack.fleet import free_port_offset

pytestmark = [pytest.mark.stack, pytest.mark.timeout(900)]

PASSWORD = "correct horse battery"
# Random examples per operation (and stateful scenarios): every operation is still called with each check, and the
# coverage phase still derives each operation's boundary and invalid values from its schema.
MAX_EXAMPLES = int(os.environ.get("AW_SCHEMATHESIS_EXAMPLES", "10"))
# The seed and the few documented exceptions to the checks (rules the document cannot state) live beside this file.
CONFIG = Path(__file__).with_name("schemathesis.toml")
SCHEMATHESIS = [sys.executable, "-m", "schemathesis.cli", "--config-file", str(CONFIG), "--no-color"]
# Every check `--checks all` runs but max_response_time, which `all` turns on with a 10 s limit: how fast an
# answer comes is the benchmarks' to judge, and on a loaded machine a fixed limit only makes this test flaky.
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "positive_data_acceptance",
    "missing_required_header",
    "unsupported_method",
    "allow_header_conformance",
    "use_after_free",
    "ensure_resource_availability",
    "ignored_auth",
    "object_level_authorization",
)


@dataclass(frozen=True)
class Account:
    """What the API key may reach: its workspace, one project and board, one card."""

    key: str
    workspace_id: str
    project_id: str
    board_id: str
    card_id: str


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    # Thousands of generated calls come from one key: the hourly limit would answer most of them 429.
    env = {**os.environ, "AW_GATEWAY_REQUESTS_PER_HOUR": "1000000"}
    with dev_fleet(tmp_path_factory.mktemp("fleet"), free_port_offset(), env) as url:
        yield url


@pytest.fixture(scope="module")
def account(gateway: str) -> Account:
    origin = gateway.replace("127.0.0.1", "localhost")
    with httpx.Client(base_url=gateway, headers={"origin": origin}, timeout=30) as client:
        signup = client.post("/api/auth/signup", json={"email": "fuzz@example.com", "password": PASSWORD})
        assert signup.status_code == 201, signup.text
        workspace = client.post("/api/workspaces", json={"name": "Fuzz"}).json()
        project = client.post(f"/api/workspaces/{workspace['id']}/projects", json={"name": "Shop"}).json()
        card = client.post(f"/api/projects/{project['id']}/cards", json={"title": "Checkout"}).json()
        key = client.post(f"/api/workspaces/{workspace['id']}/api-keys", json={"name": "schemathesis"})
        assert key.status_code == 201, key.text
    return Account(key.json()["key"], workspace["id"], project["id"], project["board_id"], card["id"])


def test_every_public_operation_answers_as_its_document_says(gateway: str, account: Account, tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    run = subprocess.run(
        [
            *SCHEMATHESIS,
            "run",
            f"{gateway}/api/openapi.json",
            "--url",
            gateway,
            "--header",
            f"Authorization: Bearer {account.key}",
            "--checks",
            ",".join(CHECKS),
            "--max-examples",
            str(MAX_EXAMPLES),
            "--workers",
            "2",
            "--generation-database",
            "none",
            "--report",
            "json",
            "--report-json-path",
            str(report),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=840,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-2000:]
