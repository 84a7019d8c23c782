"""card priority: none, low, medium, high or urgent; existing cards have none

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cards") as cards:
        cards.add_column(sa.Column("priority", sa.String(length=16), server_default="none", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("cards") as cards:
        cards.drop_column("priority")
