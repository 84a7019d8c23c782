"""The tool-using run's events: steps with their tool calls and effects, skipped runs, limits on completion."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest
from agentworks_events import (
    AGENT_RUNS,
    AgentRunCompleted,
    AgentRunSkipped,
    AgentRunStep,
    ChildCardEffect,
    DocumentWriteEffect,
    MoveRequestEffect,
    RunArtifacts,
    RunTokens,
    ToolCallRecord,
    parse_event,
    step_id_for,
    to_message,
)
from agentworks_events.samples import sample_events
from pydantic import ValidationError

TOO_LONG_TYPE = "image/" + "x" * 59


def _ids() -> dict[str, Any]:
    return {"workspace_id": uuid4(), "project_id": uuid4(), "run_id": uuid4(), "card_id": uuid4(), "agent": "prd"}


def _step(**fields: Any) -> AgentRunStep:
    return AgentRunStep(**_ids(), step=1, tokens=RunTokens(), cost=Decimal(0), **fields)


def test_a_step_round_trips_with_every_kind_of_effect() -> None:
    step = next(e for e in sample_events() if isinstance(e, AgentRunStep))
    parsed = parse_event(AGENT_RUNS, to_message(step).data)
    assert isinstance(parsed, AgentRunStep)
    assert parsed == step
    assert {effect.kind for effect in parsed.effects} == {
        "document.write",
        "card.create_child",
        "card.update",
        "card.checklist",
        "card.comment",
        "card.request_move",
        "image.generated",
    }


def test_effects_are_told_apart_by_kind_on_the_wire() -> None:
    step = _step(effects=(MoveRequestEffect(call_id="a", reason="done"),))
    body = json.loads(to_message(step).data)
    body["effects"][0]["kind"] = "card.teleport"
    with pytest.raises(ValueError, match=r"card\.teleport"):
        parse_event(AGENT_RUNS, json.dumps(body).encode())


def test_a_step_id_is_derived_from_its_run_and_number() -> None:
    run = uuid4()
    assert step_id_for(run, 1) == step_id_for(run, 1)
    assert step_id_for(run, 1) != step_id_for(run, 2)
    assert step_id_for(run, 1) != step_id_for(uuid4(), 1)


def test_two_effects_of_one_step_cannot_share_a_call_id() -> None:
    with pytest.raises(ValidationError, match="its own call_id"):
        _step(
            effects=(
                DocumentWriteEffect(call_id="same", name="prd", title="PRD", content="#"),
                MoveRequestEffect(call_id="same"),
            )
        )


@pytest.mark.parametrize(
    "bad",
    [
        {"step": 0},
        {"tool_calls": [{"call_id": "c", "tool": "read_document", "ok": True, "result": "x" * 8001}]},
        {"tool_calls": [{"call_id": "", "tool": "read_document", "ok": True}]},
        {"effects": [{"kind": "document.write", "call_id": "c", "name": "Not A Slug", "title": "t", "content": ""}]},
        {"effects": [{"kind": "card.create_child", "call_id": "c", "title": ""}]},
        {"effects": [{"kind": "image.generated", "call_id": "c", "name": "a.png", "content_type": TOO_LONG_TYPE}]},
    ],
)
def test_a_step_refuses_what_core_could_not_apply(bad: dict[str, Any]) -> None:
    fields: dict[str, Any] = {"step": 1, "tokens": {}, "cost": "0", **bad}
    with pytest.raises(ValidationError):
        AgentRunStep.model_validate({**_ids(), **fields})


def test_a_tool_call_keeps_its_arguments_as_json() -> None:
    call = ToolCallRecord(call_id="c", tool="write_document", arguments={"name": "prd", "tags": [1, None]}, ok=False)
    assert ToolCallRecord.model_validate_json(call.model_dump_json()) == call
    assert call.error is None


def test_a_child_card_of_an_unknown_type_is_a_task() -> None:
    assert ChildCardEffect(call_id="c", title="API", card_type="feature").card_type == "task"


def test_a_skipped_run_names_one_of_the_known_reasons() -> None:
    skipped = AgentRunSkipped(**_ids(), reason_code="budget_exceeded", reason="The workspace's budget is spent.")
    assert parse_event(AGENT_RUNS, to_message(skipped).data) == skipped
    assert to_message(skipped).ordering_key == str(skipped.run_id)
    with pytest.raises(ValidationError):
        AgentRunSkipped(**_ids(), reason_code="bored", reason="no")


def test_a_completed_run_from_before_steps_still_parses_and_says_it_took_none() -> None:
    completed = AgentRunCompleted(
        **_ids(),
        provider="offline",
        model="offline-small",
        tokens=RunTokens(),
        cost=Decimal(0),
        price=Decimal(0),
        duration_ms=1,
        last_seq=0,
        artifacts=RunArtifacts(summary="done"),
    )
    body = json.loads(to_message(completed).data)
    del body["steps"], body["stopped_at_limit"]
    parsed = parse_event(AGENT_RUNS, json.dumps(body).encode())
    assert isinstance(parsed, AgentRunCompleted)
    assert (parsed.steps, parsed.stopped_at_limit) == (0, None)
    limited = completed.model_copy(update={"steps": 12, "stopped_at_limit": "steps"})
    assert parse_event(AGENT_RUNS, to_message(limited).data) == limited
