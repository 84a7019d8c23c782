"""failure reasons: a run's reason code holds a failure's error code (up to 64 characters) too

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("run_logs", schema=None) as batch_op:
        batch_op.alter_column(
            "reason_code", existing_type=sa.String(length=32), type_=sa.String(length=64), existing_nullable=True
        )


def downgrade() -> None:
    with op.batch_alter_table("run_logs", schema=None) as batch_op:
        batch_op.alter_column(
            "reason_code", existing_type=sa.String(length=64), type_=sa.String(length=32), existing_nullable=True
        )
