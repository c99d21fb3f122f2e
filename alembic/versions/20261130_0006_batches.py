"""batches of jobs started by one bulk action; jobs.batch_id; a project's jobs newest first

Revision ID: 0006
Revises: 0007
Create Date: 2026-11-30 14:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0006"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "batches",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("owner_id", sa.UUID(), nullable=False),
        sa.Column("project_id", sa.UUID(), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_batches_project_id_projects"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batches")),
    )
    op.create_index("ix_batches_project_created", "batches", ["project_id", "created_at"], unique=False)
    op.add_column("jobs", sa.Column("batch_id", sa.UUID(), nullable=True))
    op.create_foreign_key(
        op.f("fk_jobs_batch_id_batches"), "jobs", "batches", ["batch_id"], ["id"], ondelete="SET NULL"
    )
    op.create_index(
        "ix_jobs_batch", "jobs", ["batch_id"], unique=False, postgresql_where=sa.text("batch_id IS NOT NULL")
    )
    op.create_index("ix_jobs_project_created", "jobs", ["project_id", "created_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_jobs_project_created", table_name="jobs")
    op.drop_index("ix_jobs_batch", table_name="jobs", postgresql_where=sa.text("batch_id IS NOT NULL"))
    op.drop_constraint(op.f("fk_jobs_batch_id_batches"), "jobs", type_="foreignkey")
    op.drop_column("jobs", "batch_id")
    op.drop_index("ix_batches_project_created", table_name="batches")
    op.drop_table("batches")
