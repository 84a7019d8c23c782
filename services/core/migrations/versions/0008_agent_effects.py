"""agents that act: per-card document lineage, card acceptance criteria and checklist, comments, images, the
effects of runs' steps claimed once, and a run's steps and the limit it stopped at

Revision ID: 0008
Revises: 0007
"""

import os

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TENANT = "nullif(current_setting('app.workspace_id', true), '')::uuid"
NEW_TABLES = ("run_effects", "card_comments", "card_images")


def upgrade() -> None:
    with op.batch_alter_table("cards") as cards:
        cards.add_column(sa.Column("acceptance_criteria", sa.JSON(), server_default="[]", nullable=False))
        cards.add_column(sa.Column("checklist", sa.JSON(), server_default="[]", nullable=False))
    with op.batch_alter_table("agent_runs") as runs:
        runs.add_column(sa.Column("steps", sa.Integer(), server_default="0", nullable=False))
        runs.add_column(sa.Column("stopped_at_limit", sa.String(length=16), nullable=True))
    with op.batch_alter_table("document_versions") as versions:
        versions.add_column(sa.Column("agent", sa.String(length=40), nullable=True))
    _documents_per_card()
    _run_effects()
    _card_comments()
    _card_images()
    if op.get_bind().dialect.name == "postgresql":
        _row_level_security(os.environ.get("AW_CORE_DB_APP_ROLE", "agentworks_core_app"))


def _documents_per_card() -> None:
    """A project's own documents keep one lineage per kind (card_id null); each card has its own per kind."""
    with op.batch_alter_table("documents") as documents:
        documents.add_column(sa.Column("card_id", sa.Uuid(), nullable=True))
        documents.drop_constraint("uq_documents_project_id", type_="unique")
        documents.create_index(
            "uq_documents_project_kind",
            ["project_id", "kind"],
            unique=True,
            sqlite_where=sa.text("card_id IS NULL"),
            postgresql_where=sa.text("card_id IS NULL"),
        )
        documents.create_index(
            "uq_documents_card_kind",
            ["card_id", "kind"],
            unique=True,
            sqlite_where=sa.text("card_id IS NOT NULL"),
            postgresql_where=sa.text("card_id IS NOT NULL"),
        )


def _workspace_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["workspace_id"], ["workspaces.id"], name=op.f(f"fk_{table}_workspace_id_workspaces"), ondelete="CASCADE"
    )


def _card_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["card_id"], ["cards.id"], name=op.f(f"fk_{table}_card_id_cards"), ondelete="CASCADE"
    )


def _created_at() -> sa.Column[object]:
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False
    )


def _run_effects() -> None:
    op.create_table(
        "run_effects",
        sa.Column("run_id", sa.Uuid(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.String(length=200), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("outcome", sa.String(length=24), nullable=False),
        sa.Column("detail", sa.Text(), server_default="", nullable=False),
        _created_at(),
        _workspace_fk("run_effects"),
        sa.PrimaryKeyConstraint("run_id", "step", "call_id", name=op.f("pk_run_effects")),
    )
    with op.batch_alter_table("run_effects") as batch_op:
        batch_op.create_index(batch_op.f("ix_run_effects_workspace_id"), ["workspace_id"], unique=False)


def _card_comments() -> None:
    op.create_table(
        "card_comments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("card_id", sa.Uuid(), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=True),
        sa.Column("agent", sa.String(length=40), nullable=True),
        sa.Column("run_id", sa.Uuid(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        _created_at(),
        _card_fk("card_comments"),
        _workspace_fk("card_comments"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_card_comments")),
    )
    with op.batch_alter_table("card_comments") as batch_op:
        batch_op.create_index("ix_card_comments_card", ["card_id", "created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_card_comments_workspace_id"), ["workspace_id"], unique=False)


def _card_images() -> None:
    op.create_table(
        "card_images",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("card_id", sa.Uuid(), nullable=False),
        sa.Column("run_id", sa.Uuid(), nullable=False),
        sa.Column("agent", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("content_type", sa.String(length=64), nullable=False),
        _created_at(),
        _card_fk("card_images"),
        _workspace_fk("card_images"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_card_images")),
    )
    with op.batch_alter_table("card_images") as batch_op:
        batch_op.create_index("ix_card_images_card", ["card_id", "created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_card_images_workspace_id"), ["workspace_id"], unique=False)


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
    with op.batch_alter_table("documents") as documents:
        documents.drop_index("uq_documents_card_kind")
        documents.drop_index("uq_documents_project_kind")
    op.execute("DELETE FROM documents WHERE card_id IS NOT NULL")
    with op.batch_alter_table("documents") as documents:
        documents.drop_column("card_id")
        documents.create_unique_constraint("uq_documents_project_id", ["project_id", "kind"])
    with op.batch_alter_table("document_versions") as versions:
        versions.drop_column("agent")
    with op.batch_alter_table("agent_runs") as runs:
        runs.drop_column("stopped_at_limit")
        runs.drop_column("steps")
    with op.batch_alter_table("cards") as cards:
        cards.drop_column("checklist")
        cards.drop_column("acceptance_criteria")
