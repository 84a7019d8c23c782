"""core: initial schema (outbox and inbox).

Revision ID: 0001
Revises:
"""

from agentworks_pubsub import migration_ops

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    migration_ops.create_outbox()
    migration_ops.create_inbox()


def downgrade() -> None:
    migration_ops.drop_inbox()
    migration_ops.drop_outbox()
