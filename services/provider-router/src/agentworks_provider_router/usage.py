"""Every provider attempt becomes a ``usage.recorded`` event, written through the router's outbox, and counts
towards its run's spend in the same transaction."""

from __future__ import annotations

from agentworks_events import UsageRecorded
from agentworks_platform.db import Database
from agentworks_pubsub import Outbox

from agentworks_provider_router.routing import AttemptRecord
from agentworks_provider_router.run_usage import repository as run_usage


class UsageRecorder:
    """Writes each attempt as a ``usage.recorded`` event through the outbox, and adds it to its run's spend."""

    def __init__(self, db: Database, outbox: Outbox) -> None:
        self._db = db
        self._outbox = outbox

    async def __call__(self, record: AttemptRecord) -> None:
        meta = record.meta
        event = UsageRecorded(
            workspace_id=meta.workspace_id,
            project_id=meta.project_id,
            run_id=meta.run_id,
            card_id=meta.card_id,
            agent=meta.agent,
            api_key_id=meta.api_key_id,
            provider=record.provider,
            model=record.model,
            requested_provider=record.requested_provider,
            input_tokens=record.input_tokens,
            output_tokens=record.output_tokens,
            images=record.images,
            cost=record.cost,
            latency_ms=record.latency_ms,
            attempt=record.attempt,
            outcome=record.outcome,
            error_code=record.error_code,
            cached_input_tokens=record.cached_input_tokens,
            cache_write_tokens=record.cache_write_tokens,
            reasoning_tokens=record.reasoning_tokens,
            estimated=record.estimated,
        )
        async with self._db.transaction() as session:
            await self._outbox.add(session, event)
            if meta.run_id is not None:
                spent = run_usage.RunSpend(1, record.input_tokens, record.output_tokens, record.cost)
                await run_usage.add(session, meta.run_id, spent)
