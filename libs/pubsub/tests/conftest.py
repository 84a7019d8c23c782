from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from agentworks_platform.db import Database, new_metadata
from agentworks_pubsub.tables import inbox_table, outbox_table
from agentworks_pubsub.testing import RecordingSink
from sqlalchemy import MetaData, Table


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
