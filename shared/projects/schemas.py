from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

AspectRatio = Literal["16:9", "9:16", "1:1", "4:3", "2.35:1"]


class ProjectCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1, max_length=200)
    aspect_ratio: AspectRatio = "16:9"


class ProjectPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str | None = Field(default=None, min_length=1, max_length=200)
    aspect_ratio: AspectRatio | None = None


class ManualTone(BaseModel):
    model_config = ConfigDict(extra="forbid")
    preset: str = Field(min_length=1, max_length=80, description="A preset slug, e.g. noir, anime")
    text: str = Field(default="", max_length=2000, description="Free-text description of the tone")


class StyleOut(BaseModel):
    capsule_id: uuid.UUID | None
    capsule_name: str | None
    manual_tone: ManualTone | None
    locked_at: datetime | None


class ProjectOut(BaseModel):
    id: uuid.UUID
    title: str
    aspect_ratio: AspectRatio
    style: StyleOut
    stage5_locked_at: datetime | None
    stage8_locked_at: datetime | None
    script_version: int | None
    created_at: datetime
    updated_at: datetime


def style_out(
    capsule_id: uuid.UUID | None,
    capsule_name: str | None,
    manual_tone: dict[str, Any] | None,
    locked_at: datetime | None,
) -> StyleOut:
    return StyleOut(
        capsule_id=capsule_id,
        capsule_name=capsule_name,
        manual_tone=ManualTone(**manual_tone) if manual_tone else None,
        locked_at=locked_at,
    )
