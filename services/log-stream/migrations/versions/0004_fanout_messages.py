"""fanout messages

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "fanout_messages",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("topic", sa.Uuid(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fanout_messages")),
    )
    with op.batch_alter_table("fanout_messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fanout_messages_created_at"), ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("fanout_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fanout_messages_created_at"))
    op.drop_table("fanout_messages")
