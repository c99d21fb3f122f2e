from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

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
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from shared.models.base import Base, created_at_col, enum_check, updated_at_col, uuid_pk

AssetType = Literal["character", "prop", "location", "extra_archetype"]
ASSET_TYPES: tuple[AssetType, ...] = ("character", "prop", "location", "extra_archetype")
AssetSource = Literal["extracted", "manual", "cloned"]
ASSET_SOURCES: tuple[AssetSource, ...] = ("extracted", "manual", "cloned")
LINK_SOURCES = ("extracted", "manual", "stage8")
ATTEMPT_SOURCES = ("generated", "uploaded", "cloned")
VIEWS = ("front", "side", "three-quarter", "back")


class ProjectAsset(Base):
    __tablename__ = "project_assets"
    __table_args__ = (
        CheckConstraint(enum_check("type", ASSET_TYPES), name="type"),
        CheckConstraint(enum_check("source", ASSET_SOURCES), name="source"),
        Index("ix_project_assets_project_type", "project_id", "type"),
        Index("ix_project_assets_project_entity_key", "project_id", "entity_key"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    aliases: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    type: Mapped[AssetType] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(Text, default="")
    image_prompt: Mapped[str | None] = mapped_column(Text)
    deferred: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[AssetSource] = mapped_column(String(16), default="manual")
    stale: Mapped[bool] = mapped_column(Boolean, default=False)
    # The extraction entity this asset came from; how re-extraction recognises it.
    entity_key: Mapped[str | None] = mapped_column(String(240))
    # confidence, priority, conflicts, mentions
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)
    described_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    description_edited_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, default=1)
    # The number the next image of this asset gets. Kept by a trigger on asset_attempts (migration
    # 0003): any insert, or move by a merge, of an attempt with a number below it gets this number
    # instead, and the counter moves past it. Numbers are thus unique and increasing per asset for
    # ever, deletions and merges included, whatever the writing code computes.
    next_attempt_number: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    created_at: Mapped[datetime] = created_at_col()
    updated_at: Mapped[datetime] = updated_at_col()


class AssetSceneLink(Base):
    """The scene dependency map: an asset appears in a scene."""

    __tablename__ = "asset_scene_links"
    __table_args__ = (
        UniqueConstraint("asset_id", "scene_id"),
        CheckConstraint(enum_check("source", LINK_SOURCES), name="source"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    asset_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("project_assets.id", ondelete="CASCADE"))
    scene_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("scenes.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(16))
    removed: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = created_at_col()


class AssetAttempt(Base):
    """One image of an asset's carousel. At most one is selected per asset (partial unique index)."""

    __tablename__ = "asset_attempts"
    __table_args__ = (
        UniqueConstraint("asset_id", "attempt_number"),
        CheckConstraint(enum_check("source", ATTEMPT_SOURCES), name="source"),
        Index("uq_asset_attempts_one_selected", "asset_id", unique=True, postgresql_where=text("selected")),
        Index("ix_asset_attempts_asset_created", "asset_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    asset_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("project_assets.id", ondelete="CASCADE"))
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
    view: Mapped[str | None] = mapped_column(String(16))
    prompt_snapshot: Mapped[str | None] = mapped_column(Text)
    style_snapshot: Mapped[dict[str, Any] | None]
    # Set when the user selects the image: a hash of the text it was accepted for (the asset's
    # subject, and for a scene image its visual state; shared/continuity/stale.py). While that
    # text is unchanged the image is not stale, whatever its prompt says.
    accepted_for: Mapped[str | None] = mapped_column(String(64))
    provider: Mapped[str | None] = mapped_column(String(40))
    model: Mapped[str | None] = mapped_column(String(80))
    cost_usd: Mapped[Decimal] = mapped_column(Numeric(12, 6), default=Decimal(0))
    job_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = created_at_col()


class GlobalAsset(Base):
    """A user's library entry, promoted from a project asset and clonable into any project."""

    __tablename__ = "global_assets"

    id: Mapped[uuid.UUID] = uuid_pk()
    owner_id: Mapped[uuid.UUID] = mapped_column(index=True)
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(32))
    aliases: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    description: Mapped[str] = mapped_column(Text, default="")
    image_prompt: Mapped[str | None] = mapped_column(Text)
    storage_key: Mapped[str | None] = mapped_column(Text)
    thumbnail_key: Mapped[str | None] = mapped_column(Text)
    mime: Mapped[str | None] = mapped_column(String(32))
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    style_snapshot: Mapped[dict[str, Any] | None]
    source_project_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("projects.id", ondelete="SET NULL")
    )
    source_asset_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("project_assets.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = created_at_col()


class DismissedEntity(Base):
    """An extraction entity the user deleted; re-extraction does not offer it again as new."""

    __tablename__ = "dismissed_entities"
    __table_args__ = (UniqueConstraint("project_id", "entity_key"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    entity_key: Mapped[str] = mapped_column(String(240))
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = created_at_col()
