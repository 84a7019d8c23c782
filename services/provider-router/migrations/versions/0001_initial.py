"""provider-router: initial schema (outbox).

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


def downgrade() -> None:
    migration_ops.drop_outbox()
