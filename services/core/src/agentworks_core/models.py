"""Tables owned by the core service."""

from __future__ import annotations

from pathlib import Path

from agentworks_platform.db import new_metadata
from agentworks_pubsub.tables import inbox_table, outbox_table

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"

metadata = new_metadata()
outbox = outbox_table(metadata)
inbox = inbox_table(metadata)
