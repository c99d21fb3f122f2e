"""foundation schema

Revision ID: 0001
Revises:
Create Date: 2026-11-21 07:57:15.380507
"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


PRESETS = [
    (
        "3d-animation",
        "3D Animation",
        "Feature-film 3D animation: soft global illumination, stylised proportions, rich saturated colour.",
        "3D animated feature film style, soft global illumination, subsurface scattering, stylised "
        "proportions, clean shapes, vibrant saturated colours",
        "photograph, live action, flat 2D, sketch",
        ["#ff8a3d", "#2ec4b6", "#ffd166", "#3a86ff", "#f4f1de"],
    ),
    (
        "hyperrealistic",
        "Hyperrealistic",
        "Photographic realism with natural light and physically accurate materials.",
        "hyperrealistic photograph, natural lighting, 50mm lens, physically accurate materials, "
        "fine skin and fabric detail, shallow depth of field",
        "cartoon, illustration, painting, CGI look",
        ["#6b705c", "#a5a58d", "#b7b7a4", "#ddbea9", "#3d405b"],
    ),
    (
        "noir",
        "Noir",
        "Black-and-white film noir: hard key light, deep shadows, venetian-blind patterns, haze.",
        "film noir, black and white, high contrast chiaroscuro, hard key light, deep shadows, "
        "venetian blind shadows, atmospheric haze, 1940s cinematography",
        "colour, bright pastel, flat lighting",
        ["#0b0b0b", "#3a3a3a", "#7a7a7a", "#bdbdbd", "#f0f0f0"],
    ),
    (
        "2d-animation",
        "2D Animation",
        "Hand-drawn 2D animation: clean line art, flat cel shading, painted backgrounds.",
        "2D hand-drawn animation, clean confident line art, flat cel shading, limited palette, "
        "painted backgrounds",
        "photorealistic, 3D render, photograph",
        ["#e63946", "#f1faee", "#a8dadc", "#457b9d", "#1d3557"],
    ),
    (
        "watercolor",
        "Watercolor",
        "Loose watercolour illustration: soft washes, paper texture, bleeding edges.",
        "watercolour illustration, soft translucent washes, visible paper texture, bleeding edges, "
        "muted natural pigments",
        "hard digital edges, photograph, 3D render",
        ["#8ecae6", "#90be6d", "#f9c74f", "#f9844a", "#fdf6ec"],
    ),
    (
        "anime",
        "Anime",
        "Japanese anime: crisp line work, expressive eyes, cel shading, luminous skies.",
        "anime style, crisp line work, expressive eyes, cel shading, luminous gradients, detailed "
        "backgrounds",
        "photorealistic, western cartoon, 3D render",
        ["#ff006e", "#8338ec", "#3a86ff", "#ffbe0b", "#fff1f7"],
    ),
]


def _seed_presets() -> None:
    table = sa.table(
        "style_capsules",
        sa.column("id", sa.UUID()),
        sa.column("owner_id", sa.UUID()),
        sa.column("slug", sa.String()),
        sa.column("name", sa.String()),
        sa.column("description", sa.Text()),
        sa.column("prompt_fragment", sa.Text()),
        sa.column("negative_fragment", sa.Text()),
        sa.column("palette", postgresql.JSONB()),
    )
    op.bulk_insert(
        table,
        [
            {
                "id": uuid.uuid5(uuid.NAMESPACE_URL, f"filmassets:preset:{slug}"),
                "owner_id": None,
                "slug": slug,
                "name": name,
                "description": desc,
                "prompt_fragment": prompt,
                "negative_fragment": negative,
                "palette": palette,
            }
            for slug, name, desc, prompt, negative, palette in PRESETS
        ],
    )


def upgrade() -> None:
    op.create_table(
        "style_capsules",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("owner_id", sa.UUID(), nullable=True),
        sa.Column("slug", sa.String(length=80), nullable=True),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("prompt_fragment", sa.Text(), nullable=False),
        sa.Column("negative_fragment", sa.Text(), nullable=False),
        sa.Column("palette", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_style_capsules")),
        sa.UniqueConstraint("slug", name=op.f("uq_style_capsules_slug")),
    )
    op.create_index(op.f("ix_style_capsules_owner_id"), "style_capsules", ["owner_id"], unique=False)
    op.create_table(
        "projects",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("owner_id", sa.UUID(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("aspect_ratio", sa.String(length=8), nullable=False),
        sa.Column("style_capsule_id", sa.UUID(), nullable=True),
        sa.Column("manual_tone", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("style_locked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stage5_locked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stage8_locked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "aspect_ratio IN ('16:9', '9:16', '1:1', '4:3', '2.35:1')", name=op.f("ck_projects_aspect_ratio")
        ),
        sa.ForeignKeyConstraint(
            ["style_capsule_id"],
            ["style_capsules.id"],
            name=op.f("fk_projects_style_capsule_id_style_capsules"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_projects")),
    )
    op.create_index("ix_projects_owner_created", "projects", ["owner_id", "created_at"], unique=False)
    op.create_table(
        "dismissed_entities",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("project_id", sa.UUID(), nullable=False),
        sa.Column("entity_key", sa.String(length=240), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_dismissed_entities_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dismissed_entities")),
        sa.UniqueConstraint(
            "project_id", "entity_key", name=op.f("uq_dismissed_entities_project_id_entity_key")
        ),
    )
    op.create_table(
        "jobs",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("queue", sa.String(length=80), nullable=False),
        sa.Column("owner_id", sa.UUID(), nullable=False),
        sa.Column("project_id", sa.UUID(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("result", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("error", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.Column("max_tries", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("enqueued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("input_tokens", sa.BigInteger(), nullable=False),
        sa.Column("output_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cache_write_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cache_read_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cost_usd", sa.Numeric(precision=12, scale=6), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')", name=op.f("ck_jobs_status")
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_jobs_project_id_projects"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
    )
    op.create_index("ix_jobs_project_kind", "jobs", ["project_id", "kind", "created_at"], unique=False)
    op.create_index(
        "ix_jobs_queued",
        "jobs",
        ["queue", "created_at"],
        unique=False,
        postgresql_where=sa.text("status = 'queued'"),
    )
    op.create_index(
        "uq_jobs_owner_idempotency_key",
        "jobs",
        ["owner_id", "idempotency_key"],
        unique=True,
        postgresql_where=sa.text("idempotency_key IS NOT NULL"),
    )
    op.create_table(
        "project_assets",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("project_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("aliases", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("image_prompt", sa.Text(), nullable=True),
        sa.Column("deferred", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("stale", sa.Boolean(), nullable=False),
        sa.Column("entity_key", sa.String(length=240), nullable=True),
        sa.Column("metadata", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("described_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("description_edited_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "source IN ('extracted', 'manual', 'cloned')", name=op.f("ck_project_assets_source")
        ),
        sa.CheckConstraint(
            "type IN ('character', 'prop', 'location', 'extra_archetype')",
            name=op.f("ck_project_assets_type"),
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_project_assets_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project_assets")),
    )
    op.create_index(
        "ix_project_assets_project_entity_key", "project_assets", ["project_id", "entity_key"], unique=False
    )
    op.create_index("ix_project_assets_project_type", "project_assets", ["project_id", "type"], unique=False)
    op.create_table(
        "scripts",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("project_id", sa.UUID(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=True),
        sa.Column("scene_count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("format IN ('fountain', 'plain')", name=op.f("ck_scripts_format")),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_scripts_project_id_projects"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scripts")),
        sa.UniqueConstraint("project_id", "version", name=op.f("uq_scripts_project_id_version")),
    )
    op.create_index(op.f("ix_scripts_project_id"), "scripts", ["project_id"], unique=False)
    op.create_table(
        "asset_attempts",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("asset_id", sa.UUID(), nullable=False),
        sa.Column("project_id", sa.UUID(), nullable=False),
        sa.Column("attempt_number", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("selected", sa.Boolean(), nullable=False),
        sa.Column("storage_key", sa.Text(), nullable=False),
        sa.Column("thumbnail_key", sa.Text(), nullable=True),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("mime", sa.String(length=32), nullable=False),
        sa.Column("bytes", sa.Integer(), nullable=False),
        sa.Column("view", sa.String(length=16), nullable=True),
        sa.Column("prompt_snapshot", sa.Text(), nullable=True),
        sa.Column("style_snapshot", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("provider", sa.String(length=40), nullable=True),
        sa.Column("model", sa.String(length=80), nullable=True),
        sa.Column("cost_usd", sa.Numeric(precision=12, scale=6), nullable=False),
        sa.Column("job_id", sa.UUID(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "source IN ('generated', 'uploaded', 'cloned')", name=op.f("ck_asset_attempts_source")
        ),
        sa.ForeignKeyConstraint(
            ["asset_id"],
            ["project_assets.id"],
            name=op.f("fk_asset_attempts_asset_id_project_assets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_asset_attempts_job_id_jobs"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_asset_attempts_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_asset_attempts")),
        sa.UniqueConstraint(
            "asset_id", "attempt_number", name=op.f("uq_asset_attempts_asset_id_attempt_number")
        ),
    )
    op.create_index(
        "ix_asset_attempts_asset_created", "asset_attempts", ["asset_id", "created_at"], unique=False
    )
    op.create_index(op.f("ix_asset_attempts_project_id"), "asset_attempts", ["project_id"], unique=False)
    op.create_index(
        "uq_asset_attempts_one_selected",
        "asset_attempts",
        ["asset_id"],
        unique=True,
        postgresql_where=sa.text("selected"),
    )
    op.create_table(
        "global_assets",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("owner_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("aliases", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("image_prompt", sa.Text(), nullable=True),
        sa.Column("storage_key", sa.Text(), nullable=True),
        sa.Column("thumbnail_key", sa.Text(), nullable=True),
        sa.Column("mime", sa.String(length=32), nullable=True),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("style_snapshot", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("source_project_id", sa.UUID(), nullable=True),
        sa.Column("source_asset_id", sa.UUID(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_asset_id"],
            ["project_assets.id"],
            name=op.f("fk_global_assets_source_asset_id_project_assets"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["source_project_id"],
            ["projects.id"],
            name=op.f("fk_global_assets_source_project_id_projects"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_global_assets")),
    )
    op.create_index(op.f("ix_global_assets_owner_id"), "global_assets", ["owner_id"], unique=False)
    op.create_table(
        "llm_calls",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("job_id", sa.UUID(), nullable=True),
        sa.Column("project_id", sa.UUID(), nullable=True),
        sa.Column("model", sa.String(length=80), nullable=False),
        sa.Column("purpose", sa.String(length=64), nullable=False),
        sa.Column("input_tokens", sa.BigInteger(), nullable=False),
        sa.Column("output_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cache_write_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cache_read_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cost_usd", sa.Numeric(precision=12, scale=6), nullable=False),
        sa.Column("latency_ms", sa.Integer(), nullable=False),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_llm_calls_job_id_jobs"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_llm_calls_project_id_projects"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_llm_calls")),
    )
    op.create_index(op.f("ix_llm_calls_job_id"), "llm_calls", ["job_id"], unique=False)
    op.create_index(op.f("ix_llm_calls_project_id"), "llm_calls", ["project_id"], unique=False)
    op.create_table(
        "scenes",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("script_id", sa.UUID(), nullable=False),
        sa.Column("project_id", sa.UUID(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("heading", sa.Text(), nullable=False),
        sa.Column("int_ext", sa.String(length=16), nullable=True),
        sa.Column("location", sa.Text(), nullable=False),
        sa.Column("time_of_day", sa.String(length=64), nullable=True),
        sa.Column("start_line", sa.Integer(), nullable=False),
        sa.Column("end_line", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_scenes_project_id_projects"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["script_id"], ["scripts.id"], name=op.f("fk_scenes_script_id_scripts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scenes")),
        sa.UniqueConstraint("script_id", "number", name=op.f("uq_scenes_script_id_number")),
    )
    op.create_index(op.f("ix_scenes_project_id"), "scenes", ["project_id"], unique=False)
    op.create_table(
        "asset_scene_links",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("asset_id", sa.UUID(), nullable=False),
        sa.Column("scene_id", sa.UUID(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("removed", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "source IN ('extracted', 'manual', 'stage8')", name=op.f("ck_asset_scene_links_source")
        ),
        sa.ForeignKeyConstraint(
            ["asset_id"],
            ["project_assets.id"],
            name=op.f("fk_asset_scene_links_asset_id_project_assets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["scene_id"], ["scenes.id"], name=op.f("fk_asset_scene_links_scene_id_scenes"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_asset_scene_links")),
        sa.UniqueConstraint("asset_id", "scene_id", name=op.f("uq_asset_scene_links_asset_id_scene_id")),
    )
    op.create_index(op.f("ix_asset_scene_links_scene_id"), "asset_scene_links", ["scene_id"], unique=False)

    _seed_presets()


def downgrade() -> None:
    op.drop_index(op.f("ix_asset_scene_links_scene_id"), table_name="asset_scene_links")
    op.drop_table("asset_scene_links")
    op.drop_index(op.f("ix_scenes_project_id"), table_name="scenes")
    op.drop_table("scenes")
    op.drop_index(op.f("ix_llm_calls_project_id"), table_name="llm_calls")
    op.drop_index(op.f("ix_llm_calls_job_id"), table_name="llm_calls")
    op.drop_table("llm_calls")
    op.drop_index(op.f("ix_global_assets_owner_id"), table_name="global_assets")
    op.drop_table("global_assets")
    op.drop_index(
        "uq_asset_attempts_one_selected", table_name="asset_attempts", postgresql_where=sa.text("selected")
    )
    op.drop_index(op.f("ix_asset_attempts_project_id"), table_name="asset_attempts")
    op.drop_index("ix_asset_attempts_asset_created", table_name="asset_attempts")
    op.drop_table("asset_attempts")
    op.drop_index(op.f("ix_scripts_project_id"), table_name="scripts")
    op.drop_table("scripts")
    op.drop_index("ix_project_assets_project_type", table_name="project_assets")
    op.drop_index("ix_project_assets_project_entity_key", table_name="project_assets")
    op.drop_table("project_assets")
    op.drop_index(
        "uq_jobs_owner_idempotency_key",
        table_name="jobs",
        postgresql_where=sa.text("idempotency_key IS NOT NULL"),
    )
    op.drop_index("ix_jobs_queued", table_name="jobs", postgresql_where=sa.text("status = 'queued'"))
    op.drop_index("ix_jobs_project_kind", table_name="jobs")
    op.drop_table("jobs")
    op.drop_table("dismissed_entities")
    op.drop_index("ix_projects_owner_created", table_name="projects")
    op.drop_table("projects")
    op.drop_index(op.f("ix_style_capsules_owner_id"), table_name="style_capsules")
    op.drop_table("style_capsules")
