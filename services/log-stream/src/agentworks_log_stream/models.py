"""Tables owned by the log stream service."""

from __future__ import annotations

from pathlib import Path

from agentworks_platform.db import new_metadata
from agentworks_pubsub.tables import inbox_table

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"

metadata = new_metadata()
inbox = inbox_table(metadata)
