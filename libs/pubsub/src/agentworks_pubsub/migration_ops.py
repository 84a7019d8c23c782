"""Alembic operations creating the outbox and inbox tables (schema version 1) in a service's migration."""

from __future__ import annotations

from agentworks_platform.db import new_metadata
from alembic import op

from agentworks_pubsub.tables import INBOX, OUTBOX, inbox_table, outbox_table


def create_outbox() -> None:
    outbox_table(new_metadata()).create(op.get_bind())


def create_inbox() -> None:
    inbox_table(new_metadata()).create(op.get_bind())


def drop_outbox() -> None:
    op.drop_table(OUTBOX)


def drop_inbox() -> None:
    op.drop_table(INBOX)
