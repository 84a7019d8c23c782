"""Lifespan loops (the outbox relay, pull consumers) that stop between rounds instead of being cancelled."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from contextlib import AsyncExitStack
from typing import Any

STOP_SECONDS = 10.0


class StoppableLoop:
    """Base of a loop run as a lifespan task: ``stop`` lets the round in progress finish (cancelling it
    mid-query could leave the database driver answering a loop that has gone), cancelling only past
    ``STOP_SECONDS``."""

    def __init__(self) -> None:
        self._stopping = asyncio.Event()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    async def pause(self, seconds: float) -> None:
        """Wait ``seconds``, or less if ``stop`` is called meanwhile."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def stop(self, running: asyncio.Task[None]) -> None:
        self._stopping.set()
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(running, STOP_SECONDS)


def start_loop(stack: AsyncExitStack, loop: StoppableLoop, work: Coroutine[Any, Any, None], name: str) -> None:
    """Run ``work`` (``loop``'s run coroutine) until the stack closes, then stop it between rounds."""
    running = asyncio.create_task(work, name=name)
    stack.push_async_callback(loop.stop, running)
