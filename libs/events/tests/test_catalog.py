from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from uuid import uuid4

import pytest
from agentworks_events import (
    AGENT_RUNS,
    CARD_EVENTS,
    USAGE_EVENTS,
    AgentRunCompleted,
    AgentRunLog,
    CardMoved,
    CardSnapshot,
    ChildCardArtifact,
    LogLine,
    RunArtifacts,
    RunTokens,
    UnknownEventError,
    UsageRunSettled,
    event_types,
    parse_event,
    to_message,
    topic_of,
)
from agentworks_events.samples import sample_events
from pydantic import ValidationError

DESIGN_TYPES = {
    CARD_EVENTS: {
        "card.created",
        "card.updated",
        "card.moved",
        "card.deleted",
        "card.archived",
        "card.unarchived",
        "card.run_requested",
        "card.approved",
        "card.rejected",
        "notification.created",
        "project.deleted",
    },
    AGENT_RUNS: {
        "agent.run.started",
        "agent.run.log",
        "agent.run.step",
        "agent.run.completed",
        "agent.run.failed",
        "agent.run.cancelled",
        "agent.run.skipped",
        "code.merged",
    },
    USAGE_EVENTS: {
        "usage.recorded",
        "usage.run_settled",
        "usage.budget_warning",
        "usage.budget_exceeded",
        "usage.budget_changed",
    },
}


@pytest.mark.parametrize("topic", sorted(DESIGN_TYPES))
def test_every_design_event_type_is_in_its_topic_union(topic: str) -> None:
    assert set(event_types(topic)) == DESIGN_TYPES[topic]


def test_samples_cover_every_type_and_round_trip_through_a_message() -> None:
    samples = sample_events()
    assert {e.type for e in samples} == set().union(*DESIGN_TYPES.values())
    for event in samples:
        message = to_message(event, traceparent="00-" + "a" * 32 + "-" + "b" * 16 + "-01")
        parsed = parse_event(topic_of(event), message.data)
        assert parsed == event
        assert message.attributes["type"] == event.type
        assert message.attributes["event_id"] == str(event.id)
        assert message.attributes["workspace_id"] == str(event.workspace_id)
        assert message.attributes["traceparent"].startswith("00-")


def test_ordering_keys_follow_design() -> None:
    by_type = {e.type: e for e in sample_events()}
    moved = by_type["card.moved"]
    assert to_message(moved).ordering_key == str(moved.card_id)
    log = by_type["agent.run.log"]
    assert to_message(log).ordering_key == str(log.run_id)


def test_events_are_frozen() -> None:
    event = sample_events()[0]
    with pytest.raises(ValidationError):
        event.workspace_id = uuid4()  # type: ignore[misc]


def test_money_is_exact_decimal_on_the_wire() -> None:
    settled = next(e for e in sample_events() if isinstance(e, UsageRunSettled))
    body = json.loads(to_message(settled).data)
    assert isinstance(body["cost"], str)
    assert Decimal(body["cost"]) == settled.cost
    assert isinstance(body["price"], str)
    assert parse_event(USAGE_EVENTS, to_message(settled).data).price == settled.price


@pytest.mark.parametrize(
    ("topic", "data"),
    [
        (CARD_EVENTS, b"not json"),
        (CARD_EVENTS, b'{"type": "card.teleported"}'),
        (AGENT_RUNS, json.dumps({"type": "agent.run.log", "lines": []}).encode()),
        (USAGE_EVENTS, b"{}"),
        ("no-such-topic", b"{}"),
    ],
)
def test_malformed_or_unknown_events_raise_one_error_type(topic: str, data: bytes) -> None:
    with pytest.raises(UnknownEventError):
        parse_event(topic, data)


def test_unknown_fields_are_ignored_for_additive_evolution() -> None:
    moved = next(e for e in sample_events() if isinstance(e, CardMoved))
    body = json.loads(to_message(moved).data)
    body["added_in_a_later_version"] = 42
    assert parse_event(CARD_EVENTS, json.dumps(body).encode()) == moved


def test_event_on_wrong_topic_is_rejected() -> None:
    log = AgentRunLog(
        workspace_id=uuid4(),
        project_id=uuid4(),
        run_id=uuid4(),
        agent="prd",
        lines=(LogLine(seq=1, at=datetime.now(UTC), text="hi"),),
    )
    with pytest.raises(UnknownEventError):
        parse_event(CARD_EVENTS, to_message(log).data)


def test_completed_run_carries_artifacts() -> None:
    completed = AgentRunCompleted(
        workspace_id=uuid4(),
        project_id=uuid4(),
        run_id=uuid4(),
        card_id=uuid4(),
        agent="architect",
        provider="anthropic",
        model="claude",
        tokens=RunTokens(input_tokens=10, output_tokens=5),
        cost=Decimal("0.01"),
        price=Decimal("0.25"),
        duration_ms=1200,
        last_seq=3,
        artifacts=RunArtifacts(summary="done"),
    )
    assert parse_event(AGENT_RUNS, to_message(completed).data) == completed
    with pytest.raises(ValidationError):
        CardSnapshot(card_id=uuid4(), board_id=uuid4(), lane_id=uuid4(), lane_number=-1, title="x", position=0)


@pytest.mark.parametrize(
    ("named", "kept"), [("bug", "bug"), ("spike", "spike"), ("feature-request-from-the-prd", "task")]
)
def test_a_child_card_of_a_type_the_board_does_not_know_becomes_a_task(named: str, kept: str) -> None:
    assert ChildCardArtifact(title="Checkout", card_type=named).card_type == kept
