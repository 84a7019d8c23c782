"""Tool-using runs: the loop's steps, their checkpoints and effects, resume after a crash, limits and cancel."""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import Any

from agentworks_orchestrator.models import RunCheckpoint
from sqlalchemy import select

from .conftest import Stack

TOOL_ROLES = frozenset({"prd", "architect", "designer"})


async def _tool_stack(make_stack: Any, exits: AsyncExitStack, **overrides: Any) -> Stack:
    stack: Stack = await make_stack(exits, tool_roles=TOOL_ROLES, **overrides)
    return stack


async def test_the_offline_model_drives_a_whole_session_through_the_tools(make_stack: Any) -> None:
    async with AsyncExitStack() as exits:
        stack = await _tool_stack(make_stack, exits)
        assert (await stack.push(stack.moved(to_lane=1))).status_code == 204
        steps = stack.events("agent.run.step")
        assert [s.step for s in steps] == [1, 2, 3, 4]
        assert [[c.tool for c in s.tool_calls] for s in steps] == [
            ["read_card"],
            ["write_document", "create_child_card", "create_child_card"],
            ["comment"],
            [],
        ]
        assert all(c.ok for s in steps for c in s.tool_calls)
        assert "Checkout" in steps[0].tool_calls[0].result
        assert "offline model" in steps[0].text
        kinds = [e.kind for s in steps for e in s.effects]
        assert kinds == ["document.write", "card.create_child", "card.create_child", "card.comment"]
        [document] = steps[1].effects[:1]
        assert (document.name, document.call_id) == ("prd", steps[1].tool_calls[0].call_id)
        assert steps[2].effects[0].card_id == stack.ids["card"]
        [completed] = stack.events("agent.run.completed")
        assert (completed.steps, completed.stopped_at_limit) == (4, None)
        assert completed.artifacts.documents == () and completed.artifacts.summary.startswith("Done:")
        [settled] = stack.events("usage.run_settled")
        usage = [e for e in stack.router_sink.events() if e.type == "usage.recorded"]
        assert settled.provider_calls == len(usage) == 4
        logs = [line.text for event in stack.events("agent.run.log") for line in event.lines]
        assert "→ read_card()" in logs
        async with stack.orchestrator.state.ctx.db.transaction() as session:
            checkpoints = (await session.scalars(select(RunCheckpoint).order_by(RunCheckpoint.step))).all()
        assert [c.step for c in checkpoints] == [1, 2, 3, 4]
        assert [m["role"] for m in checkpoints[0].messages] == ["system", "user", "assistant", "tool"]
