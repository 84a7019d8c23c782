"""An agent that does no work says why: a run refused before it starts (hourly quota, spent budget) or whose first
model call the provider router refuses before calling any provider (circuit open, no provider for the model) ends
as ``agent.run.skipped`` with its reason and settles no charge; once the run has spent, the same refusal fails it,
in words, and the run is settled."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal

from agentworks_events import utc_now
from agentworks_orchestrator.models import BudgetState, Run
from agentworks_platform.db import Database
from agentworks_platform.peer_stub import Answer, Call

from .conftest import CALL_COST, Orchestrator
from .test_peers import CHAT, Peers, peers, streamed

__all__ = ["peers"]  # the fixture, shared with the peers' own tests

CIRCUIT_OPEN = Answer.refusal(503, "circuit_open", "openai gpt-4-turbo is failing; its circuit is open.")
NOT_SERVED = Answer.refusal(404, "model_not_found", "No provider serves model 'gpt-4-turbo'; see GET /v1/models.")


def _database(peers: Peers) -> Database:
    db: Database = peers.app.state.ctx.db
    return db


def _in_turn(*answers: Answer) -> Callable[[Call], Answer]:
    """The router's answers to the run's model calls, one call after another."""
    remaining: Iterator[Answer] = iter(answers)
    return lambda _call: next(remaining)


async def _run_row(peers: Peers, run_id: uuid.UUID) -> Run:
    return await _run_row_of(_database(peers), run_id)


async def _run_row_of(db: Database, run_id: uuid.UUID) -> Run:
    async with db.transaction() as session:
        run = await session.get(Run, run_id)
    assert run is not None
    return run


async def _skipped_before_starting(peers: Peers, reason_code: str) -> str:
    """Moves the card; the run must end skipped with ``reason_code``, without starting, a model call or a charge."""
    assert (await peers.push(peers.moved(to_lane=1))).status_code == 204
    [skipped] = peers.events("agent.run.skipped")
    assert (skipped.agent, skipped.card_id, skipped.reason_code) == ("prd", peers.card, reason_code)
    assert peers.events("agent.run.started") == peers.events("agent.run.failed") == []
    assert peers.events("usage.run_settled") == []
    assert peers.router.calls_to("POST", CHAT) == []
    run = await _run_row(peers, skipped.run_id)
    reason: str = skipped.reason
    assert (run.status, run.error_code, run.reason) == ("skipped", reason_code, reason)
    return reason


async def test_a_run_over_the_hourly_quota_is_skipped_saying_so(peers: Peers) -> None:
    async with _database(peers).transaction() as session:
        for _ in range(100):
            session.add(
                Run(
                    id=uuid.uuid4(), workspace_id=peers.workspace, project_id=peers.project, agent="prd",
                    provider="openai", model="gpt-4-turbo", status="completed", trigger_event_id=uuid.uuid4(),
                    created_at=utc_now(),
                )
            )  # fmt: skip
    reason = await _skipped_before_starting(peers, "quota_exceeded")
    assert "started 100 agent runs in the last hour" in reason


async def test_a_run_whose_budget_is_spent_is_skipped_saying_so(peers: Peers) -> None:
    async with _database(peers).transaction() as session:
        session.add(
            BudgetState(
                scope_id=peers.project, workspace_id=peers.workspace, period=utc_now().strftime("%Y-%m"),
                exceeded=True, updated_at=utc_now(),
            )
        )  # fmt: skip
    assert "budget is spent" in await _skipped_before_starting(peers, "budget_exceeded")


async def test_skipped_runs_do_not_count_towards_the_hourly_quota(peers: Peers) -> None:
    async with _database(peers).transaction() as session:
        for status in ["completed"] * 99 + ["skipped"] * 5:
            session.add(
                Run(
                    id=uuid.uuid4(), workspace_id=peers.workspace, project_id=peers.project, agent="prd",
                    provider="openai", model="gpt-4-turbo", status=status, trigger_event_id=uuid.uuid4(),
                    created_at=utc_now(),
                )
            )  # fmt: skip
    assert (await peers.push(peers.moved(to_lane=1))).status_code == 204
    assert peers.events("agent.run.skipped") == []
    assert len(peers.events("agent.run.completed")) == 1


async def _skipped_at_first_call(peers: Peers, answer: Answer, reason_code: str) -> str:
    """The router refuses the run's first call with ``answer``: the run started, then ends skipped, uncharged."""
    peers.router.on("POST", CHAT, answer)
    assert (await peers.push(peers.moved(to_lane=1))).status_code == 204
    [started] = peers.events("agent.run.started")
    [skipped] = peers.events("agent.run.skipped")
    assert (skipped.run_id, skipped.reason_code, skipped.attempt) == (started.run_id, reason_code, 1)
    assert peers.events("agent.run.failed") == peers.events("usage.run_settled") == []
    assert len(peers.router.calls_to("POST", CHAT)) == 1
    run = await _run_row(peers, skipped.run_id)
    reason: str = skipped.reason
    assert (run.status, run.error_code, run.reason, run.lease_owner) == ("skipped", reason_code, reason, None)
    return reason


async def test_a_run_whose_models_circuit_is_open_is_skipped_with_that_reason(peers: Peers) -> None:
    reason = await _skipped_at_first_call(peers, CIRCUIT_OPEN, "circuit_open")
    assert reason.startswith("openai keeps failing for gpt-4-turbo")
    assert "circuit is open" in reason


async def test_a_run_whose_model_no_provider_serves_is_skipped_as_not_configured(peers: Peers) -> None:
    reason = await _skipped_at_first_call(peers, NOT_SERVED, "provider_not_configured")
    assert reason.startswith("No provider is configured for gpt-4-turbo")


async def test_a_skipped_run_is_not_started_again_when_its_event_is_redelivered(peers: Peers) -> None:
    peers.router.on("POST", CHAT, CIRCUIT_OPEN)
    moved = peers.moved(to_lane=1)
    assert (await peers.push(moved)).status_code == 204
    peers.sink.published.clear()
    assert (await peers.push(moved)).status_code == 204
    assert peers.sink.events() == []
    assert len(peers.router.calls_to("POST", CHAT)) == 1


async def test_a_circuit_open_after_the_router_tried_a_provider_fails_the_run_and_settles_it(peers: Peers) -> None:
    """A fallback the router called is recorded against the run, so the run is billed: a failure, not a skip."""
    tried = Answer(CIRCUIT_OPEN.status, CIRCUIT_OPEN.body, headers={"x-should-retry": "false"})
    peers.router.on("POST", CHAT, tried)
    assert (await peers.push(peers.moved(to_lane=1))).status_code == 204
    assert peers.events("agent.run.skipped") == []
    [failed] = peers.events("agent.run.failed")
    assert (failed.error_code, failed.refused) == ("circuit_open", False)
    assert "circuit is open" in failed.reason
    [settled] = peers.events("usage.run_settled")
    assert (settled.run_status, settled.cost) == ("failed", Decimal(0))


async def test_a_circuit_opening_once_the_run_has_spent_fails_it_with_that_reason(peers: Peers) -> None:
    """The first answer is malformed; the repair call meets the open circuit: the run has spent, so it fails."""
    peers.router.on("POST", CHAT, _in_turn(streamed("no json block here"), CIRCUIT_OPEN))
    assert (await peers.push(peers.moved(to_lane=1))).status_code == 204
    assert peers.events("agent.run.skipped") == []
    [failed] = peers.events("agent.run.failed")
    assert failed.error_code == "circuit_open"
    assert failed.reason.startswith("openai keeps failing for gpt-4-turbo")
    assert (failed.tokens.input_tokens, failed.cost) == (100, Decimal("0.0025"))
    [settled] = peers.events("usage.run_settled")
    assert (settled.run_status, settled.cost, settled.provider_calls) == ("failed", Decimal("0.0025"), 1)
    lines = [line.text for batch in peers.events("agent.run.log") for line in batch.lines]
    assert any(text.startswith("✖ openai keeps failing") for text in lines)


async def test_a_circuit_opening_after_a_tool_using_runs_first_step_fails_it_with_that_reason(
    orchestrator: Orchestrator,
) -> None:
    """The PRD agent's loop took its first step; the router refuses the second step's model call."""

    async def second_call_refused(call: Call) -> Answer:
        if len(orchestrator.model.requests) == 2:
            return Answer.refusal(503, "circuit_open", "openai gpt-5 is failing; its circuit is open.")
        return await orchestrator.model._complete(call)

    orchestrator.router.on("POST", CHAT, second_call_refused)
    assert (await orchestrator.push(orchestrator.moved(to_lane=1))).status_code == 204
    [step] = orchestrator.events("agent.run.step")
    assert orchestrator.events("agent.run.skipped") == []
    [failed] = orchestrator.events("agent.run.failed")
    assert (failed.run_id, failed.error_code, failed.refused) == (step.run_id, "circuit_open", False)
    assert failed.reason.startswith("openai keeps failing for gpt-5")
    [settled] = orchestrator.events("usage.run_settled")
    assert (settled.run_status, settled.cost, settled.provider_calls) == ("failed", CALL_COST, 1)
    run = await _run_row_of(orchestrator.db, failed.run_id)
    assert (run.status, run.error_code, run.reason) == ("failed", "circuit_open", failed.reason)


async def test_a_tool_using_run_whose_first_call_meets_an_open_circuit_is_skipped(orchestrator: Orchestrator) -> None:
    orchestrator.router.on("POST", CHAT, Answer.refusal(503, "circuit_open", "openai gpt-5 is failing."))
    assert (await orchestrator.push(orchestrator.moved(to_lane=1))).status_code == 204
    [skipped] = orchestrator.events("agent.run.skipped")
    assert (skipped.agent, skipped.reason_code) == ("prd", "circuit_open")
    assert orchestrator.events("agent.run.step") == orchestrator.events("usage.run_settled") == []
