"""The working copy of each run attempt of a build, review or test role: opened before its first step (a fresh
clone of the card's branch, the file changes of its checkpointed steps put back when it resumes), removed after it,
and the commands its tools run recorded."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentworks_platform.db import Database
from agentworks_platform.errors import AppError
from agentworks_platform.logging import get_logger
from agentworks_repos import GitError
from agentworks_sandbox import Sandbox, SandboxLimits

from agentworks_orchestrator.code import repository
from agentworks_orchestrator.code import service as code_service
from agentworks_orchestrator.code.replay import replay
from agentworks_orchestrator.code.service import CodeContext
from agentworks_orchestrator.code.workcopy import Author, WorkingCopyError, open_working_copy, remove_working_copy
from agentworks_orchestrator.code.workspace import CodeWorkspace, CommandRun
from agentworks_orchestrator.models import CommandRunRow

log = get_logger(__name__)


class RepositoryUnavailableError(Exception):
    """The card's repository could not be opened for the attempt (the run fails, saying why)."""


@dataclass(frozen=True, slots=True)
class AttemptOf:
    """Which attempt of which run a working copy is for."""

    run_id: uuid.UUID
    attempt: int
    workspace_id: uuid.UUID
    project_id: uuid.UUID
    card_id: uuid.UUID
    card_title: str
    agent: str
    agent_name: str
    card_human_id: str = ""


@dataclass(frozen=True, slots=True)
class CodeAttempts:
    """Opens working copies under ``root`` of the card's branch (made and recorded by ``code`` the first time),
    with the sandbox the fleet has (None, and why, when it has none) and the limits its commands run under."""

    db: Database
    code: CodeContext
    sandbox: Sandbox | None
    unavailable: str | None
    limits: SandboxLimits
    root: Path

    @asynccontextmanager
    async def opened(self, of: AttemptOf, conversation: Sequence[dict[str, Any]]) -> AsyncIterator[CodeWorkspace]:
        directory = self.root / f"{of.run_id}-{of.attempt}"
        # An earlier attempt's executor died before removing its working copy (perhaps mid-command, still handed to
        # the sandbox's user); this attempt took the run over, so that copy is nobody's any more.
        for earlier in range(1, of.attempt):
            await asyncio.to_thread(remove_working_copy, self.root / f"{of.run_id}-{earlier}")
        try:
            remote = await code_service.remote_of(self.code, of.project_id)
            branch = await code_service.card_branch(
                self.code, of.workspace_id, of.project_id, of.card_id, of.card_title
            )
            copy = await open_working_copy(remote, directory, branch)
            await replay(copy, conversation)
        except (GitError, WorkingCopyError, OSError, AppError) as exc:  # AppError: a connected remote refused
            remove_working_copy(directory)
            raise RepositoryUnavailableError(f"The card's repository could not be opened: {exc}") from exc
        try:
            yield CodeWorkspace(
                copy=copy,
                author=Author(of.agent_name, of.agent),
                card=of.card_human_id,
                sandbox=self.sandbox,
                unavailable=self.unavailable,
                limits=self.limits,
                record=lambda command: self._record(of, command),
            )
        finally:
            remove_working_copy(directory)

    async def _record(self, of: AttemptOf, command: CommandRun) -> None:
        result = command.result
        row = CommandRunRow(
            id=uuid.uuid4(),
            workspace_id=of.workspace_id,
            project_id=of.project_id,
            card_id=of.card_id,
            run_id=of.run_id,
            agent=of.agent,
            call=command.call,
            command=command.command,
            exit_code=result.exit_code,
            output_tail=result.output_tail,
            truncated=result.truncated,
            timed_out=result.timed_out,
            killed_reason=result.killed_reason,
            duration_ms=result.duration_ms,
            started_at=command.started_at,
        )
        async with self.db.transaction() as session:
            await repository.add_command_run(session, row)
