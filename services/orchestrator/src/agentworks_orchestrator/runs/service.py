"""From a card event to runs: which agents, whether they may run (disabled, quota, budget: skipped with the reason
otherwise), and each run's attempt."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from agentworks_events import (
    AgentRunCancelled,
    AgentRunSkipped,
    CardMoved,
    CardRunRequested,
    Event,
    UsageBudgetChanged,
    UsageBudgetExceeded,
    UsageBudgetWarning,
    run_id_for,
    skip_id_for,
    utc_now,
)
from agentworks_events.runs import SkipReason
from agentworks_internal_api.billing import PlanOut
from agentworks_internal_api.core import ContextAgentOut, RunContextOut
from agentworks_platform.clock import as_utc
from agentworks_platform.db import Database
from agentworks_platform.errors import NotFound
from agentworks_platform.internal_http import InternalClient
from agentworks_platform.logging import get_logger
from agentworks_pubsub import Outbox, PermanentEventError
from agentworks_pubsub.ownership import Ownership

from agentworks_orchestrator.code import repository as code_repository
from agentworks_orchestrator.config import OrchestratorSettings
from agentworks_orchestrator.models import TERMINAL, BudgetState, Run
from agentworks_orchestrator.runs import repository
from agentworks_orchestrator.runs.billing_client import pricing_plan
from agentworks_orchestrator.runs.contract import CONTRACTS
from agentworks_orchestrator.runs.core_client import run_context
from agentworks_orchestrator.runs.executor import BUDGET_SPENT, RunExecutor, RunPlan, Usage, call_headers
from agentworks_orchestrator.runs.loop import Resume
from agentworks_orchestrator.runs.prompts import system_prompt, tools_instruction
from agentworks_orchestrator.runs.roles import tools_of
from agentworks_orchestrator.runs.router_client import recorded_usage
from agentworks_orchestrator.runs.tools import ToolContext, calls_tools

log = get_logger(__name__)
BRIEFED_ON_FAILURE = frozenset({"troubleshooter"})
FAILURE_BRIEFED = 8_000


class RunInProgressError(RuntimeError):
    """Another executor holds the run's lease; the event is retried later."""


@dataclass(frozen=True, slots=True)
class Trigger:
    event: Event
    lane_number: int
    agents: tuple[str, ...] | None
    instructions: str = ""
    requested_by: uuid.UUID | None = None


def trigger_of(event: Event) -> Trigger | None:
    if isinstance(event, CardMoved):
        return Trigger(event, event.to_lane_number, None, requested_by=event.actor_id) if event.changed_lane else None
    if isinstance(event, CardRunRequested):
        return Trigger(event, event.lane_number, (event.agent,), event.instructions, event.actor_id)
    return None


class RunService:
    def __init__(
        self,
        db: Database,
        outbox: Outbox,
        clients: tuple[InternalClient, InternalClient, InternalClient],
        executor: RunExecutor,
        settings: OrchestratorSettings,
    ) -> None:
        self.db = db
        self.outbox = outbox
        self.core, self.billing, self.router = clients
        self.executor = executor
        self.settings = settings
        self.owners = Ownership(self.core)

    async def on_card_event(self, event: Event) -> None:
        trigger = trigger_of(event)
        if trigger is None:
            return
        card_id: uuid.UUID = event.card_id  # type: ignore[attr-defined]
        # Both calls at once: they are on the path from a card move to the agent starting.
        context, pricing = await asyncio.gather(
            run_context(self.core, event.project_id, card_id, trigger.lane_number),
            pricing_plan(self.billing, event.workspace_id),
            return_exceptions=True,
        )
        if isinstance(context, BaseException):
            raise context  # a card that no longer exists outranks an unreachable billing
        _ensure_workspace(event, context)
        if isinstance(pricing, BaseException):
            raise pricing
        await self._skip_disabled(trigger, context)
        for agent in self._agents(trigger, context):
            await self._run_one(trigger, context, agent, pricing)

    @staticmethod
    def _wanted(trigger: Trigger, context: RunContextOut) -> list[ContextAgentOut]:
        """The agents the event asks for: those named (a run by hand), else the agents of the lane entered."""
        if trigger.agents is not None:
            return [a for a in context.agents if a.agent in trigger.agents]
        return [a for a in context.agents if trigger.lane_number in a.lanes]

    def _agents(self, trigger: Trigger, context: RunContextOut) -> list[ContextAgentOut]:
        return [a for a in self._wanted(trigger, context) if a.enabled]

    async def _skip_disabled(self, trigger: Trigger, context: RunContextOut) -> None:
        """Say so for each disabled agent the event asks for, instead of skipping it silently (core refuses a run
        by hand of a disabled agent; one asked for before the agent was turned off arrives here)."""
        event = trigger.event
        skipped = [
            AgentRunSkipped(
                id=skip_id_for(run_id_for(event.id, a.agent)),
                workspace_id=event.workspace_id,
                project_id=event.project_id,
                run_id=run_id_for(event.id, a.agent),
                card_id=getattr(event, "card_id", None),
                agent=a.agent,
                reason_code="disabled",
                reason=f"The {a.display_name} agent is turned off for this project, so it did not run.",
            )
            for a in self._wanted(trigger, context)
            if not a.enabled
        ]
        if skipped:
            async with self.db.transaction() as session:
                await self.outbox.add(session, *skipped)

    async def _run_one(
        self, trigger: Trigger, context: RunContextOut, agent: ContextAgentOut, pricing: PlanOut
    ) -> None:
        event = trigger.event
        run_id = run_id_for(event.id, agent.agent)
        plan = await self._claim(trigger, context, agent, run_id, pricing)
        if plan is None:
            return
        status = await self.executor.execute(plan)
        log.info("run.finished", run_id=str(run_id), agent=plan.agent, status=status, attempt=plan.attempt)

    async def _claim(
        self, trigger: Trigger, context: RunContextOut, agent: ContextAgentOut, run_id: uuid.UUID, pricing: PlanOut
    ) -> RunPlan | None:
        """Create the run or take it over after an expired lease; None when there is nothing to do."""
        event = trigger.event
        now = self.executor.clock()
        async with self.db.transaction() as session:
            run = await repository.run_for_update(session, run_id)
            if run is not None and run.status in TERMINAL:
                return None
            if run is not None and run.lease_until is not None and as_utc(run.lease_until) > now:
                raise RunInProgressError(f"run {run_id} is being executed by {run.lease_owner}")
            if run is None:
                run = Run(
                    id=run_id,
                    workspace_id=event.workspace_id,
                    project_id=event.project_id,
                    card_id=getattr(event, "card_id", None),
                    agent=agent.agent,
                    kind="card",
                    lane_number=trigger.lane_number,
                    provider=agent.provider,
                    model=agent.model,
                    status="queued",
                    attempt=0,
                    trigger_event_id=event.id,
                    requested_by=trigger.requested_by,
                    created_at=now,
                    last_seq=0,
                    input_tokens=0,
                    output_tokens=0,
                    cost=Decimal(0),
                    provider_calls=0,
                    cancel_requested=False,
                    markup=pricing.markup,
                    increment=pricing.increment,
                )
                session.add(run)
                refusal = await self.refusal(session, run)
                if refusal is not None:
                    await self._skip(session, run, *refusal)
                    return None
            # A takeover carries what every earlier attempt spent as the router recorded it: an executor that
            # died never saved the calls it made, not even the one it was cut off in.
            carried = await recorded_usage(self.router, run.id) if run.attempt > 0 else Usage()
            tool_using = run.agent in self.settings.tool_roles and calls_tools(run.model)
            resume = await repository.last_checkpoint(session, run.id) if tool_using else Resume()
            briefing = await _briefing(session, run) if tool_using else ""
            run.attempt += 1
            run.lease_owner = self.executor._owner
            run.lease_until = now + timedelta(seconds=self.settings.lease_seconds)
            return RunPlan(
                run_id=run.id,
                workspace_id=run.workspace_id,
                project_id=run.project_id,
                card_id=run.card_id,
                agent=run.agent,
                kind=run.kind,
                lane_number=run.lane_number,
                provider=run.provider,
                model=run.model,
                attempt=run.attempt,
                trigger_event_id=run.trigger_event_id,
                requested_by=run.requested_by,
                messages=self._messages(run.agent, context, trigger.instructions, tool_using),
                contract=None if tool_using else CONTRACTS.get(run.agent),
                markup=run.markup,
                increment=run.increment,
                first_seq=run.last_seq + 1,
                requires_approval=context.requires_approval,
                carried=carried,
                tools=tools_of(run.agent) if tool_using else (),
                tool_context=self._tool_context(run, context) if tool_using else None,
                resume=resume,
                limits=self.settings.limits_of(run.agent),
                agent_name=agent.display_name,
                briefing=briefing,
            )

    def _tool_context(self, run: Run, context: RunContextOut) -> ToolContext:
        contract = CONTRACTS.get(run.agent)
        headers = call_headers(run.workspace_id, run.project_id, run.id, run.agent, run.card_id)
        return ToolContext(
            run_id=run.id,
            workspace_id=run.workspace_id,
            project_id=run.project_id,
            card_id=run.card_id,
            card=context.card,
            documents=contract.documents if contract else (),
            core=self.core,
            llm=self.executor.llm,
            image_model=self.settings.image_model,
            headers=headers,
        )

    @staticmethod
    def _messages(agent: str, context: RunContextOut, instructions: str, tool_using: bool) -> list[dict[str, Any]]:
        contract = CONTRACTS.get(agent)
        if tool_using:
            offered = tuple(tool.name for tool in tools_of(agent))
            instruction = tools_instruction(contract.documents if contract else (), offered)
        else:
            instruction = contract.instruction() if contract else ""
        system = system_prompt(agent, context, instruction, instructions)
        title = context.card.title if context.card else ""
        return [
            {"role": "system", "content": system},
            {"role": "user", "content": f'Work on the card "{title}" now.'},
        ]

    async def run(self, run_id: uuid.UUID) -> Run | None:
        async with self.db.transaction() as session:
            return await session.get(Run, run_id)

    async def cancel(self, run_id: uuid.UUID, cancelled_by: uuid.UUID) -> str:
        """Ask a run to stop: one that is not live (queued, or its lease lapsed) is cancelled at once, a running one
        stops at its next log batch. Returns the status to answer: the run's end, or ``cancelling``."""
        async with self.db.transaction() as session:
            run = await repository.run_for_update(session, run_id)
            if run is None:
                raise NotFound(f"No run with id {run_id}.")
            if run.status in TERMINAL:
                return run.status
            run.cancel_requested, run.cancelled_by = True, cancelled_by
            if (
                run.lease_until is not None
                and run.status == "running"
                and as_utc(run.lease_until) > self.executor.clock()
            ):
                return "cancelling"
            run.status, run.finished_at = "cancelled", utc_now()
            await self.outbox.add(
                session,
                AgentRunCancelled(
                    workspace_id=run.workspace_id,
                    project_id=run.project_id,
                    run_id=run.id,
                    card_id=run.card_id,
                    agent=run.agent,
                    attempt=max(run.attempt, 1),
                    cancelled_by=cancelled_by,
                    reason="cancelled before it ran",
                    last_seq=run.last_seq,
                ),
            )
            return run.status

    async def open_console(self, plan: RunPlan) -> tuple[str, str] | None:
        """Record a console run, queued, unless the workspace may not start one now: then the refusal (code, why)."""
        run = Run(
            id=plan.run_id,
            workspace_id=plan.workspace_id,
            project_id=plan.project_id,
            card_id=None,
            agent=plan.agent,
            kind=plan.kind,
            provider=plan.provider,
            model=plan.model,
            status="queued",
            attempt=plan.attempt,
            trigger_event_id=plan.trigger_event_id,
            requested_by=plan.requested_by,
            created_at=utc_now(),
            markup=plan.markup,
            increment=plan.increment,
        )
        async with self.db.transaction() as session:
            refusal = await self.refusal(session, run)
            if refusal is None:
                session.add(run)
        return refusal

    async def refusal(self, session: Any, run: Run) -> tuple[SkipReason, str] | None:
        """Why a new run may not start (hourly quota, spent budget), or None."""
        hour_ago = utc_now() - timedelta(hours=1)
        if await repository.started_since(session, run.workspace_id, hour_ago) >= self.settings.runs_per_hour:
            return (
                "quota_exceeded",
                f"This workspace started {self.settings.runs_per_hour} agent runs in the last hour; try again later.",
            )
        period = utc_now().strftime("%Y-%m")
        if await repository.budget_exceeded(session, run.workspace_id, run.project_id, period):
            return ("budget_exceeded", BUDGET_SPENT)
        return None

    async def _skip(self, session: Any, run: Run, code: SkipReason, reason: str) -> None:
        """A run refused before it starts does no work: it ends skipped, with the reason, and costs nothing."""
        run.status, run.error_code, run.reason, run.finished_at = "skipped", code, reason, utc_now()
        await self.outbox.add(
            session,
            AgentRunSkipped(
                id=skip_id_for(run.id),
                workspace_id=run.workspace_id,
                project_id=run.project_id,
                run_id=run.id,
                card_id=run.card_id,
                agent=run.agent,
                reason_code=code,
                reason=reason,
            ),
        )
        log.warning("run.refused", run_id=str(run.id), workspace_id=str(run.workspace_id), code=code)

    async def on_budget_event(self, event: Event) -> None:
        if not isinstance(event, UsageBudgetExceeded | UsageBudgetWarning | UsageBudgetChanged):
            return
        if event.scope == "project" and event.budget_project_id:
            # The gate is kept per project id: another workspace's project must not be opened or closed.
            await self.owners.require("project", event.budget_project_id, event.workspace_id)
        scope_id = (
            event.budget_project_id if event.scope == "project" and event.budget_project_id else event.workspace_id
        )
        async with self.db.transaction() as session:
            state = await session.get(BudgetState, scope_id)
            if state is None:
                state = BudgetState(
                    scope_id=scope_id,
                    workspace_id=event.workspace_id,
                    period=event.period,
                    updated_at=event.occurred_at,
                )
                session.add(state)
            if as_utc(state.updated_at) > event.occurred_at and state.period == event.period:
                return
            state.period, state.updated_at = event.period, event.occurred_at
            state.exceeded = _exceeded(event)


async def _briefing(session: Any, run: Run) -> str:
    """What a role briefed on failures is told beside its prompt: the card's last failed command run."""
    if run.agent not in BRIEFED_ON_FAILURE or run.card_id is None:
        return ""
    failed = await code_repository.last_failed_command(session, run.card_id)
    if failed is None:
        return "No command has failed on this card's branch yet."
    return (
        f"The card's last failed command ({failed.agent}, exit code {failed.exit_code}"
        f"{', stopped at the time limit' if failed.timed_out else ''}):\n$ {failed.command}\n"
        f"```\n{failed.output_tail[-FAILURE_BRIEFED:]}\n```"
    )


def _ensure_workspace(event: Event, context: RunContextOut) -> None:
    """Core resolved the project (and the card within it): a run starts, and is billed, only in the workspace
    that owns them, whatever workspace the event names."""
    if context.project.workspace_id != event.workspace_id:
        raise PermanentEventError(f"project {event.project_id} is not one of workspace {event.workspace_id}'s")


def _exceeded(event: UsageBudgetExceeded | UsageBudgetWarning | UsageBudgetChanged) -> bool:
    if isinstance(event, UsageBudgetChanged):
        return event.exceeded
    return isinstance(event, UsageBudgetExceeded) or event.spent >= event.cap
