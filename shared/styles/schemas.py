from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.projects.schemas import ManualTone

HexColour = Annotated[str, Field(pattern=r"^#[0-9a-fA-F]{6}$")]

CAPSULE_CREATE_EXAMPLE: dict[str, Any] = {
    "name": "Harbour noir",
    "description": "Our own take on noir for the harbour scenes",
    "prompt_fragment": "high-contrast black and white, wet cobblestones, fog, hard key light",
    "negative_fragment": "colour, cartoon, text",
    "palette": ["#101418", "#5a6470", "#d8d2c4"],
}


class CapsuleCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [CAPSULE_CREATE_EXAMPLE]})
    name: str = Field(min_length=1, max_length=120, description="Shown in the style picker")
    description: str = Field(default="", max_length=2000, description="What the style is for, for people")
    prompt_fragment: str = Field(
        min_length=1, max_length=2000, description="Added to every image prompt of a project using it"
    )
    negative_fragment: str = Field(
        default="", max_length=2000, description="What images in this style must avoid"
    )
    palette: list[HexColour] = Field(
        default_factory=list, max_length=8, description="Up to 8 colours as `#rrggbb`"
    )


class CapsuleOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": "1d7f5a0e-2b3c-4d5e-8f90-a1b2c3d4e5f6",
                    "slug": None,
                    **CAPSULE_CREATE_EXAMPLE,
                    "preset": False,
                    "created_at": "2026-11-30T13:58:40.000Z",
                }
            ]
        },
    )
    id: uuid.UUID = Field(description="Give it as `capsule_id` to PUT .../style")
    slug: str | None = Field(description="Stable name of a built-in preset (e.g. `noir`); null for yours")
    name: str = Field(description="Shown in the style picker")
    description: str = Field(description="What the style is for, for people")
    prompt_fragment: str = Field(description="Added to every image prompt of a project using it")
    negative_fragment: str = Field(description="What images in this style must avoid")
    palette: list[str] = Field(description="Colours as `#rrggbb`")
    preset: bool = Field(description="A built-in preset (read-only) rather than one of yours")
    created_at: datetime = Field(description="When it was created (UTC)")


class StyleSet(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"capsule_id": "1d7f5a0e-2b3c-4d5e-8f90-a1b2c3d4e5f6"},
                {"manual_tone": {"preset": "noir", "text": "rain-soaked streets"}, "confirm_impact": True},
            ]
        },
    )
    capsule_id: uuid.UUID | None = Field(default=None, description="A capsule (give this or `manual_tone`)")
    manual_tone: ManualTone | None = Field(
        default=None, description="A preset and free text (give this or `capsule_id`)"
    )
    confirm_impact: bool = Field(
        default=False,
        description="Change it even though images exist (otherwise 409 `style_change_needs_confirmation`)",
    )

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
