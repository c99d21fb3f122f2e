"""attempts: the text an image was accepted for when it was (re-)selected, so selecting a stale
image clears its stale mark until the text changes again (issue 11, point 7)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable, no default: existing images were never accepted for anything, their prompt decides.
    op.add_column("asset_attempts", sa.Column("accepted_for", sa.String(length=64), nullable=True))
    op.add_column("scene_instance_attempts", sa.Column("accepted_for", sa.String(length=64), nullable=True))


def downgrade() -> None:
    op.drop_column("scene_instance_attempts", "accepted_for")
    op.drop_column("asset_attempts", "accepted_for")
