"""Conformance with the official OpenAI Node SDK: the suite in ``conformance-node/`` (``node --test``) drives
one router on the wire fakes, as the Python conformance does, through a control API that scripts the fakes
and shows what they received and what the router metered."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from agentworks_localstack.threads import AppThread
from fastapi import FastAPI

from .conftest import META, RouterUnderTest
from .fakes import ProviderFake

SUITE = Path(__file__).resolve().parents[1] / "conformance-node"
SUITE_SECONDS = 240
SUMMARY = re.compile(r"^# (tests|pass|fail|cancelled|skipped|todo) (\d+)$", re.MULTILINE)


def harness_app(router: RouterUnderTest, fake: ProviderFake) -> FastAPI:
    """The control API the Node cases use: the fakes' scripts and requests, and the router's usage records."""
    app = FastAPI()

    @app.post("/reset")
    def reset() -> dict[str, bool]:
        fake.reset()
        return {"reset": True}

    @app.post("/script/{api}")
    def script(api: str, body: dict[str, list[str]]) -> dict[str, list[str]]:
        fake.script(api, *body["scenarios"])
        return {"script": fake.scripts[api]}

    @app.get("/requests/{api}")
    def requests(api: str) -> dict[str, list[Any]]:
        return {"requests": fake.requests[api], "rejections": fake.rejections[api]}

    @app.get("/usage")
    def usage() -> dict[str, list[Any]]:
        return {"events": [event.model_dump(mode="json") for event in router.usage()]}

    return app


@pytest.fixture
def harness(start_router: Callable[..., RouterUnderTest], fake: ProviderFake) -> Iterator[dict[str, str]]:
    """One router for every case (no retries, so each scripted failure is answered as it is), its control API,
    and the environment the Node suite reads them from."""
    router = start_router(fake, max_attempts=1, call_timeout_seconds=30)
    control = AppThread(harness_app(router, fake)).start()
    yield {
        "ROUTER_URL": router.url,
        "ROUTER_TOKEN": router.token,
        "ROUTER_MODELS_TOKEN": router.token_of("core"),
        "ROUTER_HEADERS": json.dumps(META),
        "HARNESS_URL": control.url,
    }
    control.stop()


def failures(tap: str) -> str:
    """The failing cases of a TAP report, each with its diagnostics (what was expected, what came)."""
    blocks = re.split(r"(?m)^(?=\s*(?:# Subtest: |(?:not )?ok \d+ - ))", tap)
    failed = [block.rstrip() for block in blocks if re.match(r"\s*not ok \d+ - ", block)]
    return "\n".join(failed) or tap[-6000:]


@pytest.mark.timeout(SUITE_SECONDS + 30)
def test_the_node_sdk_conformance_suite_passes(harness: dict[str, str]) -> None:
    node = shutil.which("node")
    assert node, "Node.js is needed for the Node SDK conformance suite"
    assert (SUITE / "node_modules" / "openai").is_dir(), f"run `npm ci` in {SUITE} (make test does)"
    run = subprocess.run(
        [node, "--test", "--test-concurrency=1", "--test-reporter=tap", "test/"],
        cwd=SUITE,
        env={**os.environ, **harness},
        capture_output=True,
        text=True,
        timeout=SUITE_SECONDS,
        check=False,
    )
    counts = {name: int(count) for name, count in SUMMARY.findall(run.stdout)}
    failed = run.returncode != 0 or counts.get("fail") != 0
    report = f"{failures(run.stdout)}\n{run.stderr[-3000:]}"
    assert not failed, f"the Node SDK conformance suite failed ({counts}):\n{report}"
    assert counts.get("pass", 0) >= 90, f"the Node SDK conformance suite ran too few cases: {counts}"
