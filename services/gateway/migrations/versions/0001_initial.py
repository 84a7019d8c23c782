"""gateway: initial schema (baseline).

Revision ID: 0001
Revises:
"""

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # identity tables arrive with their own revision


def downgrade() -> None:
    pass
