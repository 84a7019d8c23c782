"""approval gates: lanes that hold completed runs for a person's decision

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
    with op.batch_alter_table("lanes") as lanes:
        lanes.add_column(sa.Column("requires_approval", sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table("agent_runs") as runs:
        runs.add_column(sa.Column("approval", sa.String(length=16), nullable=True))
        runs.add_column(sa.Column("approval_comment", sa.Text(), server_default="", nullable=False))
        runs.add_column(sa.Column("decided_by", sa.Uuid(), nullable=True))
        runs.add_column(sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("agent_runs") as runs:
        for column in ("decided_at", "decided_by", "approval_comment", "approval"):
            runs.drop_column(column)
    with op.batch_alter_table("lanes") as lanes:
        lanes.drop_column("requires_approval")
