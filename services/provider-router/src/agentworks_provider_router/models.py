"""Tables owned by the provider router service."""

from __future__ import annotations

from pathlib import Path

from agentworks_platform.db import new_metadata
from agentworks_pubsub.tables import outbox_table
from sqlalchemy import BigInteger, Column, DateTime, Integer, Table, Uuid

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
COST_PLACES = 10
"""Costs are kept as whole numbers of 1e-10 USD (the places an event's amount has), so sums are exact."""

metadata = new_metadata()
outbox = outbox_table(metadata)

run_usage = Table(
    "run_usage",
    metadata,
    Column("run_id", Uuid, primary_key=True),
    Column("provider_calls", Integer, nullable=False),
    Column("input_tokens", BigInteger, nullable=False),
    Column("output_tokens", BigInteger, nullable=False),
    Column("cost_units", BigInteger, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
"""What a run's provider calls have cost so far, one usage record each, whichever executor made them."""
