"""A message's ``type`` attribute may lie; subscription filters route on it anyway. Whatever the label, some
consumer of the topic receives the message (and, the label disagreeing with the payload, rejects and records
it): a topic's filters are complementary or sit beside an unfiltered subscription (DESIGN §3)."""

from __future__ import annotations

import pytest
from agentworks_events.catalog import TOPIC_ADAPTERS, event_types
from agentworks_localstack.filters import compile_filter
from agentworks_pubsub import load_topology

TOPOLOGY = load_topology()
ALL_TYPES = [t for topic in TOPIC_ADAPTERS for t in event_types(topic)]


@pytest.mark.parametrize("topic", list(TOPIC_ADAPTERS))
def test_every_label_reaches_a_consumer_of_the_topic(topic: str) -> None:
    consumers = [s for s in TOPOLOGY.subscriptions if s.topic == topic and s.subscriber]
    assert consumers
    labels: list[dict[str, str]] = [{}, {"type": ""}, {"type": "anything.else"}]
    labels += [{"type": label} for label in ALL_TYPES]
    for attributes in labels:
        reached = [s.name for s in consumers if compile_filter(s.filter)(attributes)]
        assert reached, f"a {topic} message labelled {attributes} reaches no consumer and would vanish"


@pytest.mark.parametrize(
    ("label", "reaches"),
    [
        ("card.moved", {"orchestrator-card-events", "log-stream-card-events"}),
        ("notification.created", {"log-stream-card-events"}),  # a person's, never a run's concern
        ("project.deleted", {"orchestrator-card-events"}),  # its repository's concern, shown on no board
    ],
)
def test_card_events_reach_only_the_consumers_that_act_on_them(label: str, reaches: set[str]) -> None:
    consumers = [s for s in TOPOLOGY.subscriptions if s.topic == "card-events" and s.subscriber]
    assert {s.name for s in consumers if compile_filter(s.filter)({"type": label})} == reaches
