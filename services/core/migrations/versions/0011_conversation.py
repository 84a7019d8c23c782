"""conversation on the card: comments edited and deleted by their author, who watches a card, and each person's
inbox of notifications

Revision ID: 0011
Revises: 0010
"""

import os

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

TENANT = "nullif(current_setting('app.workspace_id', true), '')::uuid"
NEW_TABLES = ("card_watchers", "notifications")


def upgrade() -> None:
    with op.batch_alter_table("card_comments") as comments:
        comments.add_column(sa.Column("edited_at", sa.DateTime(timezone=True), nullable=True))
        comments.add_column(sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))
        comments.add_column(sa.Column("deleted_by", sa.Uuid(), nullable=True))
    _card_watchers()
    _notifications()
    if op.get_bind().dialect.name == "postgresql":
        _row_level_security(os.environ.get("AW_CORE_DB_APP_ROLE", "agentworks_core_app"))


def _workspace_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["workspace_id"], ["workspaces.id"], name=op.f(f"fk_{table}_workspace_id_workspaces"), ondelete="CASCADE"
    )


def _card_watchers() -> None:
    op.create_table(
        "card_watchers",
        sa.Column("card_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("watching", sa.Boolean(), nullable=False),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["card_id"], ["cards.id"], name=op.f("fk_card_watchers_card_id_cards"), ondelete="CASCADE"
        ),
        _workspace_fk("card_watchers"),
        sa.PrimaryKeyConstraint("card_id", "user_id", name=op.f("pk_card_watchers")),
    )
    with op.batch_alter_table("card_watchers") as batch_op:
        batch_op.create_index(batch_op.f("ix_card_watchers_workspace_id"), ["workspace_id"], unique=False)


def _notifications() -> None:
    op.create_table(
        "notifications",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("recipient_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=True),
        sa.Column("card_id", sa.Uuid(), nullable=True),
        sa.Column("run_id", sa.Uuid(), nullable=True),
        sa.Column("comment_id", sa.Uuid(), nullable=True),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("agent", sa.String(length=40), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), server_default="", nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False
        ),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        _workspace_fk("notifications"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    with op.batch_alter_table("notifications") as batch_op:
        batch_op.create_index(
            "ix_notifications_recipient", ["workspace_id", "recipient_id", "created_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_notifications_workspace_id"), ["workspace_id"], unique=False)


def _row_level_security(role: str) -> None:
    for table in NEW_TABLES:
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {role}")
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON {table} USING (workspace_id = {TENANT}) "
            f"WITH CHECK (workspace_id = {TENANT})"
        )


def downgrade() -> None:
    for table in reversed(NEW_TABLES):
        op.drop_table(table)
    with op.batch_alter_table("card_comments") as comments:
        comments.drop_column("deleted_by")
        comments.drop_column("deleted_at")
        comments.drop_column("edited_at")
