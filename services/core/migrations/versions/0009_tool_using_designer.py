"""the Designer works with tools by default: a project's Designer still on the old image-model default moves to
the new default

The Designer's default model was the image model (nano-banana / gemini-2.5-flash-image), which cannot call tools,
so the Designer answered once under the JSON block contract; its default is now a tool-calling model and the image
model generates its images through ``generate_image``. A project's row holding exactly the old default records no
choice of the image model that can be told apart from the old default (the Providers page saves the model shown
beside the enabled switch), so: such a row that is enabled is removed (the project follows the registry's default
again) and one that is disabled takes the new default and stays disabled. Any other model a project chose is kept.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

OLD_DEFAULT = {"agent": "designer", "provider": "nano-banana", "model": "gemini-2.5-flash-image"}
NEW_DEFAULT = {"provider": "google", "model": "gemini-2.5-flash"}
HOLDS_OLD_DEFAULT = "agent = :agent AND provider = :provider AND model = :model"


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:  # the tenant policy hides every row from a session with no tenant set, the owner's included
        op.execute("ALTER TABLE agent_configs NO FORCE ROW LEVEL SECURITY")
    bind = op.get_bind()
    bind.execute(sa.text(f"DELETE FROM agent_configs WHERE {HOLDS_OLD_DEFAULT} AND enabled"), OLD_DEFAULT)
    bind.execute(
        sa.text(f"UPDATE agent_configs SET provider = :new_provider, model = :new_model WHERE {HOLDS_OLD_DEFAULT}"),
        {**OLD_DEFAULT, "new_provider": NEW_DEFAULT["provider"], "new_model": NEW_DEFAULT["model"]},
    )
    if postgres:
        op.execute("ALTER TABLE agent_configs FORCE ROW LEVEL SECURITY")


def downgrade() -> None:
    # Nothing to restore: a row on the new default cannot be told from one a person chose.
    pass
