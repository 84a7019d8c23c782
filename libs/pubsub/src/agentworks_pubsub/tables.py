"""The outbox and inbox tables, added to each service's own metadata (and so to its migrations)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

OUTBOX = "outbox"
INBOX = "inbox"


def outbox_table(metadata: MetaData) -> Table:
    """Events written in the same transaction as the change that caused them; ``published_at`` once sent."""
    return Table(
        OUTBOX,
        metadata,
        Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
        Column("event_id", String(36), nullable=False, unique=True),
        Column("topic", String(64), nullable=False),
        Column("event_type", String(64), nullable=False),
        Column("ordering_key", String(64), nullable=False, default=""),
        Column("data", Text, nullable=False),
        Column("attributes", Text, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("published_at", DateTime(timezone=True)),
        Column("message_id", String(64)),
        Column("publish_attempts", Integer, nullable=False, default=0),
        Column("last_error", Text),
        Index("ix_outbox_unpublished", "published_at", "seq"),
    )


def inbox_table(metadata: MetaData) -> Table:
    """One row per (subscription, event id) processed; written in the same transaction as the effect."""
    return Table(
        INBOX,
        metadata,
        Column("subscription", String(128), nullable=False),
        Column("event_id", String(36), nullable=False),
        Column("event_type", String(64), nullable=False),
        Column("message_id", String(64), nullable=False),
        Column("delivery_attempt", Integer, nullable=False, default=1),
        Column("outcome", String(16), nullable=False),
        Column("detail", Text),
        Column("processed_at", DateTime(timezone=True), nullable=False),
        PrimaryKeyConstraint("subscription", "event_id"),
    )
