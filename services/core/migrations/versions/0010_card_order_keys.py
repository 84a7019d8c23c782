"""card order keys: a lane orders its cards by (order_key, id), so a move writes one row; existing cards keep
their order, their keys spread as ``agentworks_core.cards.order.spread`` spreads a lane

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

START = 1 << 61
SPACING = 1 << 32


def _on_postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def _fill(column: str, value: str) -> None:
    """Set ``column`` of every card from ``value``; on PostgreSQL, past the row-level security the table forces
    even on its owner (the migration runs in one transaction, so no one sees it lifted)."""
    if _on_postgres():
        op.execute("ALTER TABLE cards NO FORCE ROW LEVEL SECURITY")
    op.execute(f"UPDATE cards SET {column} = {value}")
    if _on_postgres():
        op.execute("ALTER TABLE cards FORCE ROW LEVEL SECURITY")


def upgrade() -> None:
    with op.batch_alter_table("cards") as cards:
        cards.add_column(sa.Column("order_key", sa.BigInteger(), nullable=True))
    ahead = (
        "SELECT count(*) FROM cards AS ahead WHERE ahead.lane_id = cards.lane_id AND (ahead.position < cards.position"
        " OR (ahead.position = cards.position AND ahead.id < cards.id))"
    )
    _fill("order_key", f"{START} + {SPACING} * ({ahead})")
    with op.batch_alter_table("cards") as cards:
        cards.alter_column("order_key", existing_type=sa.BigInteger(), nullable=False)
        cards.drop_index("ix_cards_lane_position")
        cards.drop_column("position")
        cards.create_index("ix_cards_lane_order", ["lane_id", "order_key", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("cards") as cards:
        cards.add_column(sa.Column("position", sa.Integer(), nullable=True))
    ahead = (
        "SELECT count(*) FROM cards AS ahead WHERE ahead.lane_id = cards.lane_id AND (ahead.order_key < cards.order_key"
        " OR (ahead.order_key = cards.order_key AND ahead.id < cards.id))"
    )
    _fill("position", f"({ahead})")
    with op.batch_alter_table("cards") as cards:
        cards.alter_column("position", existing_type=sa.Integer(), nullable=False)
        cards.drop_index("ix_cards_lane_order")
        cards.drop_column("order_key")
        cards.create_index("ix_cards_lane_position", ["lane_id", "position"], unique=False)
