"""invitation links: a pending membership is taken up with a secret token, no longer claimed by email

Revision ID: 0006
Revises: 0005
"""

import os

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TENANT = "nullif(current_setting('app.workspace_id', true), '')::uuid"
USER = "nullif(current_setting('app.user_id', true), '')::uuid"
EMAIL = "nullif(current_setting('app.user_email', true), '')"


def upgrade() -> None:
    op.create_table(
        "invitations",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_invitations_member_id_members"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_invitations")),
        sa.UniqueConstraint("member_id", name=op.f("uq_invitations_member_id")),
    )
    with op.batch_alter_table("invitations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_invitations_workspace_id"), ["workspace_id"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        role = os.environ.get("AW_CORE_DB_APP_ROLE", "agentworks_core_app")
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON invitations TO {role}")
        # A pending invitation is no longer visible to whoever signs in with its email.
        _members_policy(f"workspace_id = {TENANT} OR user_id = {USER}")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _members_policy(f"workspace_id = {TENANT} OR user_id = {USER} OR (user_id IS NULL AND email = {EMAIL})")
    with op.batch_alter_table("invitations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invitations_workspace_id"))
    op.drop_table("invitations")


def _members_policy(visible: str) -> None:
    op.execute("DROP POLICY IF EXISTS tenant_isolation ON members")
    op.execute(
        f"CREATE POLICY tenant_isolation ON members USING ({visible}) "
        f"WITH CHECK (workspace_id = {TENANT} OR user_id = {USER})"
    )
