"""HTTP shapes of the extraction flow (preview, confirm)."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.common import SceneNumber
from shared.extraction.schemas import EntityMention, EntityType
from shared.jobs.schemas import JobOut

Decision = Literal["keep", "defer", "delete"]


class PreviewEntityOut(BaseModel):
    key: str = Field(description="Stable across extractions: use it in confirm decisions")
    name: str
    type: EntityType
    aliases: list[str]
    scene_numbers: list[int]
    mentions: list[EntityMention]
    existing_asset_id: uuid.UUID | None = Field(description="The asset this entity already is, if any")
    existing_source: Literal["extracted", "manual", "cloned"] | None
    dismissed: bool = Field(description="Deleted in an earlier confirm; defaults to delete again")
    change: Literal["new", "unchanged", "renamed"] = Field(
        default="new",
        description="Against the project's assets: `new` (confirm creates it), `unchanged` (an existing "
        "asset, see `existing_asset_id`), `renamed` (an existing asset the script now calls by this "
        "name; confirm keeps the asset and its images, the old name stays an alias)",
    )
    previous_name: str | None = Field(default=None, description="For `renamed`: the asset's name until now")


class VanishedAssetOut(BaseModel):
    asset_id: uuid.UUID
    name: str
    type: EntityType
    stale: bool
    deferred: bool


class PreviewOut(BaseModel):
    job: JobOut | None = Field(description="The latest preview job (may still be running)")
    script_version: int | None = Field(description="Script version the entities come from")
    current_script_version: int | None
    outdated: bool = Field(description="The script changed after this preview was made")
    entities: list[PreviewEntityOut]
    vanished: list[VanishedAssetOut] = Field(
        default_factory=list,
        description="Extracted assets this version no longer names: they stay, marked `stale`",
    )


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: str
    decision: Decision
    name: str | None = Field(default=None, min_length=1, max_length=200)
    type: EntityType | None = None
    scene_numbers: list[SceneNumber] | None = Field(default=None, max_length=2000)


class ConfirmIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decisions: list[DecisionIn] = Field(default_factory=list, max_length=5000)
    preview_job_id: uuid.UUID | None = Field(default=None, description="Defaults to the latest preview")
    economy: bool = Field(
        default=False,
        description=(
            "Describe through the provider's batch API at half the price; the descriptions arrive "
            "later (minutes, at most 24 hours) and the job says it is waiting meanwhile"
        ),
    )


class ConfirmSummary(BaseModel):
    created: int
    updated: int
    deferred: int
    dismissed: int
    unchanged_manual: int
    stale: int
    to_describe: int
    renamed: int = Field(default=0, description="Assets the script now calls by another name")


class ConfirmOut(BaseModel):
    summary: ConfirmSummary
    job: JobOut | None = Field(description="The description pass (absent when nothing needs describing)")
