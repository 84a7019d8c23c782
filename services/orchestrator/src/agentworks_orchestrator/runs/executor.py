"""Executing one run attempt: stream from the provider router, publish batched log lines with ``seq``, read
the artifacts (with one repair attempt) or, for a tool-using run, go through its loop of steps, then publish
the outcome and the run's charge. A run whose first model call the router refuses before calling any provider
(circuit open, no provider for the model) is skipped with the reason and charges nothing."""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

import openai
from agentworks_events import (
    AgentRunCancelled,
    AgentRunCompleted,
    AgentRunFailed,
    AgentRunLog,
    AgentRunSkipped,
    AgentRunStarted,
    Event,
    LogLine,
    RunArtifacts,
    RunTokens,
    UsageRunSettled,
    settlement_id_for,
    skip_id_for,
    utc_now,
)
from agentworks_events.money import price_run
from agentworks_events.runs import AgentRunStep, SkipReason, step_id_for
from agentworks_platform.db import Database
from agentworks_platform.logging import get_logger
from agentworks_pubsub import Outbox
from agentworks_repos import GitError
from openai.types.chat import ChatCompletionStreamOptionsParam

from agentworks_orchestrator.code.attempts import AttemptOf, CodeAttempts, RepositoryUnavailableError
from agentworks_orchestrator.code.workspace import CodeWorkspace
from agentworks_orchestrator.config import OrchestratorSettings, RunLimits
from agentworks_orchestrator.models import Run, RunCheckpoint
from agentworks_orchestrator.runs import repository
from agentworks_orchestrator.runs.contract import Contract, MalformedOutputError, read_artifacts, without_nul
from agentworks_orchestrator.runs.loop import (
    AgentLoop,
    BudgetSpentError,
    LoopOutcome,
    ModelTurn,
    Resume,
    RunCancelledError,
    Spent,
    Step,
)
from agentworks_orchestrator.runs.roles import works_on_code
from agentworks_orchestrator.runs.tools import Tool, ToolCall, ToolContext

log = get_logger(__name__)
TextSink = Callable[[str], Awaitable[None]]
# The router sends its closing usage chunk, with the call's tokens and cost, only to a client that asks for it.
INCLUDE_USAGE: ChatCompletionStreamOptionsParam = {"include_usage": True}
BUDGET_SPENT = "The monthly budget is spent; raise the cap to run agents again."
DIFF_BRIEFED = 20_000
REPAIR = (
    "Your answer did not end with a valid ```json block ({error}). Reply with only the corrected "
    "```json block, nothing else."
)


@dataclass
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cost: Decimal = Decimal(0)
    calls: int = 0
    provider: str = ""
    model: str = ""


@dataclass
class RunPlan:
    """Everything an attempt needs, decided before it starts."""

    run_id: uuid.UUID
    workspace_id: uuid.UUID
    project_id: uuid.UUID
    card_id: uuid.UUID | None
    agent: str
    kind: str
    lane_number: int | None
    provider: str
    model: str
    attempt: int
    trigger_event_id: uuid.UUID
    requested_by: uuid.UUID | None
    messages: list[dict[str, Any]]
    contract: Contract | None
    markup: Decimal
    increment: Decimal
    first_seq: int = 1
    requires_approval: bool = False
    # What earlier attempts spent, as the router recorded their calls: the charge covers every provider call.
    carried: Usage = field(default_factory=Usage)
    # A tool-using run: its tools, what they act on, where it resumes and the limits it stops at.
    tools: tuple[Tool, ...] = ()
    tool_context: ToolContext | None = None
    resume: Resume = field(default_factory=Resume)
    limits: RunLimits = field(default_factory=RunLimits)
    agent_name: str = ""
    # Said to the model after the prompt on a run's first attempt (the Troubleshooter's failing output).
    briefing: str = ""


def _chunk_of(line: str) -> dict[str, Any] | None:
    """The JSON of a server-sent ``data:`` line of the router's stream; None for ``[DONE]`` and other lines."""
    if not line.startswith("data:") or line[5:].strip() == "[DONE]":
        return None
    try:
        chunk = json.loads(line[5:])
    except ValueError:
        raise ProviderStreamError({"message": "The provider router sent a chunk that is not JSON."}) from None
    return chunk if isinstance(chunk, dict) else None


class ProviderStreamError(Exception):
    """The router reported a provider failure in the middle of a streamed answer."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(str(error.get("message") or "the provider failed mid-answer"))
        self.code = str(error.get("code") or "provider_error")


@dataclass
class LogBatcher:
    """Turns streamed text into numbered lines and publishes them in batches."""

    flush: Callable[[list[LogLine]], Awaitable[None]]
    max_lines: int
    max_seconds: float
    seq: int
    partial: str = ""
    pending: list[LogLine] = field(default_factory=list)
    last_flush: float = float("-inf")  # the first line goes out at once: a terminal shows life immediately

    async def add(self, text: str, stream: str = "stdout") -> None:
        self.partial += text
        *lines, self.partial = self.partial.split("\n")
        for line in lines:
            self.pending.append(LogLine(seq=self.seq, at=utc_now(), stream=stream, text=line))
            self.seq += 1
        if len(self.pending) >= self.max_lines or (
            self.pending and time.monotonic() - self.last_flush >= self.max_seconds
        ):
            await self.drain()

    async def line(self, text: str, stream: str = "system") -> None:
        await self.add(("" if not self.partial else "\n") + text + "\n", stream)

    async def drain(self, final: bool = False) -> None:
        if final and self.partial:
            self.pending.append(LogLine(seq=self.seq, at=utc_now(), text=self.partial))
            self.seq += 1
            self.partial = ""
        if self.pending:
            batch, self.pending = self.pending, []
            await self.flush(batch)
        self.last_flush = time.monotonic()

    async def store_rest(self) -> None:
        """The last drain of an attempt that ends anyway (cancelled or failed). A flush stores its batch before it
        reports the run cancelled, so that report changes nothing here and must not escape the ending."""
        with contextlib.suppress(RunCancelledError):
            await self.drain(final=True)

    @property
    def last_seq(self) -> int:
        return self.seq - 1


class RunExecutor:
    """Runs attempts; every state change is a short transaction with its events in the outbox."""

    def __init__(
        self,
        db: Database,
        outbox: Outbox,
        llm: openai.AsyncOpenAI,
        settings: OrchestratorSettings,
        owner: str,
        clock: Callable[[], datetime] = utc_now,
        code: CodeAttempts | None = None,
    ) -> None:
        self._db = db
        self.code = code
        self._outbox = outbox
        self.llm = llm
        self._settings = settings
        self._owner = owner
        self.clock = clock

    def _base(self, plan: RunPlan) -> dict[str, Any]:
        return {
            "workspace_id": plan.workspace_id,
            "project_id": plan.project_id,
            "run_id": plan.run_id,
            "card_id": plan.card_id,
            "agent": plan.agent,
            "attempt": plan.attempt,
        }

    async def _commit(self, plan: RunPlan, changes: dict[str, Any], *events: Event) -> bool:
        """Apply changes to the run and stage events; False when the run was cancelled meanwhile."""
        async with self._db.transaction() as session:
            run = await session.get(Run, plan.run_id, populate_existing=True)
            assert run is not None
            cancelled = run.cancel_requested
            for name, value in changes.items():
                setattr(run, name, value)
            if events:
                await self._outbox.add(session, *events)
        return not cancelled

    def _lease(self) -> dict[str, Any]:
        return {
            "lease_owner": self._owner,
            "lease_until": self.clock() + timedelta(seconds=self._settings.lease_seconds),
        }

    async def execute(self, plan: RunPlan, on_text: TextSink | None = None) -> str:
        """Run the attempt to its end; returns the final status. On a transient error the lease is released
        before the error propagates, so the redelivered event starts the next attempt at once."""
        usage = replace(plan.carried)
        try:
            return await self._attempt(plan, usage, on_text)
        except Exception:
            await self.release(plan)
            raise

    async def release(self, plan: RunPlan) -> None:
        """Give up this executor's lease on an unfinished run (a no-op once another executor holds it). What its
        provider calls cost is not needed: the attempt that takes over asks the router for every recorded call."""
        try:
            async with self._db.transaction() as session:
                await repository.release_lease(session, plan.run_id, self._owner)
        except Exception as exc:  # the lease then expires by itself; the first error is the news
            log.warning("run.lease_not_released", run_id=str(plan.run_id), error=type(exc).__name__)

    async def _attempt(self, plan: RunPlan, usage: Usage, on_text: TextSink | None) -> str:
        started = time.perf_counter()
        await self._commit(
            plan,
            {"status": "running", "started_at": utc_now(), "attempt": plan.attempt, **self._lease()},
            AgentRunStarted(
                **self._base(plan),
                kind=plan.kind,
                lane_number=plan.lane_number,
                provider=plan.provider,
                model=plan.model,
                trigger_event_id=plan.trigger_event_id,
                requested_by=plan.requested_by,
            ),
        )
        batcher = LogBatcher(
            lambda lines: self._log(plan, lines),
            self._settings.log_batch_lines,
            self._settings.log_batch_seconds,
            plan.first_seq,
        )
        if plan.attempt > 1:
            await batcher.line(f"— attempt {plan.attempt}: the previous executor stopped; starting again —")
        try:
            if plan.tools:
                async with self._code_workspace(plan) as code:
                    loop = self._loop(plan, batcher, usage, on_text, code)
                    outcome = await loop.run(await _briefed(plan, code), plan.resume)
                artifacts = RunArtifacts(summary=outcome.summary)
            else:
                turn = await self._call(plan, plan.messages, batcher, usage, on_text)
                artifacts = await self._artifacts(plan, turn.text, batcher, usage, on_text)
                outcome = LoopOutcome(artifacts.summary, 0)
            await batcher.drain(final=True)
        except RunCancelledError:
            await batcher.store_rest()
            return await self._cancelled(plan, usage, batcher.last_seq)
        except (
            openai.OpenAIError,
            MalformedOutputError,
            ProviderStreamError,
            BudgetSpentError,
            RepositoryUnavailableError,
        ) as exc:
            skip = _skip_of(plan, exc) if _nothing_spent(plan, usage) else None
            if skip is not None:
                await batcher.store_rest()
                return await self._skipped(plan, batcher.last_seq, *skip)
            failure = _readable(plan, exc)
            with contextlib.suppress(RunCancelledError):
                await batcher.line(f"✖ {_reason(failure)}", "stderr")
            await batcher.store_rest()
            return await self._failed(plan, usage, batcher.last_seq, failure, started)
        await self._completed(plan, usage, batcher.last_seq, artifacts, started, outcome)
        return "completed"

    def _code_workspace(self, plan: RunPlan) -> contextlib.AbstractAsyncContextManager[CodeWorkspace | None]:
        """The attempt's working copy of the card's branch, for a role with code tools (else nothing)."""
        context = plan.tool_context
        if self.code is None or context is None or plan.card_id is None or not works_on_code(plan.tools):
            return contextlib.nullcontext()
        of = AttemptOf(
            run_id=plan.run_id,
            attempt=plan.attempt,
            workspace_id=plan.workspace_id,
            project_id=plan.project_id,
            card_id=plan.card_id,
            card_title=context.card.title if context.card else "",
            agent=plan.agent,
            agent_name=plan.agent_name or plan.agent,
            card_human_id=context.card.human_id if context.card else "",
        )
        return self.code.opened(of, plan.resume.messages)

    def _loop(
        self, plan: RunPlan, batcher: LogBatcher, usage: Usage, on_text: TextSink | None, code: CodeWorkspace | None
    ) -> AgentLoop:
        assert plan.tool_context is not None

        async def call(messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> ModelTurn:
            return await self._call(plan, messages, batcher, usage, on_text, tools)

        async def checkpoint(step: Step) -> bool:
            await batcher.drain(final=True)
            return await self._checkpoint(plan, step, usage, batcher.last_seq)

        async def budget_spent() -> bool:
            async with self._db.transaction() as session:
                period = utc_now().strftime("%Y-%m")
                return await repository.budget_exceeded(session, plan.workspace_id, plan.project_id, period)

        return AgentLoop(
            call=call,
            checkpoint=checkpoint,
            cancelled=lambda: self._cancel_requested(plan),
            budget_spent=budget_spent,
            say=batcher.line,
            spent=Spent(tokens=lambda: usage.input_tokens + usage.output_tokens, cost=lambda: usage.cost),
            tools=plan.tools,
            context=replace(plan.tool_context, count=partial(_count_tool_call, usage), code=code),
            limits=plan.limits,
            poll_seconds=self._settings.cancel_poll_seconds,
            now=lambda: self.clock().timestamp(),  # the run's time limit is measured by the clock its lease is
        )

    async def _cancel_requested(self, plan: RunPlan) -> bool:
        async with self._db.transaction() as session:
            run = await session.get(Run, plan.run_id, populate_existing=True)
            return run is None or run.cancel_requested

    async def _checkpoint(self, plan: RunPlan, step: Step, usage: Usage, last_seq: int) -> bool:
        """Store the step and publish its event in one transaction: a step is published exactly when it is
        durable; False when the run was cancelled meanwhile."""
        tokens = RunTokens(input_tokens=usage.input_tokens, output_tokens=usage.output_tokens)
        event = AgentRunStep(
            **self._base(plan),
            id=step_id_for(plan.run_id, step.number),
            step=step.number,
            text=step.text,
            tool_calls=step.records,
            effects=step.effects,
            tokens=tokens,
            cost=usage.cost,
            duration_ms=step.duration_ms,
        )
        async with self._db.transaction() as session:
            run = await session.get(Run, plan.run_id, populate_existing=True)
            assert run is not None
            await session.merge(
                RunCheckpoint(
                    run_id=plan.run_id,
                    step=step.number,
                    messages=step.messages,
                    input_tokens=usage.input_tokens,
                    output_tokens=usage.output_tokens,
                    cost=usage.cost,
                    provider_calls=usage.calls,
                    elapsed_ms=step.elapsed_ms,
                    created_at=utc_now(),
                )
            )
            for name, value in {"last_seq": last_seq, **self._lease()}.items():
                setattr(run, name, value)
            await self._outbox.add(session, event)
            return not run.cancel_requested

    async def _log(self, plan: RunPlan, lines: list[LogLine]) -> None:
        if not await self._commit(
            plan, {"last_seq": lines[-1].seq, **self._lease()}, AgentRunLog(**self._base(plan), lines=tuple(lines))
        ):
            raise RunCancelledError

    async def _call(
        self,
        plan: RunPlan,
        messages: list[dict[str, Any]],
        batcher: LogBatcher,
        usage: Usage,
        on_text: TextSink | None,
        tools: list[dict[str, Any]] | None = None,
    ) -> ModelTurn:
        headers = call_headers(plan.workspace_id, plan.project_id, plan.run_id, plan.agent, plan.card_id)
        pieces: list[str] = []
        calls: dict[int, dict[str, str]] = {}
        # The SDK sends the request and raises its errors; the chunks are read as plain JSON, which skips
        # building a model object per chunk (a fifth of the orchestrator's time on a run).
        streaming = self.llm.chat.completions.with_streaming_response.create(
            model=plan.model,
            messages=messages,  # type: ignore[arg-type]
            stream=True,
            stream_options=INCLUDE_USAGE,
            max_tokens=self._settings.max_output_tokens,
            extra_headers=headers,
            tools=tools or openai.omit,  # type: ignore[arg-type]
        )
        async with streaming as response:
            usage.calls += 1
            # Read to the end of the body: a response closed early takes its connection with it.
            async for line in response.iter_lines():
                chunk = _chunk_of(line)
                if chunk is not None:
                    await self._take(chunk, pieces, batcher, usage, on_text)
                    _take_calls(chunk, calls)
        return ModelTurn("".join(pieces), tuple(ToolCall(c["id"], c["name"], c["arguments"]) for c in calls.values()))

    @staticmethod
    async def _take(
        chunk: dict[str, Any], pieces: list[str], batcher: LogBatcher, usage: Usage, on_text: TextSink | None
    ) -> None:
        """One streamed chunk of the router's answer: text, a mid-answer failure, tokens and the cost."""
        choices = chunk.get("choices") or [{}]
        piece = (choices[0].get("delta") or {}).get("content")
        if piece:
            piece = without_nul(piece)
            pieces.append(piece)
            await batcher.add(piece)
            if on_text is not None:
                await on_text(piece)
        if chunk.get("error"):
            raise ProviderStreamError(chunk["error"])
        if chunk.get("usage"):
            usage.input_tokens += chunk["usage"]["prompt_tokens"]
            usage.output_tokens += chunk["usage"]["completion_tokens"]
        if "agentworks" in chunk:
            usage.cost += Decimal(chunk["agentworks"]["cost"])
            usage.provider, usage.model = chunk["agentworks"]["provider"], chunk["agentworks"]["model"]

    async def _artifacts(
        self, plan: RunPlan, text: str, batcher: LogBatcher, usage: Usage, on_text: TextSink | None
    ) -> RunArtifacts:
        if plan.contract is None:
            return RunArtifacts(summary=text.strip()[:5000])
        try:
            return read_artifacts(text, plan.contract)
        except MalformedOutputError as exc:
            await batcher.line(f"↻ the answer was malformed ({exc}); asking for a repair")
            repair = [
                *plan.messages,
                {"role": "assistant", "content": text},
                {"role": "user", "content": REPAIR.format(error=exc)},
            ]
            repaired = await self._call(plan, repair, batcher, usage, on_text)
            return read_artifacts(repaired.text, plan.contract)

    def _charge(self, plan: RunPlan, usage: Usage, status: str) -> tuple[Decimal, UsageRunSettled]:
        priced = price_run(usage.cost, plan.markup, plan.increment)
        settled = UsageRunSettled(
            id=settlement_id_for(plan.run_id),
            workspace_id=plan.workspace_id,
            project_id=plan.project_id,
            run_id=plan.run_id,
            card_id=plan.card_id,
            agent=plan.agent,
            run_status=status,
            cost=usage.cost,
            markup=priced.markup,
            increment=priced.increment,
            unrounded_amount=priced.unrounded,
            price=priced.price,
            provider_calls=usage.calls,
        )
        return priced.price, settled

    def _totals(self, usage: Usage, price: Decimal, last_seq: int, status: str) -> dict[str, Any]:
        return {
            "status": status,
            "finished_at": utc_now(),
            "input_tokens": usage.input_tokens,
            "output_tokens": usage.output_tokens,
            "cost": usage.cost,
            "provider_calls": usage.calls,
            "price": price,
            "last_seq": last_seq,
            "lease_owner": None,
            "lease_until": None,
        }

    async def _completed(
        self,
        plan: RunPlan,
        usage: Usage,
        last_seq: int,
        artifacts: RunArtifacts,
        started: float,
        outcome: LoopOutcome,
    ) -> None:
        price, settled = self._charge(plan, usage, "completed")
        tokens = RunTokens(input_tokens=usage.input_tokens, output_tokens=usage.output_tokens)
        completed = AgentRunCompleted(
            **self._base(plan),
            provider=usage.provider or plan.provider,
            model=usage.model or plan.model,
            tokens=tokens,
            cost=usage.cost,
            price=price,
            duration_ms=_ms(started),
            last_seq=last_seq,
            artifacts=artifacts,
            requires_approval=plan.requires_approval,
            stopped_at_limit=outcome.stopped_at_limit,
            steps=outcome.steps,
        )
        await self._commit(plan, self._totals(usage, price, last_seq, "completed"), completed, settled)

    async def _skipped(self, plan: RunPlan, last_seq: int, code: SkipReason, reason: str) -> str:
        """The run did no work: no provider was called, so it ends with the reason and settles no charge."""
        skipped = AgentRunSkipped(
            **self._base(plan), id=skip_id_for(plan.run_id), reason_code=code, reason=reason, last_seq=last_seq
        )
        changes = {
            "status": "skipped",
            "finished_at": utc_now(),
            "error_code": code,
            "reason": reason,
            "last_seq": last_seq,
            "lease_owner": None,
            "lease_until": None,
        }
        await self._commit(plan, changes, skipped)
        log.warning("run.skipped", run_id=str(plan.run_id), code=code)
        return "skipped"

    async def _failed(self, plan: RunPlan, usage: Usage, last_seq: int, exc: Exception, started: float) -> str:
        price, settled = self._charge(plan, usage, "failed")
        code = _code(exc)
        failed = AgentRunFailed(
            **self._base(plan),
            provider=plan.provider,
            model=plan.model,
            reason=_reason(exc),
            error_code=code,
            tokens=RunTokens(input_tokens=usage.input_tokens, output_tokens=usage.output_tokens),
            cost=usage.cost,
            price=price,
            duration_ms=_ms(started),
            last_seq=last_seq,
        )
        changes = {**self._totals(usage, price, last_seq, "failed"), "error_code": code, "reason": _reason(exc)}
        await self._commit(plan, changes, failed, settled)
        return "failed"

    async def _cancelled(self, plan: RunPlan, usage: Usage, last_seq: int) -> str:
        price, settled = self._charge(plan, usage, "cancelled")
        async with self._db.transaction() as session:
            run = await session.get(Run, plan.run_id, populate_existing=True)
            assert run is not None
            cancelled = AgentRunCancelled(
                **self._base(plan),
                cancelled_by=run.cancelled_by,
                reason="cancelled",
                tokens=RunTokens(input_tokens=usage.input_tokens, output_tokens=usage.output_tokens),
                cost=usage.cost,
                price=price,
                last_seq=last_seq,
            )
            for name, value in self._totals(usage, price, last_seq, "cancelled").items():
                setattr(run, name, value)
            await self._outbox.add(session, cancelled, settled)
        return "cancelled"


class RouterRefusalError(Exception):
    """A refusal of the provider router said in words for people, keeping the router's code."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code


def _router_code(exc: Exception) -> str | None:
    """The code of the router's refusal of a call (None for anything else)."""
    if not isinstance(exc, openai.APIStatusError) or not isinstance(exc.body, dict):
        return None
    error = exc.body.get("error")
    code = (error if isinstance(error, dict) else exc.body).get("code")
    return str(code) if code else None


def _unavailable(plan: RunPlan, code: str | None) -> tuple[SkipReason, str] | None:
    """Why the agent's model cannot be called at all, in words for people: its circuit is open, or no provider
    serves it here (the router answers ``model_not_found`` for a model whose provider has no key)."""
    if code == "circuit_open":
        return "circuit_open", (
            f"{plan.provider} keeps failing for {plan.model}, so the provider router stopped calling it for a while "
            "(its circuit is open). Run the agent again in a few minutes."
        )
    if code == "model_not_found":
        return "provider_not_configured", (
            f"No provider is configured for {plan.model}: set up {plan.provider} for the provider router, or choose "
            f"another model for the {plan.agent.replace('_', ' ')} agent."
        )
    return None


def _nothing_spent(plan: RunPlan, usage: Usage) -> bool:
    """No provider call of the run answered, in this attempt or an earlier one, and no step was taken."""
    return usage.calls == 0 and not (usage.input_tokens or usage.output_tokens or usage.cost) and plan.resume.step == 0


def _skip_of(plan: RunPlan, exc: Exception) -> tuple[SkipReason, str] | None:
    """Why the run is skipped rather than failed: its budget ran out before its first model call, or the router
    refused that call before calling any provider. The router says it did call one (a fallback's attempt, which is
    recorded and must be settled) with ``x-should-retry: false``."""
    if isinstance(exc, BudgetSpentError):
        return "budget_exceeded", BUDGET_SPENT
    if not isinstance(exc, openai.APIStatusError) or exc.response.headers.get("x-should-retry") == "false":
        return None
    return _unavailable(plan, _router_code(exc))


def _readable(plan: RunPlan, exc: Exception) -> Exception:
    """A router refusal the card should explain (the model's circuit opened mid-run) in words, else ``exc``."""
    unavailable = _unavailable(plan, _router_code(exc))
    if unavailable is None:
        return exc
    return RouterRefusalError(_code(exc), unavailable[1])


async def _briefed(plan: RunPlan, code: CodeWorkspace | None) -> list[dict[str, Any]]:
    """The run's first messages, with its briefing and, for a role that is briefed on a failure, the branch's
    diff against main (a resumed run has them in its conversation)."""
    if not plan.briefing or plan.resume.step:
        return plan.messages
    said = plan.briefing
    if code is not None:
        with contextlib.suppress(GitError):
            diff = await code.copy.diff()
            said += f"\n\nThe branch's diff against main:\n```diff\n{diff[:DIFF_BRIEFED]}\n```"
    return [*plan.messages, {"role": "user", "content": said}]


def _reason(exc: Exception) -> str:
    if isinstance(exc, MalformedOutputError):
        return f"The agent's answer stayed malformed after one repair attempt: {exc}"
    if isinstance(exc, openai.APIStatusError):
        return f"The provider router refused the call ({exc.status_code}): {exc.message}"[:500]
    if isinstance(exc, openai.APIConnectionError):
        return "The provider router could not be reached."
    return str(exc)[:500] or type(exc).__name__


def _code(exc: Exception) -> str:
    if isinstance(exc, RepositoryUnavailableError):
        return "repository_unavailable"
    if isinstance(exc, MalformedOutputError):
        return "malformed_output"
    if isinstance(exc, BudgetSpentError):
        return "budget_exceeded"
    if isinstance(exc, RouterRefusalError):
        return exc.code[:64]
    if isinstance(exc, ProviderStreamError):
        return exc.code[:64]
    if isinstance(exc, openai.APIStatusError):
        return (_router_code(exc) or "provider_error")[:64]
    return "provider_unreachable" if isinstance(exc, openai.APIConnectionError) else "provider_error"


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)


def call_headers(
    workspace_id: uuid.UUID, project_id: uuid.UUID, run_id: uuid.UUID, agent: str, card_id: uuid.UUID | None
) -> dict[str, str]:
    """What the router records each call of a run under (its usage names the run, its card and its agent)."""
    headers = {
        "x-aw-workspace-id": str(workspace_id),
        "x-aw-project-id": str(project_id),
        "x-aw-run-id": str(run_id),
        "x-aw-agent": agent,
    }
    if card_id:
        headers["x-aw-card-id"] = str(card_id)
    return headers


def _take_calls(chunk: dict[str, Any], calls: dict[int, dict[str, str]]) -> None:
    """Tool calls as OpenAI streams them: a call's first delta names it, the later ones add to its arguments."""
    for choice in chunk.get("choices") or []:
        for delta in (choice.get("delta") or {}).get("tool_calls") or []:
            call = calls.setdefault(delta.get("index", 0), {"id": "", "name": "", "arguments": ""})
            function = delta.get("function") or {}
            call["id"] = delta.get("id") or call["id"]
            call["name"] += function.get("name") or ""
            call["arguments"] += function.get("arguments") or ""


def _count_tool_call(usage: Usage, input_tokens: int, cost: Decimal) -> None:
    """A tool's own provider call (an image) into the run's usage, as the router recorded it."""
    usage.input_tokens += input_tokens
    usage.cost += cost
    usage.calls += 1
