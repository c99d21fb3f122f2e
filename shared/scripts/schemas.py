from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.common import PAGE_SIZE_DEFAULT, Page
from shared.jobs.schemas import JOB_EXAMPLE, JobOut

SCRIPT_EXAMPLE: dict[str, Any] = {
    "id": "7e2d4c1a-6b5f-4a3e-9c8d-1f0e2d3c4b5a",
    "version": 1,
    "format": "fountain",
    "title": "Night Shift",
    "content_hash": "9f2c5e0b7a1d3e4f8a6b2c9d0e1f3a5b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f",
    "scene_count": 42,
    "created_at": "2026-11-30T14:01:47.904Z",
    "text": None,
}


class ScriptPut(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "text": "Title: Night Shift\n\nINT. DINER - NIGHT\n\nMARA wipes the counter.\n",
                    "format": "fountain",
                }
            ]
        },
    )
    text: str = Field(min_length=1, description="The whole screenplay")
    format: Literal["fountain", "plain"] | None = Field(default=None, description="null: detect")


class ScriptOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [SCRIPT_EXAMPLE]})
    id: uuid.UUID = Field(description="This version's id")
    version: int = Field(description="1 for the first script, one more for each PUT")
    format: Literal["fountain", "plain"] = Field(description="As given, or as detected")
    title: str | None = Field(description="From the title page, when there is one")
    content_hash: str = Field(description="SHA-256 of the text: the same text gives the same hash")
    scene_count: int = Field(description="Scenes parsed (0 while a parse job is still running)")
    created_at: datetime = Field(description="When this version was stored (UTC)")
    text: str | None = Field(default=None, description="The whole text (GET .../script only)")


class ScriptAccepted(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "script": {**SCRIPT_EXAMPLE, "scene_count": 0},
                    "job": {**JOB_EXAMPLE, "kind": "script.parse"},
                }
            ]
        }
    )
    script: ScriptOut = Field(description="The stored version")
    job: JobOut = Field(description="The parse job that splits it into scenes")


DEPENDENCY_EXAMPLE: dict[str, Any] = {
    "asset_id": "3a9b8c7d-6e5f-4a3b-2c1d-0e9f8a7b6c5d",
    "name": "MARA",
    "source": "extracted",
    "deferred": False,
}


class DependencyOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [DEPENDENCY_EXAMPLE]})
    asset_id: uuid.UUID = Field(description="The asset")
    name: str = Field(description="Its name")
    source: Literal["extracted", "manual", "stage8"] = Field(
        description="How it got linked to the scene: found by extraction, added by hand, or by Stage 8"
    )
    deferred: bool = Field(description="Set aside for now (hidden from the active asset list)")


class Dependencies(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"character": [DEPENDENCY_EXAMPLE]}]})
    character: list[DependencyOut] = Field(default_factory=list, description="Characters in the scene")
    prop: list[DependencyOut] = Field(default_factory=list, description="Props in the scene")
    location: list[DependencyOut] = Field(default_factory=list, description="Where the scene happens")
    extra_archetype: list[DependencyOut] = Field(
        default_factory=list, description="Kinds of extras (e.g. FISHERMEN)"
    )


SCENE_EXAMPLE: dict[str, Any] = {
    "id": "c4d5e6f7-a8b9-4c0d-9e1f-2a3b4c5d6e7f",
    "number": 1,
    "heading": "INT. DINER - NIGHT",
    "int_ext": "INT",
    "location": "DINER",
    "time_of_day": "NIGHT",
    "dependencies": {"character": [DEPENDENCY_EXAMPLE], "prop": [], "location": [], "extra_archetype": []},
}


class SceneOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [SCENE_EXAMPLE]})
    id: uuid.UUID = Field(description="The scene's id")
    number: int = Field(description="1-based, in script order")
    heading: str = Field(description="The scene heading as written")
    int_ext: str | None = Field(description="`INT`, `EXT`, `INT/EXT`, or null when the heading has none")
    location: str = Field(description="The place named by the heading")
    time_of_day: str | None = Field(description="E.g. `NIGHT`, `DAY`, `CONTINUOUS`; null when not given")
    dependencies: Dependencies = Field(description="The scene's assets, grouped by type")


class ScenesOut(Page[SceneOut]):
    """A page of scenes (`limit`/`offset` like every list), with the script version they belong to."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [SCENE_EXAMPLE],
                    "total": 1,
                    "limit": PAGE_SIZE_DEFAULT,
                    "offset": 0,
                    "script_version": 1,
                }
            ]
        }
    )
    script_version: int | None = Field(description="The current script version (null: no script yet)")
