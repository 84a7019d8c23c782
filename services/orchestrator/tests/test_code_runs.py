"""Runs of the build and test roles on a card's code, with core, billing and the router's model stood in: a
developer's run writes, tests and commits on the card's branch (as the agent, with its run in a trailer) in a working
copy of its own that is gone after the attempt, and each command it runs is recorded; an executor killed while a
command runs is resumed without committing twice; the Troubleshooter is given the card's last failed command and
the branch's diff."""

from __future__ import annotations

import asyncio
import uuid
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
from agentworks_events import CardMoved, run_id_for
from agentworks_orchestrator.config import OrchestratorSettings
from agentworks_orchestrator.models import CommandRunRow
from agentworks_orchestrator.state import run_service_of
from agentworks_repos import git_text
from agentworks_sandbox import BubblewrapSandbox
from sqlalchemy import select

from .conftest import ManualClock, Orchestrator, Turn, agent_config

pytestmark = pytest.mark.skipif(BubblewrapSandbox().available() is not None, reason="needs bubblewrap")
TEST = "import unittest\n\nfrom checkout import TOTAL\n\n\nclass T(unittest.TestCase):\n    def test_total(self):\n"
PASSING = TEST + "        self.assertEqual(TOTAL, 1)\n"
FAILING = TEST + "        self.assertEqual(TOTAL, 2)\n"
CODE_ROLES = frozenset({"dev_backend", "troubleshooter"})


async def developer(make_orchestrator: Any, exits: AsyncExitStack, **overrides: Any) -> Orchestrator:
    """The orchestrator with the Backend developer alone in lane 5."""
    orchestrator: Orchestrator = await make_orchestrator(exits, tool_roles=CODE_ROLES, **overrides)
    del orchestrator.agents["dev_frontend"]
    return orchestrator


def settings_of(orchestrator: Orchestrator) -> OrchestratorSettings:
    return run_service_of(orchestrator.app.state.ctx).settings


def bare(orchestrator: Orchestrator) -> Path:
    return settings_of(orchestrator).repos_dir / f"{orchestrator.project}.git"


async def agent_commits(orchestrator: Orchestrator) -> list[str]:
    """The card branch's commits by agents: author, subject and trailers."""
    branch = await git_text("for-each-ref", "--format=%(refname:short)", "refs/heads/card/", cwd=bare(orchestrator))
    listed = await git_text("log", "--format=%an|%s|%(trailers:only,unfold,separator=%x3B)", branch, "--not", "main",
                            cwd=bare(orchestrator))  # fmt: skip
    return [line for line in listed.splitlines() if line]


async def command_rows(orchestrator: Orchestrator) -> list[CommandRunRow]:
    async with orchestrator.db.transaction() as session:
        return list((await session.scalars(select(CommandRunRow).order_by(CommandRunRow.started_at))).all())


def writes(test: str = PASSING) -> Turn:
    files = {".gitignore": "started\n__pycache__/\n", "checkout.py": "TOTAL = 1\n", "test_checkout.py": test}
    return Turn(
        "Writing the module and its test.", tuple(("write_file", {"path": p, "content": c}) for p, c in files.items())
    )


async def test_a_developer_writes_tests_and_commits_on_the_cards_branch(make_orchestrator: Any) -> None:
    async with AsyncExitStack() as exits:
        orchestrator = await developer(make_orchestrator, exits)
        orchestrator.model.script = [
            writes(),
            Turn("Testing.", (("run_command", {"command": "python3 -m unittest"}),)),
            Turn("Committing.", (("commit", {"message": "Add the checkout total"}),)),
            Turn("Done: the total is in, with its test."),
        ]
        moved = orchestrator.moved(to_lane=5)
        assert (await orchestrator.push(moved)).status_code == 204
        [completed] = orchestrator.events("agent.run.completed")
        run = run_id_for(moved.id, "dev_backend")
        assert completed.run_id == run
        steps = orchestrator.events("agent.run.step")
        assert all(call.ok for step in steps for call in step.tool_calls), [
            c.result for s in steps for c in s.tool_calls
        ]
        assert "exit code 0" in steps[1].tool_calls[0].result
        commit_call = steps[2].tool_calls[0].call_id
        assert await agent_commits(orchestrator) == [
            f"Backend developer|Add the checkout total|"
            f"AgentWorks-Run: {run};AgentWorks-Call: 3/{commit_call};AgentWorks-Card: SHOP-7"
        ]
        [row] = await command_rows(orchestrator)
        assert (row.run_id, row.card_id, row.agent, row.command, row.exit_code) == (
            run, orchestrator.card, "dev_backend", "python3 -m unittest", 0,
        )  # fmt: skip
        assert "OK" in row.output_tail
        assert list(settings_of(orchestrator).working_copies_dir.iterdir()) == []  # removed after the attempt


async def test_an_executor_killed_during_a_command_resumes_without_a_second_commit(make_orchestrator: Any) -> None:
    async with AsyncExitStack() as exits:
        clock = ManualClock()
        orchestrator = await developer(make_orchestrator, exits, clock=clock)
        commit = ("commit", {"message": "Add the total"})
        blocking = ("run_command", {"command": "touch started && sleep 60"})
        passing = ("run_command", {"command": "python3 -m unittest"})
        orchestrator.model.script = [
            writes(),
            # The commit is pushed while the command still runs, and the executor dies before the step is saved.
            Turn("Committing and testing.", (commit, blocking)),
            Turn("Committing and testing.", (commit, passing)),
            Turn("Done."),
        ]  # fmt: skip
        moved = orchestrator.moved(to_lane=5)
        service = run_service_of(orchestrator.app.state.ctx)
        crashed = asyncio.create_task(service.on_card_event(moved))
        run = run_id_for(moved.id, "dev_backend")
        marker = settings_of(orchestrator).working_copies_dir / f"{run}-1" / "started"
        while not (marker.exists() and await agent_commits(orchestrator)):  # noqa: ASYNC110 - the command's file
            await asyncio.sleep(0.05)
        crashed.cancel()  # the process died during the command: step 2 was never checkpointed
        await asyncio.gather(crashed, return_exceptions=True)
        clock.advance(service.settings.lease_seconds + 1)
        assert (await orchestrator.push(moved)).status_code == 204
        steps = orchestrator.events("agent.run.step")
        assert [(s.step, s.attempt) for s in steps] == [(1, 1), (2, 2), (3, 2)]
        commit, command = steps[1].tool_calls
        # The resumed working copy got step 1's files back; they were already committed, so nothing is again.
        assert commit.error == "There is nothing to commit: the working copy has no change since the last commit."
        assert "exit code 0" in command.result
        commits = await agent_commits(orchestrator)
        assert len(commits) == 1
        assert commits[0].startswith("Backend developer|Add the total|")
        assert [row.command for row in await command_rows(orchestrator)] == ["python3 -m unittest"]
        assert not marker.parent.exists()  # the dead attempt's working copy went with the attempt that took over


async def test_the_troubleshooter_is_given_the_last_failed_command_and_the_diff(make_orchestrator: Any) -> None:
    async with AsyncExitStack() as exits:
        orchestrator = await developer(make_orchestrator, exits)
        orchestrator.agents["troubleshooter"] = agent_config("troubleshooter")
        orchestrator.model.script = [
            writes(FAILING),
            Turn("Testing.", (("run_command", {"command": "python3 -m unittest"}),)),
            Turn("Committing.", (("commit", {"message": "Add the total"}),)),
            Turn("Done."),
            Turn("Looking into it."),
        ]
        assert (await orchestrator.push(orchestrator.moved(to_lane=5))).status_code == 204
        assert (await orchestrator.push(moved_to(orchestrator, 7))).status_code == 204
        briefing = orchestrator.model.requests[-1]["messages"][2]["content"]
        assert briefing.startswith(
            "The card's last failed command (dev_backend, exit code 1):\n$ python3 -m unittest\n"
        )
        assert "AssertionError: 1 != 2" in briefing
        assert "The branch's diff against main:\n```diff\n" in briefing
        assert "+TOTAL = 1" in briefing


def moved_to(orchestrator: Orchestrator, lane: int) -> CardMoved:
    """The card moved on from lane 5 into ``lane`` (a new event)."""
    moved = orchestrator.moved(to_lane=lane)
    return moved.model_copy(update={"id": uuid.uuid4(), "from_lane_number": 5})
