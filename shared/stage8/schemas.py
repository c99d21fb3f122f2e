"""Request and response shapes of Stage 8: scene instances, their reference chain, their carousel,
and the Stage 8 gate."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.assets.schemas import AssetType
from shared.continuity.angles import Angle, Framing, Side

ImageKind = Literal["master", "instance"]
InstanceAttemptSource = Literal["generated", "uploaded", "master_copy"]


class SceneImage(BaseModel):
    """An image a scene can start from or show: the asset's master image, or an attempt of one
    scene's instance (``scene_number`` says which scene; null for the master)."""

    kind: ImageKind
    scene_number: int | None
    attempt_id: uuid.UUID
    image_url: str
    thumbnail_url: str | None


class ShotAngles(BaseModel):
    """One shot's camera, in the vocabulary of ``shared/continuity/angles.py``."""

    shot: int
    framing: Framing | None
    angle: Angle | None
    side: Side | None


class InstanceOut(BaseModel):
    id: uuid.UUID
    asset_id: uuid.UUID
    scene_id: uuid.UUID
    scene_number: int
    name: str
    type: AssetType
    deferred: bool
    description: str = Field(description="The asset's description: what an imageless asset carries")
    visual_state: str = Field(description="What differs in this scene; empty until written")
    use_master_as_is: bool
    reference: SceneImage | None = Field(description="The image this scene starts from")
    reference_pinned: bool = Field(description="True when the user chose the reference (else the default)")
    image: SceneImage | None = Field(
        description="The effective image: the own selected attempt, or the reference when use_master_as_is"
    )
    attempt_count: int
    required: bool = Field(description="Blocks the Stage 8 lock while there is no effective image")
    generate_later: bool
    camera_angle: str | None
    shots: list[int] = Field(
        default_factory=list, description="Shot numbers of the scene's shot list this asset appears in"
    )
    camera_angles: list[ShotAngles] = Field(
        default_factory=list, description="The camera of each of those shots, parsed into the vocabulary"
    )
    version: int


class SceneRef(BaseModel):
    id: uuid.UUID
    number: int
    heading: str


class InstanceList(BaseModel):
    scene: SceneRef
    items: list[InstanceOut]


class InstancePatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    visual_state: str | None = Field(default=None, max_length=8000)
    use_master_as_is: bool | None = None
    required: bool | None = Field(default=None, description="Send null to go back to the default rule")
    generate_later: bool | None = None
    camera_angle: str | None = Field(default=None, max_length=80)
    version: int | None = Field(
        default=None, description="Send the version you read to detect concurrent edits"
    )


class NewSceneAsset(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    type: AssetType
    description: str = Field(default="", max_length=8000)


class AddToScene(BaseModel):
    model_config = ConfigDict(extra="forbid")
    asset_id: uuid.UUID | None = Field(default=None, description="An existing asset of the project")
    new: NewSceneAsset | None = Field(default=None, description="A new scene-specific asset (source manual)")

    @model_validator(mode="after")
    def _exactly_one(self) -> AddToScene:
        if (self.asset_id is None) == (self.new is None):
            raise ValueError("send exactly one of asset_id and new")
        return self


class UseMasterIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    instance_ids: list[uuid.UUID] = Field(min_length=1, max_length=500)


class ReferenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    attempt_id: uuid.UUID | None = Field(
        description="An image of the reference chain; null goes back to the default reference"
    )


class ChainItem(BaseModel):
    kind: ImageKind
    scene_id: uuid.UUID | None
    scene_number: int | None
    heading: str | None
    attempt_id: uuid.UUID
    attempt_number: int
    selected: bool = Field(description="The selected image of its scene (or the master)")
    image_url: str
    thumbnail_url: str | None
    default: bool = Field(description="What this scene starts from when the user has not chosen")
    current: bool = Field(description="What this scene starts from now")


class ReferenceChain(BaseModel):
    items: list[ChainItem] = Field(
        description="Oldest first: the master, then earlier scenes in script order"
    )
    default_attempt_id: uuid.UUID | None
    current: SceneImage | None


class ReferenceUsed(BaseModel):
    kind: ImageKind
    attempt_id: uuid.UUID
    scene_number: int | None


class InstanceAttemptOut(BaseModel):
    id: uuid.UUID
    instance_id: uuid.UUID
    attempt_number: int
    source: InstanceAttemptSource
    selected: bool
    image_url: str
    thumbnail_url: str | None
    width: int
    height: int
    mime: str
    bytes: int
    provider: str | None
    model: str | None
    cost_usd: float
    prompt: str | None
    style: dict[str, Any] | None
    reference: ReferenceUsed | None = Field(description="The reference image this attempt was made from")
    job_id: uuid.UUID | None
    created_at: datetime


class InstanceAttemptList(BaseModel):
    items: list[InstanceAttemptOut] = Field(description="Newest first")
    cap: int = Field(description="At most this many attempts are kept per instance")


class Blocker(BaseModel):
    instance_id: uuid.UUID
    asset_id: uuid.UUID
    name: str
    type: AssetType


class SceneBlockers(BaseModel):
    scene_id: uuid.UUID
    number: int
    heading: str
    blockers: list[Blocker]


class StaleInstance(BaseModel):
    """An instance whose scene is gone from the current script: kept with its images, never blocking."""

    instance_id: uuid.UUID
    asset_id: uuid.UUID
    name: str
    last_scene_number: int
    last_heading: str
    attempt_count: int


class Readiness(BaseModel):
    stage: Literal[8] = 8
    locked_at: datetime | None
    stage5_locked: bool
    ready: bool = Field(description="Stage 5 locked and no blockers")
    instances: int
    required: int
    blocking: int
    scenes: list[SceneBlockers] = Field(description="Scenes with blockers, in script order")
    stale: list[StaleInstance]
