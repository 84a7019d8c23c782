"""each card's branch in its project's repository, and its merge

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
    op.create_table(
        "card_branches",
        sa.Column("card_id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("branch", sa.String(length=255), nullable=False),
        sa.Column("base_sha", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("merged_sha", sa.String(length=64), nullable=True),
        sa.Column("merged_base_sha", sa.String(length=64), nullable=True),
        sa.Column("merged_by", sa.Uuid(), nullable=True),
        sa.Column("merged_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("card_id", name=op.f("pk_card_branches")),
    )
    op.create_index(op.f("ix_card_branches_project_id"), "card_branches", ["project_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_card_branches_project_id"), table_name="card_branches")
    op.drop_table("card_branches")
