from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from agentworks_pubsub.topology import TopologyError, load_topology, parse_topology

REQUIRED_PUSH = {
    ("orchestrator", "card-events"),
    ("log-stream", "card-events"),
    ("core", "agent-runs"),
    ("log-stream", "agent-runs"),
    ("orchestrator", "usage-events"),
    ("core", "usage-events"),  # budget warnings for owners' inboxes, filtered to usage.budget_*
}
REQUIRED_PULL = {("billing", "usage-events")}


def _raw() -> dict[str, object]:
    return yaml.safe_load(Path(load_topology.__globals__["DEFAULT_PATH"]).read_text())  # type: ignore[no-any-return]


def test_repository_topology_has_every_required_subscription() -> None:
    topology = load_topology()
    assert {t.name for t in topology.event_topics()} == {"card-events", "agent-runs", "usage-events"}
    assert {(s.subscriber, s.topic) for s in topology.push_subscriptions()} == REQUIRED_PUSH
    assert {(s.subscriber, s.topic) for s in topology.pull_subscriptions()} == REQUIRED_PULL
    assert topology.pull_subscriptions("billing") == [topology.subscription("billing-usage-events")]
    assert topology.push_subscriptions("billing") == []


def test_every_subscription_of_a_service_dead_letters_to_a_subscribed_topic() -> None:
    topology = load_topology()
    subscribed = {s.topic for s in topology.subscriptions}
    for sub in topology.push_subscriptions() + topology.pull_subscriptions():
        assert sub.dead_letter_topic in subscribed
        assert sub.max_delivery_attempts is not None
        assert sub.push_path is None or sub.push_path.startswith("/_events/")
        assert sub.retry.minimum_backoff_seconds <= sub.retry.maximum_backoff_seconds


def _mutated(change: str) -> str:
    raw = _raw()
    subs = raw["subscriptions"]
    topics = raw["topics"]
    assert isinstance(subs, list)
    assert isinstance(topics, list)
    if change == "unknown topic":
        subs[0]["topic"] = "nope-events"
    elif change == "no dead letter":
        del subs[0]["dead_letter_topic"]
        del subs[0]["max_delivery_attempts"]
    elif change == "unsubscribed dead letter":
        raw["subscriptions"] = [s for s in subs if s["name"] != "card-events-dead-letter-sub"]
    elif change == "backoff inverted":
        subs[0]["retry"] = {"minimum_backoff_seconds": 90, "maximum_backoff_seconds": 10}
    elif change == "bad push path":
        subs[0]["push_path"] = "/events"
    elif change == "push path without subscriber":
        del subs[0]["subscriber"]
    elif change == "pull without dead letter":
        pulled = next(s for s in subs if s["name"] == "billing-usage-events")
        del pulled["dead_letter_topic"]
        del pulled["max_delivery_attempts"]
    elif change == "too few attempts":
        subs[0]["max_delivery_attempts"] = 2
    elif change == "unknown key":
        subs[0]["ack_deadline"] = 10
    elif change == "duplicate name":
        subs[1]["name"] = subs[0]["name"]
    return yaml.safe_dump(raw)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("unknown topic", "unknown topic 'nope-events'"),
        ("no dead letter", "needs a dead_letter_topic"),
        ("unsubscribed dead letter", "card-events-dead-letter has no subscription"),
        ("backoff inverted", "minimum_backoff_seconds must not exceed"),
        ("bad push path", "push_path"),
        ("push path without subscriber", "a push_path needs a subscriber"),
        ("pull without dead letter", "subscription billing-usage-events of billing needs a dead_letter_topic"),
        ("too few attempts", "max_delivery_attempts"),
        ("unknown key", "ack_deadline"),
        ("duplicate name", "duplicate subscription names"),
    ],
)
def test_invalid_topology_is_rejected_with_a_clear_error(change: str, message: str) -> None:
    with pytest.raises(TopologyError, match="invalid topology") as error:
        parse_topology(_mutated(change), "topology.yaml")
    assert message in str(error.value)
    assert str(error.value).startswith("topology.yaml:")


def test_unreadable_and_non_yaml_files_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(TopologyError, match="cannot read topology"):
        load_topology(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("topics: [unclosed")
    with pytest.raises(TopologyError, match="not valid YAML"):
        load_topology(bad)
    bad.write_text("- a list")
    with pytest.raises(TopologyError, match="mapping at the top level"):
        load_topology(bad)


def test_environment_variable_selects_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = tmp_path / "topology.yaml"
    other.write_text(yaml.safe_dump(_raw() | {"project": "elsewhere"}))
    monkeypatch.setenv("AW_TOPOLOGY_FILE", str(other))
    assert load_topology().project == "elsewhere"
