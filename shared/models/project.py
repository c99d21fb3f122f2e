from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shared.models.base import Base, created_at_col, enum_check, updated_at_col, uuid_pk

ASPECT_RATIOS = ("16:9", "9:16", "1:1", "4:3", "2.35:1")


class StyleCapsule(Base):
    """A visual style. ``owner_id`` NULL marks a built-in preset (seeded by migration)."""

    __tablename__ = "style_capsules"

    id: Mapped[uuid.UUID] = uuid_pk()
    owner_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    slug: Mapped[str | None] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    prompt_fragment: Mapped[str] = mapped_column(Text)
    negative_fragment: Mapped[str] = mapped_column(Text, default="")
    palette: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = created_at_col()


class Project(Base):
    __tablename__ = "projects"
    __table_args__ = (
        CheckConstraint(enum_check("aspect_ratio", ASPECT_RATIOS), name="aspect_ratio"),
        Index("ix_projects_owner_created", "owner_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    owner_id: Mapped[uuid.UUID]
    title: Mapped[str] = mapped_column(String(200))
    aspect_ratio: Mapped[str] = mapped_column(String(8), default="16:9")
    style_capsule_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("style_capsules.id", ondelete="RESTRICT")
    )
    # {"preset": "noir", "text": "..."} when the user describes the tone instead of picking a capsule
    manual_tone: Mapped[dict[str, Any] | None]
    style_locked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    stage5_locked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    stage8_locked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = created_at_col()
    updated_at: Mapped[datetime] = updated_at_col()
