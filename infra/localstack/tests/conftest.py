from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from agentworks_localstack.threads import EmulatorThread
from agentworks_platform.service_auth import LocalTokenSigner

PUSHER = "pubsub-invoker@agentworks-local.iam.gserviceaccount.com"


@pytest.fixture
def signing_key(dev_key: bytes) -> bytes:
    return dev_key


@pytest.fixture
def emulator(tmp_path: Path, signing_key: bytes, monkeypatch: pytest.MonkeyPatch) -> Iterator[EmulatorThread]:
    thread = EmulatorThread(tmp_path / "pubsub.db", LocalTokenSigner(signing_key, PUSHER)).start()
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", thread.host)
    yield thread
    thread.close()
