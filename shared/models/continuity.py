"""The later stages' inputs and memory: a scene's shot list (with camera angles parsed from its
camera text) and the persisted asset suggestions of each scene, with what the user decided."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from shared.models.base import Base, created_at_col, enum_check, updated_at_col, uuid_pk

SUGGESTION_RULES = ("named_in_text", "continuity")


class Shot(Base):
    """One shot of a scene's shot list (input from the shot-list stage). ``framing``, ``angle`` and
    ``side`` are parsed from ``camera`` into the vocabulary of ``shared/continuity/angles.py``; a
    user's edit sets ``angles_edited`` so a re-PUT of the same camera text keeps it."""

    __tablename__ = "shots"
    __table_args__ = (UniqueConstraint("scene_id", "number"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    scene_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("scenes.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    camera: Mapped[str] = mapped_column(Text, default="")
    action: Mapped[str] = mapped_column(Text, default="")
    # Names the shot-list stage listed explicitly (matched to assets by name or alias on read).
    assets: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    framing: Mapped[str | None] = mapped_column(String(32))
    angle: Mapped[str | None] = mapped_column(String(32))
    side: Mapped[str | None] = mapped_column(String(32))
    angles_edited: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = created_at_col()
    updated_at: Mapped[datetime] = updated_at_col()


class SceneAssetSuggestion(Base):
    """An asset worth adding to a scene, found by a rule (never an LLM call). ``evidence_hash``
    covers the rule, the asset and what was seen (scene heading, matched names, neighbours), not
    scene ids, so a dismissal survives a new script version whose scene reads the same, and a
    suggestion whose evidence changed is offered again."""

    __tablename__ = "scene_asset_suggestions"
    __table_args__ = (
        UniqueConstraint("scene_id", "asset_id", "suggested_by"),
        CheckConstraint(enum_check("suggested_by", SUGGESTION_RULES), name="suggested_by"),
        Index("ix_scene_asset_suggestions_project_hash", "project_id", "evidence_hash"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    scene_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("scenes.id", ondelete="CASCADE"), index=True)
    asset_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("project_assets.id", ondelete="CASCADE"))
    suggested_by: Mapped[str] = mapped_column(String(32))
    evidence: Mapped[dict[str, Any]] = mapped_column(default=dict)
    evidence_hash: Mapped[str] = mapped_column(String(64))
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    dismissed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at_col()
    updated_at: Mapped[datetime] = updated_at_col()


class ContinuityState(Base):
    """Per project: the fingerprint of the dependency map (script version, live and removed links,
    asset names and aliases) the stored suggestions were computed from. A read whose fingerprint
    differs refreshes them first; an unchanged map is never recomputed."""

    __tablename__ = "continuity_state"

    project_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    fingerprint: Mapped[str] = mapped_column(String(64))
    refreshed_at: Mapped[datetime] = updated_at_col()


__all__ = ["SUGGESTION_RULES", "ContinuityState", "SceneAssetSuggestion", "Shot"]
