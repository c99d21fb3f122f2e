from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.common import PositiveInt32, SceneNumber

AssetType = Literal["character", "prop", "location", "extra_archetype"]
AssetStatus = Literal["active", "deferred", "all"]
SceneNumbers = list[SceneNumber]

IMAGE_EXAMPLE: dict[str, Any] = {
    "attempt_id": "8b7a6c5d-4e3f-4a2b-9c1d-0e9f8a7b6c5d",
    "image_url": "http://127.0.0.1:8000/v1/files/projects/5f0e8a8e/attempts/8b7a6c5d.png?exp=1796050000&sig=3f9a",
    "thumbnail_url": "http://127.0.0.1:8000/v1/files/projects/5f0e8a8e/attempts/8b7a6c5d.thumb.webp?exp=1796050000&sig=8c1d",
    "width": 1024,
    "height": 576,
}
ASSET_EXAMPLE: dict[str, Any] = {
    "id": "3a9b8c7d-6e5f-4a3b-2c1d-0e9f8a7b6c5d",
    "name": "MARA",
    "aliases": ["Mara"],
    "type": "character",
    "description": "A waitress in her sixties, weathered face, grey hair in a bun, a yellow oilskin coat.",
    "image_prompt": None,
    "deferred": False,
    "source": "extracted",
    "stale": False,
    "described": True,
    "metadata": {"confidence": 0.9, "priority": True},
    "scene_numbers": [1, 3],
    "image": IMAGE_EXAMPLE,
    "attempt_count": 2,
    "version": 3,
    "created_at": "2026-11-30T14:03:02.417Z",
    "updated_at": "2026-11-30T14:05:40.002Z",
}


class AssetCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "RADIO",
                    "type": "prop",
                    "description": "A battered 1950s valve radio, cream bakelite, one knob missing.",
                    "aliases": ["the radio"],
                    "scene_numbers": [1],
                }
            ]
        },
    )
    name: str = Field(min_length=1, max_length=200, description="As the script names it")
    type: AssetType = Field(description="What kind of asset it is")
    description: str = Field(default="", max_length=8000, description="Visual description for image prompts")
    aliases: list[str] = Field(
        default_factory=list, max_length=50, description="Other names the script uses for it"
    )
    image_prompt: str | None = Field(
        default=None, max_length=4000, description="Your own image prompt; null: built from the description"
    )
    scene_numbers: list[SceneNumber] = Field(
        default_factory=list, max_length=2000, description="Scenes it appears in (1-based)"
    )
    deferred: bool = Field(default=False, description="Create it set aside (hidden from the active list)")


class AssetPatch(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"description": "A waitress in her sixties in a yellow oilskin coat.", "version": 3},
            ]
        },
    )
    name: str | None = Field(default=None, min_length=1, max_length=200, description="New name; omit to keep")
    type: AssetType | None = Field(default=None, description="New type; omit to keep")
    description: str | None = Field(default=None, max_length=8000, description="New visual description")
    aliases: list[str] | None = Field(default=None, max_length=50, description="Replaces the aliases")
    image_prompt: str | None = Field(default=None, max_length=4000, description="New image prompt")
    scene_numbers: list[SceneNumber] | None = Field(
        default=None, max_length=2000, description="Replaces the scenes it appears in"
    )
    deferred: bool | None = Field(default=None, description="Set aside (true) or bring back (false)")
    version: PositiveInt32 | None = Field(
        default=None, description="Send the version you read to detect concurrent edits"
    )


class ImageRef(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [IMAGE_EXAMPLE]})
    attempt_id: uuid.UUID = Field(description="The selected attempt of the carousel")
    image_url: str = Field(description="Signed, expiring URL of the image (no token needed)")
    thumbnail_url: str | None = Field(description="Signed URL of a small preview, when there is one")
    width: int = Field(description="Pixels")
    height: int = Field(description="Pixels")


class AssetOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [ASSET_EXAMPLE]})
    id: uuid.UUID = Field(description="The asset's id (the `aid` of asset routes)")
    name: str = Field(description="As the script names it")
    aliases: list[str] = Field(description="Other names the script uses for it")
    type: AssetType = Field(description="What kind of asset it is")
    description: str = Field(description="Visual description for image prompts (empty until described)")
    image_prompt: str | None = Field(
        description="The user's own image prompt; null: built from the description"
    )
    deferred: bool = Field(description="Set aside: hidden from the active list, no description spend")
    source: Literal["extracted", "manual", "cloned"] = Field(
        description="Found by extraction, added by hand, or cloned from your library"
    )
    stale: bool = Field(description="No longer found in the current script version")
    described: bool = Field(description="The description pass has run for it")
    metadata: dict[str, Any] = Field(description="Extraction details (confidence, priority, conflicts)")
    scene_numbers: list[int] = Field(description="Scenes it appears in (1-based)")
    image: ImageRef | None = Field(description="The selected image; null when it has none")
    attempt_count: int = Field(description="Images in its carousel")
    version: int = Field(description="Bumped by each change; send it back in PATCH to detect conflicts")
    created_at: datetime = Field(description="When it was created (UTC)")
    updated_at: datetime = Field(description="When it last changed (UTC)")
