from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.projects.schemas import ManualTone

HexColour = Annotated[str, Field(pattern=r"^#[0-9a-fA-F]{6}$")]


class CapsuleCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=120)
    description: str = Field(default="", max_length=2000)
    prompt_fragment: str = Field(min_length=1, max_length=2000)
    negative_fragment: str = Field(default="", max_length=2000)
    palette: list[HexColour] = Field(default_factory=list, max_length=8)


class CapsuleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    slug: str | None
    name: str
    description: str
    prompt_fragment: str
    negative_fragment: str
    palette: list[str]
    preset: bool
    created_at: datetime


class StyleSet(BaseModel):
    model_config = ConfigDict(extra="forbid")
    capsule_id: uuid.UUID | None = None
    manual_tone: ManualTone | None = None
    confirm_impact: bool = False

    @model_validator(mode="after")
    def _one_of(self) -> StyleSet:
        if (self.capsule_id is None) == (self.manual_tone is None):
            raise ValueError("Give exactly one of capsule_id or manual_tone")
        return self


class StyleSnapshot(BaseModel):
    """The style as it was when an image was made; stored on every attempt."""

    source: str  # "capsule" | "manual"
    capsule_id: uuid.UUID | None
    name: str
    prompt_fragment: str
    negative_fragment: str
    palette: list[str]
