from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.common import PositiveInt32, SceneNumber

AssetType = Literal["character", "prop", "location", "extra_archetype"]
AssetStatus = Literal["active", "deferred", "all"]
SceneNumbers = list[SceneNumber]


class AssetCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    type: AssetType
    description: str = Field(default="", max_length=8000)
    aliases: list[str] = Field(default_factory=list, max_length=50)
    image_prompt: str | None = Field(default=None, max_length=4000)
    scene_numbers: list[SceneNumber] = Field(default_factory=list, max_length=2000)
    deferred: bool = False


class AssetPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, min_length=1, max_length=200)
    type: AssetType | None = None
    description: str | None = Field(default=None, max_length=8000)
    aliases: list[str] | None = Field(default=None, max_length=50)
    image_prompt: str | None = Field(default=None, max_length=4000)
    scene_numbers: list[SceneNumber] | None = Field(default=None, max_length=2000)
    deferred: bool | None = None
    version: PositiveInt32 | None = Field(
        default=None, description="Send the version you read to detect concurrent edits"
    )


class ImageRef(BaseModel):
    attempt_id: uuid.UUID
    image_url: str
    thumbnail_url: str | None
    width: int
    height: int


class AssetOut(BaseModel):
    id: uuid.UUID
    name: str
    aliases: list[str]
    type: AssetType
    description: str
    image_prompt: str | None
    deferred: bool
    source: Literal["extracted", "manual", "cloned"]
    stale: bool
    described: bool
    metadata: dict[str, Any]
    scene_numbers: list[int]
    image: ImageRef | None
    attempt_count: int
    version: int
    created_at: datetime
    updated_at: datetime
