"""The log batcher's numbering and its last drain when the run was cancelled in the middle of a line."""

from __future__ import annotations

import pytest
from agentworks_events import LogLine
from agentworks_orchestrator.runs.executor import LogBatcher
from agentworks_orchestrator.runs.loop import RunCancelledError


class CancelledRun:
    """A flush target that stores every batch, then reports the run cancelled as the executor's ``_log`` does."""

    def __init__(self) -> None:
        self.stored: list[LogLine] = []

    async def flush(self, lines: list[LogLine]) -> None:
        self.stored.extend(lines)
        raise RunCancelledError


def batcher_for(run: CancelledRun) -> LogBatcher:
    return LogBatcher(run.flush, max_lines=1, max_seconds=3600.0, seq=1)


async def test_a_flush_that_finds_the_run_cancelled_stops_the_stream() -> None:
    run = CancelledRun()
    with pytest.raises(RunCancelledError):
        await batcher_for(run).add("first line\nhalf of the sec")
    assert [line.text for line in run.stored] == ["first line"]


async def test_the_last_drain_of_a_cancelled_run_stores_the_unfinished_line_without_raising() -> None:
    run = CancelledRun()
    batcher = batcher_for(run)
    with pytest.raises(RunCancelledError):
        await batcher.add("first line\nhalf of the sec")
    await batcher.store_rest()
    assert [(line.seq, line.text) for line in run.stored] == [(1, "first line"), (2, "half of the sec")]
    assert batcher.last_seq == 2
