"""Request and response shapes of the later stages' endpoints: shots and camera angles, views,
suggestions, the asset timeline and the scene context."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.assets.schemas import AssetType
from shared.continuity.angles import Angle, Framing, Side
from shared.jobs.schemas import JobOut
from shared.stage8.schemas import SceneImage, ShotAngles

ANGLE_DOC = (
    "Camera angles are read from the shot's camera text into a fixed vocabulary (null where the text "
    "says nothing): framing = extreme wide | wide | full | medium wide | medium | medium close-up | "
    "close-up | extreme close-up; angle = eye level | high | low | overhead (also aerial, bird's eye, "
    "top-down) | dutch; side = front | three-quarter | profile | back. Abbreviations such as EWS, WS, "
    "FS, MWS, MS, MCU, CU, ECU, OTS, 3/4 are understood."
)


class ShotIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    number: int = Field(ge=1, le=100000)
    camera: str = Field(default="", max_length=2000, description='Free text, e.g. "AERIAL looking down"')
    action: str = Field(default="", max_length=20000)
    assets: list[str] | None = Field(
        default=None, max_length=200, description="Names (or aliases) of assets in the shot"
    )


class ShotsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    shots: list[ShotIn] = Field(max_length=500)


class CameraAnglesOut(BaseModel):
    framing: Framing | None
    angle: Angle | None
    side: Side | None
    edited: bool = Field(description="True when a user set them (PATCH) instead of the parser")


class CameraAnglesPatch(BaseModel):
    """A correction of one shot's angles: fields sent replace the parsed ones (null clears one)."""

    model_config = ConfigDict(extra="forbid")
    number: int = Field(ge=1, le=100000, description="The shot to correct")
    framing: Framing | None = None
    angle: Angle | None = None
    side: Side | None = None


class ShotsPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    shots: list[CameraAnglesPatch] = Field(min_length=1, max_length=500)


class ShotAsset(BaseModel):
    asset_id: uuid.UUID
    instance_id: uuid.UUID | None = Field(description="The asset's Stage 8 instance in this scene, if linked")
    name: str
    type: AssetType
    how: Literal["listed", "named_in_action"]


class ShotOut(BaseModel):
    number: int
    camera: str
    action: str
    listed: list[str] = Field(description="The names the shot list gave")
    camera_angles: CameraAnglesOut
    assets: list[ShotAsset]


class InstanceShots(BaseModel):
    """What a Stage 8 instance shows about the shots: the shot numbers it appears in and the camera
    angles of those shots."""

    instance_id: uuid.UUID | None
    asset_id: uuid.UUID
    name: str
    shots: list[int]
    camera_angles: list[ShotAngles]


class ShotList(BaseModel):
    scene_id: uuid.UUID
    scene_number: int
    shots: list[ShotOut]
    instances: list[InstanceShots] = Field(
        description="Per asset of the scene (and any asset a shot names): its shot numbers and angles"
    )
    unknown_names: list[str] = Field(description="Listed names that match no asset of the project")


class ViewsOut(BaseModel):
    asset_id: uuid.UUID
    present: list[str] = Field(description="Views the carousel already holds")
    missing: list[str] = Field(description="Views started now")
    batch_id: uuid.UUID | None = Field(
        default=None, description="Null until the batches API lands: follow the jobs one by one"
    )
    jobs: list[JobOut]


class SuggestionOut(BaseModel):
    id: uuid.UUID
    scene_id: uuid.UUID
    asset_id: uuid.UUID
    name: str
    type: AssetType
    suggested_by: Literal["named_in_text", "continuity"]
    evidence: dict[str, Any] = Field(
        description="named_in_text: {terms, mentions, excerpt}; continuity: {before, after, location}"
    )


class SuggestionList(BaseModel):
    scene_id: uuid.UUID
    items: list[SuggestionOut]


class AcceptOut(BaseModel):
    suggestion_id: uuid.UUID
    instance_id: uuid.UUID
    asset_id: uuid.UUID


class StaleMark(BaseModel):
    stale: bool
    made_from: str | None = Field(description="The prompt the image was made from, when it is stale")
    reason: str | None


class ViewChoice(BaseModel):
    view: str
    attempt_id: uuid.UUID
    image_url: str
    thumbnail_url: str | None
    reason: str


class TimelineScene(BaseModel):
    scene_id: uuid.UUID
    number: int
    heading: str
    appears: bool
    instance_id: uuid.UUID | None
    visual_state: str | None
    image: SceneImage | None
    image_source: Literal["generated_here", "inherited", "master"] | None = Field(
        description="generated_here: this scene's own image; inherited: an earlier scene's image "
        "(see inherited_from_scene); master: the Stage 5 image"
    )
    inherited_from_scene: int | None
    stale: StaleMark | None
    shots: list[int]


class BrokenLink(BaseModel):
    instance_id: uuid.UUID
    scene_number: int | None
    problem: Literal["reference_deleted", "reference_not_in_chain", "master_missing", "scene_vanished"]
    detail: str
    fix: str


class Timeline(BaseModel):
    asset_id: uuid.UUID
    name: str
    type: AssetType
    master: SceneImage | None
    scenes: list[TimelineScene] = Field(description="Every scene of the current script, in order")
    broken: list[BrokenLink]


class RepairOut(BaseModel):
    fixed: list[BrokenLink]
    timeline: Timeline


class StyleContext(BaseModel):
    source: str | None
    name: str | None
    prompt_fragment: str
    negative_fragment: str


class ContextAsset(BaseModel):
    asset_id: uuid.UUID
    instance_id: uuid.UUID
    name: str
    type: AssetType
    required: bool
    summarised: bool = Field(default=False, description="Description cut to its first sentence to fit")
    description: str
    visual_state: str
    shots: list[int]
    camera_angles: list[ShotAngles]
    image_url: str | None
    image: SceneImage | None
    stale: StaleMark | None
    view: ViewChoice | None = Field(description="With ?shot=: the asset's view matching the shot's side")


class PreviousState(BaseModel):
    asset_id: uuid.UUID
    name: str
    scene_number: int
    visual_state: str
    image_url: str | None


class LeftOut(BaseModel):
    kind: Literal["asset", "previous_state"]
    name: str
    action: Literal["summarised", "dropped"]
    tokens: int


class SceneContext(BaseModel):
    scene_id: uuid.UUID
    scene_number: int
    heading: str
    location: str
    int_ext: str | None
    time_of_day: str | None
    aspect_ratio: str
    style: StyleContext | None
    shot: ShotOut | None
    assets: list[ContextAsset]
    previous_scene: int | None
    previous_states: list[PreviousState]
    token_estimate: int = Field(description="Estimated tokens of this context (about 4 characters each)")
    max_tokens: int | None
    left_out: list[LeftOut]
    tokens_left_out: int


InstanceShots.model_rebuild()
