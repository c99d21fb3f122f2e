"""reliability: attempt numbers unique and increasing per asset for ever

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 14:30:00

``project_assets.next_attempt_number`` is the number the asset's next image gets. A trigger on
``asset_attempts`` keeps it: an inserted attempt (or one moved to another asset, as a merge does)
whose number is below the counter gets the counter's value instead, and the counter then moves
past the number written. With the existing unique (asset_id, attempt_number) constraint, a number
is never given twice, even after the newest attempt is deleted, whatever the writing code computed.
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "project_assets",
        sa.Column("next_attempt_number", sa.Integer(), server_default=sa.text("1"), nullable=False),
    )
    op.execute(
        """
        UPDATE project_assets a
        SET next_attempt_number = m.top + 1
        FROM (SELECT asset_id, max(attempt_number) AS top FROM asset_attempts GROUP BY asset_id) m
        WHERE m.asset_id = a.id
        """
    )
    op.execute(
        """
        CREATE FUNCTION asset_attempts_number() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            counter integer;
        BEGIN
            IF TG_OP = 'UPDATE' AND NEW.asset_id = OLD.asset_id
               AND NEW.attempt_number = OLD.attempt_number THEN
                RETURN NEW;
            END IF;
            -- The asset row lock is the carousel lock writers already hold (lock order: asset,
            -- then its attempts), so this adds no new lock order.
            SELECT next_attempt_number INTO counter
            FROM project_assets WHERE id = NEW.asset_id FOR NO KEY UPDATE;
            IF NOT FOUND THEN
                RETURN NEW;  -- the foreign key refuses the row
            END IF;
            IF NEW.attempt_number IS NULL OR NEW.attempt_number < counter THEN
                NEW.attempt_number := counter;
            END IF;
            UPDATE project_assets SET next_attempt_number = NEW.attempt_number + 1
            WHERE id = NEW.asset_id;
            RETURN NEW;
        END
        $$
        """
    )
    op.execute(
        """
        CREATE TRIGGER asset_attempts_number
        BEFORE INSERT OR UPDATE OF asset_id, attempt_number ON asset_attempts
        FOR EACH ROW EXECUTE FUNCTION asset_attempts_number()
        """
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS asset_attempts_number ON asset_attempts")
    op.execute("DROP FUNCTION IF EXISTS asset_attempts_number()")
    op.drop_column("project_assets", "next_attempt_number")
