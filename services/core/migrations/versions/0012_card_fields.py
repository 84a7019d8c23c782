"""card fields: project labels, due date, an agent as assignee, a short id per card (project key and sequence,
backfilled in each project's creation order), archiving, attachments

Revision ID: 0012
Revises: 0011
"""

import os
import re
import uuid
from collections import defaultdict

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

TENANT = "nullif(current_setting('app.workspace_id', true), '')::uuid"
NEW_TABLES = ("labels", "card_attachments")


def _on_postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    with op.batch_alter_table("projects") as projects:
        projects.add_column(sa.Column("key", sa.String(length=10), nullable=True))
        projects.add_column(sa.Column("card_sequence", sa.Integer(), server_default="0", nullable=False))
    with op.batch_alter_table("cards") as cards:
        cards.add_column(sa.Column("assignee_agent", sa.String(length=40), nullable=True))
        cards.add_column(sa.Column("label_ids", sa.JSON(), server_default="[]", nullable=False))
        cards.add_column(sa.Column("due_date", sa.Date(), nullable=True))
        cards.add_column(sa.Column("number", sa.Integer(), nullable=True))
        cards.add_column(sa.Column("human_id", sa.String(length=24), nullable=True))
        cards.add_column(sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True))
    _backfill_short_ids()
    with op.batch_alter_table("projects") as projects:
        projects.alter_column("key", existing_type=sa.String(length=10), nullable=False)
        projects.create_unique_constraint(op.f("uq_projects_workspace_id"), ["workspace_id", "key"])
    with op.batch_alter_table("cards") as cards:
        cards.alter_column("number", existing_type=sa.Integer(), nullable=False)
        cards.alter_column("human_id", existing_type=sa.String(length=24), nullable=False)
        cards.create_unique_constraint(op.f("uq_cards_project_id"), ["project_id", "number"])
    _labels()
    _card_attachments()
    if _on_postgres():
        _row_level_security(os.environ.get("AW_CORE_DB_APP_ROLE", "agentworks_core_app"))


def project_key(name: str, taken: set[str]) -> str:
    """The key a project named ``name`` starts with (as ``projects.service.key_for`` derives it when created)."""
    words = re.findall(r"[A-Za-z][A-Za-z0-9]*", name)
    base = ("".join(w[0] for w in words[:5]) if len(words) > 1 else (words[0][:5] if words else "P")).upper()
    key, suffix = base, 2
    while key in taken:
        key, suffix = f"{base[: 10 - len(str(suffix))]}{suffix}", suffix + 1
    return key


def _backfill_short_ids() -> None:
    """Every project gets a key unique in its workspace, every card the next number of its project, both in the
    order they were created; past the row-level security the tables force even on their owner (the migration
    runs in one transaction, so no one sees it lifted)."""
    bind = op.get_bind()
    if _on_postgres():
        op.execute("ALTER TABLE projects NO FORCE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE cards NO FORCE ROW LEVEL SECURITY")
    projects = sa.table(
        "projects",
        *(sa.column(name, sa.Uuid()) for name in ("id", "workspace_id")),
        sa.column("name", sa.String()),
        sa.column("key", sa.String()),
        sa.column("card_sequence", sa.Integer()),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    cards = sa.table(
        "cards",
        *(sa.column(name, sa.Uuid()) for name in ("id", "project_id")),
        sa.column("number", sa.Integer()),
        sa.column("human_id", sa.String()),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    taken: dict[uuid.UUID, set[str]] = defaultdict(set)
    keys: dict[uuid.UUID, str] = {}
    in_order = sa.select(projects.c.id, projects.c.workspace_id, projects.c.name).order_by(
        projects.c.created_at, projects.c.id
    )
    for project_id, workspace_id, name in bind.execute(in_order):
        keys[project_id] = project_key(name, taken[workspace_id])
        taken[workspace_id].add(keys[project_id])
    numbers: dict[uuid.UUID, int] = defaultdict(int)
    numbered = []
    for card_id, project_id in bind.execute(
        sa.select(cards.c.id, cards.c.project_id).order_by(cards.c.created_at, cards.c.id)
    ):
        numbers[project_id] += 1
        number = numbers[project_id]
        numbered.append({"card": card_id, "n": number, "short": f"{keys.get(project_id, 'P')}-{number}"})
    if numbered:
        bind.execute(
            sa.update(cards)
            .where(cards.c.id == sa.bindparam("card"))
            .values(number=sa.bindparam("n"), human_id=sa.bindparam("short")),
            numbered,
        )
    if keys:
        bind.execute(
            sa.update(projects)
            .where(projects.c.id == sa.bindparam("project"))
            .values(key=sa.bindparam("k"), card_sequence=sa.bindparam("n")),
            [{"project": p, "k": k, "n": numbers[p]} for p, k in keys.items()],
        )
    if _on_postgres():
        op.execute("ALTER TABLE projects FORCE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE cards FORCE ROW LEVEL SECURITY")


def _workspace_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["workspace_id"], ["workspaces.id"], name=op.f(f"fk_{table}_workspace_id_workspaces"), ondelete="CASCADE"
    )


def _created_at() -> sa.Column[object]:
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False
    )


def _labels() -> None:
    op.create_table(
        "labels",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("color", sa.String(length=7), nullable=False),
        _created_at(),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_labels_project_id_projects"), ondelete="CASCADE"
        ),
        _workspace_fk("labels"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_labels")),
        sa.UniqueConstraint("project_id", "name", name=op.f("uq_labels_project_id")),
    )
    with op.batch_alter_table("labels") as batch_op:
        batch_op.create_index(batch_op.f("ix_labels_project_id"), ["project_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_labels_workspace_id"), ["workspace_id"], unique=False)


def _card_attachments() -> None:
    op.create_table(
        "card_attachments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("card_id", sa.Uuid(), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("blob_name", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("uploaded_by", sa.Uuid(), nullable=True),
        _created_at(),
        sa.ForeignKeyConstraint(
            ["card_id"], ["cards.id"], name=op.f("fk_card_attachments_card_id_cards"), ondelete="CASCADE"
        ),
        _workspace_fk("card_attachments"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_card_attachments")),
    )
    with op.batch_alter_table("card_attachments") as batch_op:
        batch_op.create_index("ix_card_attachments_card", ["card_id", "created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_card_attachments_workspace_id"), ["workspace_id"], unique=False)


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
    with op.batch_alter_table("cards") as cards:
        cards.drop_constraint(op.f("uq_cards_project_id"), type_="unique")
        for column in ("archived_at", "human_id", "number", "due_date", "label_ids", "assignee_agent"):
            cards.drop_column(column)
    with op.batch_alter_table("projects") as projects:
        projects.drop_constraint(op.f("uq_projects_workspace_id"), type_="unique")
        projects.drop_column("card_sequence")
        projects.drop_column("key")
