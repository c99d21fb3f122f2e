"""Stage 8: how each asset looks in one scene (an *instance*), and that instance's image carousel."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from shared.models.base import Base, created_at_col, enum_check, updated_at_col, uuid_pk

INSTANCE_ATTEMPT_SOURCES = ("generated", "uploaded", "master_copy")
REFERENCE_KINDS = ("master", "instance")


class SceneAssetInstance(Base):
    """An asset in one scene. Exactly one per (asset, scene): created lazily with
    ``INSERT ... ON CONFLICT DO NOTHING`` on the unique constraint, so concurrent first reads agree.

    ``scene_id`` is SET NULL when the scene row goes (a re-parse rewrites scenes): the instance and
    its images stay, and the ``scene_*`` snapshot (number, heading, position when last attached) is
    what ``remap_instances`` matches against the next version's scenes.

    While attached, ``scene_position`` equals the scene's ``position``: scene rows are never
    repositioned in place (a new order is a new script version, whose scenes are new rows, and
    remapping rewrites the snapshot). Code that ever moves a scene row must update it too; the
    reference chain walks the (asset_id, scene_position) index and re-checks the real position."""

    __tablename__ = "scene_asset_instances"
    __table_args__ = (
        UniqueConstraint("asset_id", "scene_id"),
        CheckConstraint(
            f"reference_kind IS NULL OR {enum_check('reference_kind', REFERENCE_KINDS)}",
            name="reference_kind",
        ),
        Index("ix_scene_asset_instances_scene_id", "scene_id"),
        # The reference chain walks an asset's instances back from a position (latest_earlier).
        Index("ix_scene_asset_instances_asset_id_scene_position", "asset_id", "scene_position"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    asset_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("project_assets.id", ondelete="CASCADE"))
    scene_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("scenes.id", ondelete="SET NULL"))
    scene_number: Mapped[int] = mapped_column(Integer)
    scene_heading: Mapped[str] = mapped_column(Text)
    scene_position: Mapped[int] = mapped_column(Integer)
    visual_state: Mapped[str] = mapped_column(Text, default="", server_default="")
    use_master_as_is: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    # The user's pick of reference: NULL kind = the default (most recent earlier scene, else master);
    # "master" = the asset's current master image; "instance" = that attempt of an earlier scene.
    reference_kind: Mapped[str | None] = mapped_column(String(16))
    reference_attempt_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("scene_instance_attempts.id", ondelete="SET NULL", use_alter=True)
    )
    inherited_from_instance_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("scene_asset_instances.id", ondelete="SET NULL")
    )
    camera_angle: Mapped[str | None] = mapped_column(String(80))
    required: Mapped[bool | None] = mapped_column(Boolean)  # NULL: the default rule decides
    generate_later: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    # Attempt numbers come from this counter (under the row lock), so they never repeat, even after
    # the newest attempt is deleted.
    attempt_counter: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    removed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))
    created_at: Mapped[datetime] = created_at_col()
    updated_at: Mapped[datetime] = updated_at_col()


class SceneInstanceAttempt(Base):
    """One image of an instance's carousel. At most one selected per instance (partial unique index)."""

    __tablename__ = "scene_instance_attempts"
    __table_args__ = (
        UniqueConstraint("instance_id", "attempt_number"),
        CheckConstraint(enum_check("source", INSTANCE_ATTEMPT_SOURCES), name="source"),
        Index(
            "uq_scene_instance_attempts_one_selected",
            "instance_id",
            unique=True,
            postgresql_where=text("selected"),
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    instance_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("scene_asset_instances.id", ondelete="CASCADE"))
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    attempt_number: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(16))
    selected: Mapped[bool] = mapped_column(Boolean, default=False)
    storage_key: Mapped[str] = mapped_column(Text)
    thumbnail_key: Mapped[str | None] = mapped_column(Text)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    mime: Mapped[str] = mapped_column(String(32))
    bytes: Mapped[int] = mapped_column(Integer)
    prompt_snapshot: Mapped[str | None] = mapped_column(Text)
    style_snapshot: Mapped[dict[str, Any] | None]
    # Set when the user selects the image: a hash of the text it was accepted for (the asset's
    # subject, and for a scene image its visual state; shared/continuity/stale.py). While that
    # text is unchanged the image is not stale, whatever its prompt says.
    accepted_for: Mapped[str | None] = mapped_column(String(64))
    # The reference image this attempt was made from (a master or an earlier scene's attempt id:
    # no foreign key, it may point at either table and may outlive its target).
    reference_kind: Mapped[str | None] = mapped_column(String(16))
    reference_attempt_id: Mapped[uuid.UUID | None]
    reference_scene_number: Mapped[int | None] = mapped_column(Integer)
    provider: Mapped[str | None] = mapped_column(String(40))
    model: Mapped[str | None] = mapped_column(String(80))
    cost_usd: Mapped[Decimal] = mapped_column(Numeric(12, 6), default=Decimal(0))
    job_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = created_at_col()
