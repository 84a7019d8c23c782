"""billing: calls made with workspace API keys are charged per call (markup) and invoiced on a period line

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
    with op.batch_alter_table("usage_records", schema=None) as batch_op:
        batch_op.alter_column("project_id", existing_type=sa.Uuid(), nullable=True)
        batch_op.add_column(sa.Column("api_key_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("markup", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("period", sa.String(length=7), nullable=True))
        batch_op.add_column(sa.Column("invoice_id", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_usage_records_invoice_id_invoices"), "invoices", ["invoice_id"], ["id"]
        )
        batch_op.create_index("ix_usage_records_api_uninvoiced", ["workspace_id", "period", "invoice_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("usage_records", schema=None) as batch_op:
        batch_op.drop_index("ix_usage_records_api_uninvoiced")
        batch_op.drop_constraint(batch_op.f("fk_usage_records_invoice_id_invoices"), type_="foreignkey")
        batch_op.drop_column("invoice_id")
        batch_op.drop_column("period")
        batch_op.drop_column("markup")
        batch_op.drop_column("api_key_id")
        batch_op.alter_column("project_id", existing_type=sa.Uuid(), nullable=False)
