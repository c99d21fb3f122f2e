from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shared.models.base import Base, created_at_col, enum_check, uuid_pk

ScriptFormat = Literal["fountain", "plain"]
SCRIPT_FORMATS: tuple[ScriptFormat, ...] = ("fountain", "plain")


class Script(Base):
    """One version of a project's master script. The newest version is the current one."""

    __tablename__ = "scripts"
    __table_args__ = (
        UniqueConstraint("project_id", "version"),
        CheckConstraint(enum_check("format", SCRIPT_FORMATS), name="format"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    format: Mapped[ScriptFormat] = mapped_column(String(16))
    title: Mapped[str | None] = mapped_column(String(300))
    scene_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = created_at_col()


class Scene(Base):
    """A scene of one script version. Links point at scene ids, never at positions."""

    __tablename__ = "scenes"
    __table_args__ = (UniqueConstraint("script_id", "number"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    script_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("scripts.id", ondelete="CASCADE"))
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer)
    heading: Mapped[str] = mapped_column(Text)
    int_ext: Mapped[str | None] = mapped_column(String(16))
    location: Mapped[str] = mapped_column(Text, default="")
    time_of_day: Mapped[str | None] = mapped_column(String(64))
    start_line: Mapped[int] = mapped_column(Integer, default=0)
    end_line: Mapped[int] = mapped_column(Integer, default=0)
