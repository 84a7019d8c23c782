from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from agentworks_localstack.threads import AppThread, free_port
from agentworks_platform.service_auth import LocalTokenSigner
from agentworks_platform.settings import dev_service_account
from agentworks_platform.testing import Templates
from agentworks_provider_router.app import create_app
from agentworks_provider_router.config import ProviderRouterSettings
from agentworks_provider_router.models import MIGRATIONS
from agentworks_pubsub.testing import RecordingSink, settled

from .fakes import ProviderFake

WORKSPACE = "6f0e2c3a-1111-4a4a-9b9b-000000000001"
PROJECT = "6f0e2c3a-1111-4a4a-9b9b-000000000002"
META = {"x-aw-workspace-id": WORKSPACE, "x-aw-project-id": PROJECT, "x-aw-agent": "prd"}


class ManualClock:
    """A monotonic clock that stands still until the test moves it: cool-downs without waiting for them."""

    def __init__(self) -> None:
        self.now = time.monotonic()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class RouterUnderTest:
    def __init__(self, thread: AppThread, sink: RecordingSink, key: bytes, fake: ProviderFake | None) -> None:
        self.thread = thread
        self._sink = sink
        self._key = key
        self.token = self.token_of("orchestrator")  # the router's caller for completions and images
        self.fake = fake

    def token_of(self, caller: str) -> str:
        return LocalTokenSigner(self._key, dev_service_account(caller)).sign(self.thread.url)

    @property
    def url(self) -> str:
        return self.thread.url

    @property
    def sink(self) -> RecordingSink:
        """What the router published, once its background publishes are done."""
        settled(self.thread.app)
        return self._sink

    def usage(self) -> list[Any]:
        return [e for e in self.sink.events() if e.type == "usage.recorded"]

    def usage_when(self, count: int, timeout: float = 10.0) -> list[Any]:
        """The usage records once there are ``count`` of them (or what there is at the deadline)."""
        deadline = time.monotonic() + timeout
        while len(records := self.usage()) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return records


@pytest.fixture(scope="module")
def fake() -> Iterator[ProviderFake]:
    provider = ProviderFake()
    thread = AppThread(provider.app).start()
    provider.base_url = thread.url  # type: ignore[attr-defined]
    yield provider
    thread.stop()


@pytest.fixture
def start_router(
    tmp_path: Path, dev_key_file: Path, templates: Templates, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., RouterUnderTest]]:
    started: list[AppThread] = []

    def start(
        fake: ProviderFake | None = None, clock: Callable[[], float] = time.monotonic, **overrides: Any
    ) -> RouterUnderTest:
        key_path = dev_key_file
        key = key_path.read_bytes()
        database = templates.sqlite(MIGRATIONS, tmp_path / f"router-{len(started)}.db")
        if fake is not None:
            base = fake.base_url  # type: ignore[attr-defined]
            for variable in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GOOGLE_API_KEY"):
                monkeypatch.setenv(variable, "sk-test-provider-key-123456")
            overrides = {
                "openai_base_url": f"{base}/v1",
                "anthropic_base_url": base,
                "google_base_url": base,
                "backoff_base_seconds": 0.05,
                "call_timeout_seconds": 1.0,
                **overrides,
            }
        port = free_port()
        settings = ProviderRouterSettings(
            environment="test",
            dev_signing_key_file=key_path,
            database_url=database,
            port=port,
            offline_token_delay=0,
            blobs_dir=tmp_path / "blobs",
            **overrides,
        )
        sink = RecordingSink()
        thread = AppThread(create_app(settings, sink=sink, clock=clock), port=port).start()
        started.append(thread)
        return RouterUnderTest(thread, sink, key, fake)

    yield start
    for thread in started:
        thread.stop()


@pytest.fixture
def router(start_router: Callable[..., RouterUnderTest], fake: ProviderFake) -> RouterUnderTest:
    """A router on the wire fakes."""
    return start_router(fake)


@pytest.fixture
async def sdk(router: RouterUnderTest) -> AsyncIterator[openai.AsyncOpenAI]:
    """The official SDK calling the router as an agent's run does (no retries of its own)."""
    client = openai.AsyncOpenAI(api_key=router.token, base_url=f"{router.url}/v1", default_headers=META, max_retries=0)
    yield client
    await client.close()
