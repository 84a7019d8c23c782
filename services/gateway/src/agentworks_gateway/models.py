"""Tables owned by the gateway service."""

from __future__ import annotations

from pathlib import Path

from agentworks_platform.db import new_metadata

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"

metadata = new_metadata()
