"""The loop of a tool-using run: call the model with the role's tools, carry out its calls, feed their results
back, checkpoint the step with its effects, and go on until the model answers without calls or a limit is
reached. A run taken over resumes after its last checkpointed step."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from agentworks_events.runs import RunEffect, ToolCallRecord
from agentworks_platform.logging import get_logger

from agentworks_orchestrator.config import RunLimits
from agentworks_orchestrator.runs.tools import Tool, ToolCall, ToolContext, perform

log = get_logger(__name__)

Limit = Literal["steps", "tokens", "time", "cost"]
LIMIT_REASONS: dict[Limit, str] = {
    "steps": "it reached its limit of {limits.max_steps} steps",
    "tokens": "it used its limit of {limits.max_tokens} tokens",
    "time": "it ran for its limit of {limits.max_seconds:g} seconds",
    "cost": "it spent its limit of ${limits.max_cost}",
}


class RunCancelledError(Exception):
    """The run was cancelled: seen at a commit of its state or while its tools were running."""


class BudgetSpentError(Exception):
    """The workspace's (or project's) budget ran out while the run was going on."""


@dataclass(frozen=True, slots=True)
class ModelTurn:
    """What the model answered in one call: its prose and the tool calls it made."""

    text: str
    calls: tuple[ToolCall, ...] = ()


@dataclass(frozen=True, slots=True)
class Resume:
    """Where a run continues: the step it last completed, the conversation then, and the time spent so far."""

    step: int = 0
    messages: tuple[dict[str, Any], ...] = ()
    elapsed_ms: int = 0


@dataclass(frozen=True, slots=True)
class Step:
    """One completed step, as it is checkpointed and published."""

    number: int
    text: str
    messages: list[dict[str, Any]]
    records: tuple[ToolCallRecord, ...]
    effects: tuple[RunEffect, ...]
    duration_ms: int
    elapsed_ms: int


@dataclass(frozen=True, slots=True)
class LoopOutcome:
    summary: str
    steps: int
    stopped_at_limit: Limit | None = None


@dataclass
class Spent:
    """What the run has spent so far, as the limits read it."""

    tokens: Callable[[], int]
    cost: Callable[[], Any]


@dataclass
class AgentLoop:
    """Runs the steps of one attempt. ``call`` asks the model, ``checkpoint`` stores a step with its event (False
    when the run was cancelled meanwhile), ``cancelled`` reads the run's cancel flag, ``budget_spent`` billing's
    gate; ``say`` writes a line to the run's terminal; ``now`` is the clock (in seconds) the time limit reads."""

    call: Callable[[list[dict[str, Any]], list[dict[str, Any]]], Awaitable[ModelTurn]]
    checkpoint: Callable[[Step], Awaitable[bool]]
    cancelled: Callable[[], Awaitable[bool]]
    budget_spent: Callable[[], Awaitable[bool]]
    say: Callable[[str], Awaitable[None]]
    spent: Spent
    tools: tuple[Tool, ...]
    context: ToolContext
    limits: RunLimits
    poll_seconds: float
    now: Callable[[], float] = time.monotonic
    started: float = field(init=False)

    def __post_init__(self) -> None:
        self.started = self.now()

    async def run(self, messages: list[dict[str, Any]], resume: Resume) -> LoopOutcome:
        """Steps from the one after ``resume``; raises RunCancelledError (from ``checkpoint`` or a cancelled tool)
        and BudgetSpentError."""
        conversation = list(resume.messages) or list(messages)
        if resume.step and _final(conversation[-1]):  # the answer was checkpointed; the run only has to end
            return LoopOutcome(str(conversation[-1].get("content") or "").strip()[:5000], resume.step)
        offered = [tool.spec(self.context.documents) for tool in self.tools]
        number = resume.step
        while True:
            limit = self._limit_reached(number, resume.elapsed_ms)
            if limit is not None:
                reason = LIMIT_REASONS[limit].format(limits=self.limits)
                await self.say(f"■ stopped: {reason}")
                return LoopOutcome(f"Stopped before finishing: {reason}.", number, limit)
            if await self.budget_spent():
                raise BudgetSpentError("The monthly budget ran out during the run; raise the cap to run agents again.")
            number += 1
            step_started = time.perf_counter()
            turn = await self.call(conversation, offered)
            conversation.append(_assistant_message(turn))
            records, effects = await self._carry_out(turn.calls, number)
            conversation.extend(
                {"role": "tool", "tool_call_id": record.call_id, "content": record.result} for record in records
            )
            step = Step(
                number,
                turn.text,
                conversation,
                records,
                effects,
                _ms(step_started),
                resume.elapsed_ms + self._elapsed_ms(),
            )
            if not await self.checkpoint(step):
                raise RunCancelledError
            if not turn.calls:
                return LoopOutcome(turn.text.strip()[:5000], number)

    def _limit_reached(self, steps_done: int, elapsed_before_ms: int) -> Limit | None:
        if steps_done >= self.limits.max_steps:
            return "steps"
        if self.spent.tokens() >= self.limits.max_tokens:
            return "tokens"
        if (elapsed_before_ms + self._elapsed_ms()) / 1000 >= self.limits.max_seconds:
            return "time"
        if self.spent.cost() >= self.limits.max_cost:
            return "cost"
        return None

    def _elapsed_ms(self) -> int:
        return int((self.now() - self.started) * 1000)

    async def _carry_out(
        self, calls: tuple[ToolCall, ...], step: int
    ) -> tuple[tuple[ToolCallRecord, ...], tuple[RunEffect, ...]]:
        """The step's calls, at once (a model may make several in one turn); a cancel stops them mid-way."""
        if not calls:
            return (), ()
        context = replace(self.context, step=step)
        for call in calls:
            await self.say(f"→ {call.name}({_brief(call.arguments)})")
        work: asyncio.Future[Any] = asyncio.gather(*(perform(call, self.tools, context) for call in calls))
        watch: asyncio.Future[Any] = asyncio.ensure_future(self._watch_cancel())
        try:
            done, _ = await asyncio.wait({work, watch}, return_when=asyncio.FIRST_COMPLETED)
            if watch in done:
                work.cancel()
                await asyncio.gather(work, return_exceptions=True)
                raise RunCancelledError
            results = work.result()
        finally:
            # The attempt itself may be cancelled (its process stopping): its tools end before it goes on, so
            # nothing they hold (a working copy, a sandboxed command) outlives it.
            watch.cancel()
            work.cancel()
            await asyncio.gather(watch, work, return_exceptions=True)
        for record, _effect in results:
            await self.say(f"  {'✓' if record.ok else '✖'} {record.tool}: {_first_line(record.result)}")
        return tuple(r for r, _ in results), tuple(e for _, e in results if e is not None)

    async def _watch_cancel(self) -> None:
        # The flag is a row another process writes: it is read, not awaited. A read that fails (the database away
        # for a moment) is no cancel: the tools go on, and the next read or the step's checkpoint tells.
        while True:
            try:
                if await self.cancelled():
                    return
            except Exception as exc:  # any failure to read the flag is only logged
                log.warning("run.cancel_flag_unread", run_id=str(self.context.run_id), error=type(exc).__name__)
            await asyncio.sleep(self.poll_seconds)


def _final(message: dict[str, Any]) -> bool:
    """Whether a message is the model's last answer: an assistant turn with no tool call."""
    return message.get("role") == "assistant" and not message.get("tool_calls")


def _assistant_message(turn: ModelTurn) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": turn.text or None}
    if turn.calls:
        message["tool_calls"] = [call.message() for call in turn.calls]
    return message


def _brief(arguments: str, limit: int = 120) -> str:
    try:
        value = json.loads(arguments or "{}")
    except ValueError:
        return arguments[:limit]
    if not isinstance(value, dict):
        return arguments[:limit]
    text = ", ".join(f"{key}={json.dumps(item)[:60]}" for key, item in value.items())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _first_line(text: str) -> str:
    line = text.strip().split("\n", 1)[0]
    return line if len(line) <= 160 else line[:159] + "…"


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
