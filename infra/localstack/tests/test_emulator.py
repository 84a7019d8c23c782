"""The emulator driven by the real google-cloud-pubsub client library."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from agentworks_localstack import cli
from agentworks_localstack.bootstrap import bootstrap
from agentworks_localstack.threads import AppThread, EmulatorThread
from agentworks_platform.service_auth import LOCAL_ISSUER, StaticCerts, TokenError, TokenVerifier
from agentworks_pubsub.topology import load_topology
from fastapi import FastAPI, Request, Response
from google.api_core.exceptions import AlreadyExists, InvalidArgument, NotFound
from google.cloud import pubsub_v1  # type: ignore[attr-defined]
from google.pubsub_v1 import types

from .conftest import PUSHER

PROJECT = "emulator-test"


def wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


class Probe:
    """A push endpoint that answers with scripted status codes and records what it received."""

    def __init__(self, key: bytes) -> None:
        self.statuses: list[int] = []
        self.default = 204
        self.received: list[dict[str, Any]] = []
        self.token_errors: list[str] = []
        self.lock = threading.Lock()
        self.verifier: TokenVerifier | None = None
        self.key = key
        app = FastAPI()
        app.add_api_route("/_events/probe", self.receive, methods=["POST"])
        self.app = app
        self.thread = AppThread(app)
        self.verifier = TokenVerifier(
            StaticCerts.from_private_key(key), self.thread.url, [PUSHER], issuers=[LOCAL_ISSUER]
        )

    async def receive(self, request: Request) -> Response:
        assert self.verifier is not None
        try:
            await self.verifier.verify(request.headers.get("authorization", "").removeprefix("Bearer "))
        except TokenError as exc:
            self.token_errors.append(exc.reason)
            return Response(status_code=exc.status)
        body = await request.json()
        with self.lock:
            status = self.statuses.pop(0) if self.statuses else self.default
            self.received.append({"at": time.monotonic(), "status": status, **body})
        return Response(status_code=status)

    def data(self) -> list[bytes]:
        import base64

        return [base64.b64decode(r["message"]["data"]) for r in self.received if r["status"] == 204]


@pytest.fixture
def probe(signing_key: bytes) -> Iterator[Probe]:
    probe = Probe(signing_key)
    probe.thread.start()
    yield probe
    probe.thread.stop()


def write_topology(tmp_path: Path, *, ordering: bool = False, attempts: int = 5) -> Path:
    topology = {
        "project": PROJECT,
        "topics": [{"name": "probe-events"}, {"name": "probe-dead-letter", "dead_letter": True}],
        "subscriptions": [
            {
                "name": "probe-push",
                "topic": "probe-events",
                "subscriber": "probe",
                "push_path": "/_events/probe",
                "retry": {"minimum_backoff_seconds": 0.1, "maximum_backoff_seconds": 0.4},
                "max_delivery_attempts": attempts,
                "dead_letter_topic": "probe-dead-letter",
                "enable_message_ordering": ordering,
            },
            {"name": "probe-dead-letter-sub", "topic": "probe-dead-letter"},
        ],
    }
    path = tmp_path / "topology.yaml"
    path.write_text(yaml.safe_dump(topology))
    return path


def setup_topology(path: Path, probe: Probe) -> pubsub_v1.PublisherClient:
    created = bootstrap(load_topology(path), PROJECT, {"probe": probe.thread.url}, PUSHER)
    assert len(created) == 4
    assert bootstrap(load_topology(path), PROJECT, {"probe": probe.thread.url}, PUSHER) == []
    return pubsub_v1.PublisherClient(publisher_options=pubsub_v1.types.PublisherOptions(enable_message_ordering=True))


def topic(name: str) -> str:
    return f"projects/{PROJECT}/topics/{name}"


def test_bootstrap_creates_subscriptions_as_configured(emulator: EmulatorThread, probe: Probe, tmp_path: Path) -> None:
    setup_topology(write_topology(tmp_path, ordering=True), probe)
    subscriber = pubsub_v1.SubscriberClient()
    sub = subscriber.get_subscription(request={"subscription": f"projects/{PROJECT}/subscriptions/probe-push"})
    assert sub.push_config.push_endpoint == f"{probe.thread.url}/_events/probe"
    assert sub.push_config.oidc_token.service_account_email == PUSHER
    assert sub.dead_letter_policy.max_delivery_attempts == 5
    assert sub.retry_policy.minimum_backoff == timedelta(milliseconds=100)
    assert sub.enable_message_ordering
    names = [s.name for s in subscriber.list_subscriptions(request={"project": f"projects/{PROJECT}"})]
    assert len(names) == 2


def test_bootstrap_turns_an_existing_push_subscription_into_a_pull_one_keeping_its_messages(
    emulator: EmulatorThread, probe: Probe, tmp_path: Path
) -> None:
    path = write_topology(tmp_path, attempts=100)
    setup_topology(path, probe)
    probe.default = 503  # nothing is accepted while it is still pushed
    publisher = pubsub_v1.PublisherClient()
    publisher.publish(topic("probe-events"), b"kept").result(timeout=10)
    raw = yaml.safe_load(path.read_text())
    del raw["subscriptions"][0]["push_path"]
    path.write_text(yaml.safe_dump(raw))
    assert bootstrap(load_topology(path), PROJECT, {"probe": probe.thread.url}, PUSHER) == ["push config of probe-push"]
    assert bootstrap(load_topology(path), PROJECT, {"probe": probe.thread.url}, PUSHER) == []
    subscriber = pubsub_v1.SubscriberClient()
    name = f"projects/{PROJECT}/subscriptions/probe-push"
    assert subscriber.get_subscription(request={"subscription": name}).push_config.push_endpoint == ""
    pulled: list[bytes] = []
    deadline = time.monotonic() + 20
    while not pulled and time.monotonic() < deadline:
        response = subscriber.pull(request={"subscription": name, "max_messages": 10}, timeout=5)
        pulled += [m.message.data for m in response.received_messages]
    assert pulled == [b"kept"]


def test_admin_errors_map_to_grpc_status_codes(emulator: EmulatorThread) -> None:
    publisher, subscriber = pubsub_v1.PublisherClient(), pubsub_v1.SubscriberClient()
    publisher.create_topic(request={"name": topic("t1")})
    with pytest.raises(AlreadyExists):
        publisher.create_topic(request={"name": topic("t1")})
    with pytest.raises(NotFound):
        publisher.get_topic(request={"topic": topic("missing")})
    with pytest.raises(NotFound):
        publisher.publish(topic("missing"), b"x").result(timeout=10)
    with pytest.raises(InvalidArgument):
        subscriber.create_subscription(
            request={
                "name": f"projects/{PROJECT}/subscriptions/s",
                "topic": topic("t1"),
                "filter": "attributes.a > 1",
            }
        )


def test_publish_and_streaming_pull_with_the_real_client(emulator: EmulatorThread) -> None:
    publisher, subscriber = pubsub_v1.PublisherClient(), pubsub_v1.SubscriberClient()
    publisher.create_topic(request={"name": topic("pulled")})
    subscription = f"projects/{PROJECT}/subscriptions/pulled-sub"
    subscriber.create_subscription(request={"name": subscription, "topic": topic("pulled")})
    sent = [publisher.publish(topic("pulled"), f"m{i}".encode(), n=str(i)).result(timeout=10) for i in range(20)]
    assert len(set(sent)) == 20
    received: list[bytes] = []

    def callback(message: Any) -> None:
        received.append(message.data)
        message.ack()

    future = subscriber.subscribe(subscription, callback)
    try:
        wait_for(lambda: len(received) >= 20)
        time.sleep(0.3)
    finally:
        future.cancel()
        with contextlib.suppress(FutureTimeout, Exception):  # a cancelled stream ends with an error
            future.result(timeout=5)
    assert sorted(received) == sorted(f"m{i}".encode() for i in range(20))
    assert subscriber.pull(request={"subscription": subscription, "max_messages": 10}).received_messages == []


def test_push_retries_with_backoff_then_dead_letters_and_cli_replays(
    emulator: EmulatorThread, probe: Probe, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_topology(tmp_path)
    publisher = setup_topology(path, probe)
    probe.default = 503
    publisher.publish(topic("probe-events"), b"doomed", type="probe.failed", event_id="e-1").result(timeout=10)
    subscriber = pubsub_v1.SubscriberClient()
    dead_sub = f"projects/{PROJECT}/subscriptions/probe-dead-letter-sub"
    wait_for(lambda: len(probe.received) >= 5)
    attempts = [r["deliveryAttempt"] for r in probe.received]
    assert attempts == [1, 2, 3, 4, 5]
    gaps = [b["at"] - a["at"] for a, b in zip(probe.received, probe.received[1:], strict=False)]
    assert gaps[0] >= 0.09
    assert gaps[2] >= 0.35  # 0.1, 0.2, 0.4 (capped), 0.4: the backoff grows
    assert probe.token_errors == []

    assert cli.main(["--project", PROJECT, "--topology", str(path), "dead-letters"]) == 0
    shown = capsys.readouterr().out
    assert "probe-dead-letter-sub: 1 dead letter(s)" in shown
    assert '"attempts": "5"' in shown
    time.sleep(0.6)
    assert len(probe.received) == 5  # no sixth attempt after dead-lettering

    probe.default = 204
    assert cli.main(["--project", PROJECT, "--topology", str(path), "replay"]) == 0
    assert "1 message(s) replayed" in capsys.readouterr().out
    wait_for(lambda: probe.data() == [b"doomed"])
    replayed = probe.received[-1]["message"]["attributes"]
    assert replayed["event_id"] == "e-1"
    assert not any(k.startswith("CloudPubSubDeadLetter") for k in replayed)
    assert subscriber.pull(request={"subscription": dead_sub, "max_messages": 10}).received_messages == []


def test_ordering_key_delivers_in_order_even_across_retries(
    emulator: EmulatorThread, probe: Probe, tmp_path: Path
) -> None:
    publisher = setup_topology(write_topology(tmp_path, ordering=True, attempts=10), probe)
    probe.statuses = [204, 204, 500, 500]  # the third message fails twice before it goes through
    futures = [publisher.publish(topic("probe-events"), f"{i:03d}".encode(), ordering_key="card-1") for i in range(25)]
    for future in futures:
        future.result(timeout=10)
    wait_for(lambda: len(probe.data()) == 25)
    assert probe.data() == [f"{i:03d}".encode() for i in range(25)]
    assert all(r["message"]["orderingKey"] == "card-1" for r in probe.received)


def test_messages_survive_an_emulator_restart(
    tmp_path: Path, signing_key: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = tmp_path / "durable.db"
    first = EmulatorThread(store, None).start()
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", first.host)
    publisher, subscriber = pubsub_v1.PublisherClient(), pubsub_v1.SubscriberClient()
    publisher.create_topic(request={"name": topic("durable")})
    subscription = f"projects/{PROJECT}/subscriptions/durable-sub"
    subscriber.create_subscription(request={"name": subscription, "topic": topic("durable")})
    publisher.publish(topic("durable"), b"keep me").result(timeout=10)
    leased = subscriber.pull(request={"subscription": subscription, "max_messages": 1})
    assert len(leased.received_messages) == 1  # leased but never acked when the process dies
    port = int(first.host.rsplit(":", 1)[1])
    first.close()

    second = EmulatorThread(store, None, port=port).start()
    try:
        again = pubsub_v1.SubscriberClient().pull(request={"subscription": subscription, "max_messages": 5})
        assert [m.message.data for m in again.received_messages] == [b"keep me"]
    finally:
        second.close()


def test_filters_route_only_matching_messages(emulator: EmulatorThread) -> None:
    publisher, subscriber = pubsub_v1.PublisherClient(), pubsub_v1.SubscriberClient()
    publisher.create_topic(request={"name": topic("usage")})
    subscription = f"projects/{PROJECT}/subscriptions/budgets"
    subscriber.create_subscription(
        request=types.Subscription(
            name=subscription, topic=topic("usage"), filter='hasPrefix(attributes.type, "usage.budget_")'
        )
    )
    for event_type in (
        "usage.recorded",
        "usage.budget_warning",
        "usage.run_settled",
        "usage.budget_exceeded",
    ):
        publisher.publish(topic("usage"), event_type.encode(), type=event_type).result(timeout=10)
    pulled = subscriber.pull(request={"subscription": subscription, "max_messages": 10})
    assert sorted(m.message.data for m in pulled.received_messages) == [
        b"usage.budget_exceeded",
        b"usage.budget_warning",
    ]
