"""HTTP shapes of the extraction flow (preview, confirm)."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.common import SceneNumber
from shared.extraction.schemas import EntityMention, EntityType
from shared.jobs.schemas import JOB_EXAMPLE, JobOut

Decision = Literal["keep", "defer", "delete"]

ENTITY_EXAMPLE: dict[str, Any] = {
    "key": "character:mara",
    "name": "MARA",
    "type": "character",
    "aliases": ["Mara"],
    "scene_numbers": [1, 3],
    "mentions": [{"scene_number": 1, "quote": "MARA (60s), weathered, a yellow oilskin coat"}],
    "existing_asset_id": None,
    "existing_source": None,
    "dismissed": False,
    "change": "new",
    "previous_name": None,
}
SUMMARY_EXAMPLE: dict[str, Any] = {
    "created": 11,
    "updated": 0,
    "deferred": 1,
    "dismissed": 2,
    "unchanged_manual": 0,
    "stale": 0,
    "to_describe": 11,
    "renamed": 0,
}


class PreviewEntityOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [ENTITY_EXAMPLE]})
    key: str = Field(description="Stable across extractions: use it in confirm decisions")
    name: str = Field(description="As the script names it")
    type: EntityType = Field(description="What kind of asset it would be")
    aliases: list[str] = Field(description="Other names the script uses for it")
    scene_numbers: list[int] = Field(description="Scenes it appears in (1-based)")
    mentions: list[EntityMention] = Field(description="Evidence: short quotes from its scenes")
    existing_asset_id: uuid.UUID | None = Field(description="The asset this entity already is, if any")
    existing_source: Literal["extracted", "manual", "cloned"] | None = Field(
        description="How that existing asset was made (null when there is none)"
    )
    dismissed: bool = Field(description="Deleted in an earlier confirm; defaults to delete again")
    change: Literal["new", "unchanged", "renamed"] = Field(
        default="new",
        description="Against the project's assets: `new` (confirm creates it), `unchanged` (an existing "
        "asset, see `existing_asset_id`), `renamed` (an existing asset the script now calls by this "
        "name; confirm keeps the asset and its images, the old name stays an alias)",
    )
    previous_name: str | None = Field(default=None, description="For `renamed`: the asset's name until now")


class VanishedAssetOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "asset_id": "6d5c4b3a-2f1e-4d0c-9b8a-7f6e5d4c3b2a",
                    "name": "Brass Telescope",
                    "type": "prop",
                    "stale": True,
                    "deferred": False,
                }
            ]
        }
    )
    asset_id: uuid.UUID = Field(description="The asset")
    name: str = Field(description="Its name")
    type: EntityType = Field(description="Its type")
    stale: bool = Field(description="Marked stale: no longer in the current script")
    deferred: bool = Field(description="Set aside (hidden from the active asset list)")


class PreviewOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "job": {**JOB_EXAMPLE, "status": "succeeded", "progress": 1.0},
                    "script_version": 1,
                    "current_script_version": 1,
                    "outdated": False,
                    "entities": [ENTITY_EXAMPLE],
                }
            ]
        }
    )
    job: JobOut | None = Field(description="The latest preview job (may still be running)")
    script_version: int | None = Field(description="Script version the entities come from")
    current_script_version: int | None = Field(description="The project's script version now")
    outdated: bool = Field(description="The script changed after this preview was made")
    entities: list[PreviewEntityOut] = Field(description="What the preview found (empty until it succeeds)")
    vanished: list[VanishedAssetOut] = Field(
        default_factory=list,
        description="Extracted assets this version no longer names: they stay, marked `stale`",
    )


DECISION_EXAMPLE: dict[str, Any] = {"key": "prop:radio", "decision": "defer"}


class DecisionIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                DECISION_EXAMPLE,
                {"key": "character:mara", "decision": "keep", "name": "Mara Quinn"},
            ]
        },
    )
    key: str = Field(description="The entity's `key` from the preview")
    decision: Decision = Field(
        description="`keep` it as an asset, `defer` it (kept, not described), or `delete` it (remembered)"
    )
    name: str | None = Field(
        default=None, min_length=1, max_length=200, description="Rename it as you keep it"
    )
    type: EntityType | None = Field(default=None, description="Change its type as you keep it")
    scene_numbers: list[SceneNumber] | None = Field(
        default=None, max_length=2000, description="Replace the scenes found for it"
    )


class ConfirmIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"decisions": [DECISION_EXAMPLE, {"key": "prop:napkin", "decision": "delete"}]}]
        },
    )
    decisions: list[DecisionIn] = Field(
        default_factory=list, max_length=5000, description="One per entity to change; the rest are kept"
    )
    preview_job_id: uuid.UUID | None = Field(default=None, description="Defaults to the latest preview")
    economy: bool = Field(
        default=False,
        description=(
            "Describe through the provider's batch API at half the price; the descriptions arrive "
            "later (minutes, at most 24 hours) and the job says it is waiting meanwhile"
        ),
    )


class ConfirmSummary(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [SUMMARY_EXAMPLE]})
    created: int = Field(description="New assets")
    updated: int = Field(description="Existing assets whose scenes or aliases changed")
    deferred: int = Field(description="Assets set aside (no description spend until restored)")
    dismissed: int = Field(description="Entities deleted (not offered again)")
    unchanged_manual: int = Field(description="Assets you made by hand, left as they were")
    stale: int = Field(description="Assets no longer in the script, marked stale")
    to_describe: int = Field(description="Assets the description pass will describe")
    renamed: int = Field(default=0, description="Assets the script now calls by another name")


class ConfirmOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"summary": SUMMARY_EXAMPLE, "job": {**JOB_EXAMPLE, "kind": "extract.confirm"}}]
        }
    )
    summary: ConfirmSummary = Field(description="What the confirm did")
    job: JobOut | None = Field(description="The description pass (absent when nothing needs describing)")
