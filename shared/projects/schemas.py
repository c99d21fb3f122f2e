from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

AspectRatio = Literal["16:9", "9:16", "1:1", "4:3", "2.35:1"]

STYLE_EXAMPLE: dict[str, Any] = {
    "capsule_id": "1d7f5a0e-2b3c-4d5e-8f90-a1b2c3d4e5f6",
    "capsule_name": "Film noir",
    "manual_tone": None,
    "locked_at": None,
}
PROJECT_EXAMPLE: dict[str, Any] = {
    "id": "5f0e8a8e-9a57-4a0e-8d1c-2b7d6f3e9a41",
    "title": "Night Shift",
    "aspect_ratio": "16:9",
    "style": STYLE_EXAMPLE,
    "stage5_locked_at": None,
    "stage8_locked_at": None,
    "script_version": 1,
    "created_at": "2026-11-30T14:00:03.120Z",
    "updated_at": "2026-11-30T14:01:47.904Z",
}


class ProjectCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"title": "Night Shift", "aspect_ratio": "16:9"}]}
    )
    title: str = Field(min_length=1, max_length=200, description="The film's working title")
    aspect_ratio: AspectRatio = Field(
        default="16:9", description="Frame of the film; generated images follow it"
    )


class ProjectPatch(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"title": "Night Shift (v2)"}]})
    title: str | None = Field(
        default=None, min_length=1, max_length=200, description="New title; omit to keep it"
    )
    aspect_ratio: AspectRatio | None = Field(default=None, description="New frame; omit to keep it")


class ManualTone(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"preset": "noir", "text": "rain-soaked streets, sodium light"}]},
    )
    preset: str = Field(min_length=1, max_length=80, description="A preset slug, e.g. noir, anime")
    text: str = Field(default="", max_length=2000, description="Free-text description of the tone")


class StyleOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [STYLE_EXAMPLE]})
    capsule_id: uuid.UUID | None = Field(description="The chosen style capsule, if the style is one")
    capsule_name: str | None = Field(description="Its name, for display")
    manual_tone: ManualTone | None = Field(description="The tone typed by the user, if the style is one")
    locked_at: datetime | None = Field(description="When Stage 5 locked the style (null: still editable)")


class ProjectOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [PROJECT_EXAMPLE]})
    id: uuid.UUID = Field(description="The project's id (the `pid` of every project route)")
    title: str = Field(description="The film's working title")
    aspect_ratio: AspectRatio = Field(description="Frame of the film; generated images follow it")
    style: StyleOut = Field(description="The visual style (neither capsule nor tone: none chosen yet)")
    stage5_locked_at: datetime | None = Field(
        description="When Stage 5 (assets and images) was locked; null while it is open"
    )
    stage8_locked_at: datetime | None = Field(description="When Stage 8 was locked; null while it is open")
    script_version: int | None = Field(description="Version of the current script (null: no script yet)")
    created_at: datetime = Field(description="When the project was created (UTC)")
    updated_at: datetime = Field(description="When the project last changed (UTC)")


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
