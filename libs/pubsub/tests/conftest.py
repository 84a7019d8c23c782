from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from agentworks_events import EventMessage
from agentworks_platform.db import Database, new_metadata
from agentworks_pubsub.tables import inbox_table, outbox_table
from sqlalchemy import MetaData, Table


class RecordingSink:
    """Collects what would be published; can be told to fail."""

    def __init__(self) -> None:
        self.published: list[tuple[str, EventMessage]] = []
        self.failing = False

    async def publish_message(self, topic: str, message: EventMessage) -> str:
        if self.failing:
            raise ConnectionError("pubsub unavailable")
        self.published.append((topic, message))
        return str(len(self.published))

    def event_ids(self) -> list[str]:
        return [m.attributes["event_id"] for _, m in self.published]


class Tables:
    def __init__(self) -> None:
        self.metadata: MetaData = new_metadata()
        self.outbox: Table = outbox_table(self.metadata)
        self.inbox: Table = inbox_table(self.metadata)


@pytest.fixture
def tables() -> Tables:
    return Tables()


@pytest.fixture
async def db(database_url: str, tables: Tables) -> AsyncIterator[Database]:
    database = Database(database_url)
    async with database.engine.begin() as connection:
        await connection.run_sync(tables.metadata.create_all)
    yield database
    await database.dispose()


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink()
