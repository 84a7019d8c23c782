"""What the code tools of one run attempt act on: its working copy, the agent committing, and the sandbox its
commands run in (or why there is none)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from agentworks_sandbox import CommandResult, Sandbox, SandboxLimits

from agentworks_orchestrator.code.workcopy import Author, WorkingCopy


@dataclass(frozen=True, slots=True)
class CommandRun:
    """One command an agent ran in the sandbox, as it is recorded (a row of ``command_runs``)."""

    call: str
    command: str
    result: CommandResult
    started_at: datetime


@dataclass(frozen=True, slots=True)
class CodeWorkspace:
    """A run attempt's working copy and sandbox. ``card`` is the card's short id its commits carry (empty when the
    run's context has none); ``sandbox`` is None when none is available here, and ``unavailable`` then says why;
    ``record`` stores each command run (its own transaction); ``lock`` lets one code tool at a time work on the
    working copy."""

    copy: WorkingCopy
    author: Author
    card: str
    sandbox: Sandbox | None
    unavailable: str | None
    limits: SandboxLimits
    record: Callable[[CommandRun], Awaitable[None]]
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
