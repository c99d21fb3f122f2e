from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.jobs.schemas import JobOut


class ScriptPut(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, description="The whole screenplay")
    format: Literal["fountain", "plain"] | None = Field(default=None, description="null: detect")


class ScriptOut(BaseModel):
    id: uuid.UUID
    version: int
    format: Literal["fountain", "plain"]
    title: str | None
    content_hash: str
    scene_count: int
    created_at: datetime
    text: str | None = None


class ScriptAccepted(BaseModel):
    script: ScriptOut
    job: JobOut


class DependencyOut(BaseModel):
    asset_id: uuid.UUID
    name: str
    source: Literal["extracted", "manual", "stage8"]
    deferred: bool


class Dependencies(BaseModel):
    character: list[DependencyOut] = Field(default_factory=list)
    prop: list[DependencyOut] = Field(default_factory=list)
    location: list[DependencyOut] = Field(default_factory=list)
    extra_archetype: list[DependencyOut] = Field(default_factory=list)


class SceneOut(BaseModel):
    id: uuid.UUID
    number: int
    heading: str
    int_ext: str | None
    location: str
    time_of_day: str | None
    dependencies: Dependencies


class ScenesOut(BaseModel):
    script_version: int | None
    items: list[SceneOut]
