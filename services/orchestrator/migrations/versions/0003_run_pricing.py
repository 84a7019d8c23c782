"""runs keep the plan they were priced with (markup, increment) from billing

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("markup", sa.Numeric(18, 10), nullable=False, server_default="5"))
        batch_op.add_column(sa.Column("increment", sa.Numeric(18, 10), nullable=False, server_default="0.25"))


def downgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_column("increment")
        batch_op.drop_column("markup")
