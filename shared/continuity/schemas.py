"""Request and response shapes of the later stages' endpoints: shots and camera angles, views,
suggestions, the asset timeline and the scene context."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.assets.schemas import AssetType
from shared.continuity.angles import Angle, Framing, Side
from shared.jobs.batches import BATCH_ID_EXAMPLE
from shared.jobs.schemas import JOB_EXAMPLE, JobOut
from shared.stage8.schemas import MASTER_IMAGE_EXAMPLE, SceneImage, ShotAngles, StaleMark

ANGLE_DOC = (
    "Camera angles are read from the shot's camera text into a fixed vocabulary (null where the text "
    "says nothing): framing = extreme wide | wide | full | medium wide | medium | medium close-up | "
    "close-up | extreme close-up; angle = eye level | high | low | overhead (also aerial, bird's eye, "
    "top-down) | dutch; side = front | three-quarter | profile | back. Abbreviations such as EWS, WS, "
    "FS, MWS, MS, MCU, CU, ECU, OTS, 3/4 are understood."
)

_SID = "c4d5e6f7-a8b9-4c0d-9e1f-2a3b4c5d6e7f"
_AID = "3a9b8c7d-6e5f-4a3b-2c1d-0e9f8a7b6c5d"
_IID = "e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a5b"
ANGLES_EXAMPLE: dict[str, Any] = {
    "framing": "close-up",
    "angle": "low",
    "side": "three-quarter",
    "edited": False,
}
SHOT_EXAMPLE: dict[str, Any] = {
    "number": 1,
    "camera": "LOW ANGLE CU",
    "action": "Mara hurries down, lantern in hand.",
    "listed": ["Mara"],
    "camera_angles": ANGLES_EXAMPLE,
    "assets": [{"asset_id": _AID, "instance_id": _IID, "name": "Mara", "type": "character", "how": "listed"}],
}
SHOT_ANGLES_EXAMPLE: dict[str, Any] = {
    "shot": 1,
    "framing": "close-up",
    "angle": "low",
    "side": "three-quarter",
}
SHOT_LIST_EXAMPLE: dict[str, Any] = {
    "scene_id": _SID,
    "scene_number": 3,
    "shots": [SHOT_EXAMPLE],
    "instances": [
        {
            "instance_id": _IID,
            "asset_id": _AID,
            "name": "Mara",
            "shots": [1],
            "camera_angles": [SHOT_ANGLES_EXAMPLE],
        }
    ],
    "unknown_names": [],
}
SCENE_TIMELINE_EXAMPLE: dict[str, Any] = {
    "scene_id": _SID,
    "number": 3,
    "heading": "INT. LIGHTHOUSE - STAIRS - CONTINUOUS",
    "appears": True,
    "instance_id": _IID,
    "visual_state": "Soaked by the storm, hair loose",
    "image": MASTER_IMAGE_EXAMPLE,
    "image_source": "master",
    "inherited_from_scene": None,
    "stale": None,
    "shots": [1],
}
TIMELINE_EXAMPLE: dict[str, Any] = {
    "asset_id": _AID,
    "name": "Mara",
    "type": "character",
    "master": MASTER_IMAGE_EXAMPLE,
    "scenes": [SCENE_TIMELINE_EXAMPLE],
    "broken": [],
}


class ShotIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    number: int = Field(ge=1, le=100000, description="The shot's number in the scene")
    camera: str = Field(default="", max_length=2000, description='Free text, e.g. "AERIAL looking down"')
    action: str = Field(default="", max_length=20000, description="What happens in the shot")
    assets: list[str] | None = Field(
        default=None, max_length=200, description="Names (or aliases) of assets in the shot"
    )


class ShotsIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "shots": [
                        {
                            "number": 1,
                            "camera": "AERIAL looking down",
                            "action": "The lighthouse in the storm.",
                        },
                        {
                            "number": 2,
                            "camera": "LOW ANGLE CU",
                            "action": "Mara hurries down.",
                            "assets": ["Mara"],
                        },
                    ]
                }
            ]
        },
    )
    shots: list[ShotIn] = Field(max_length=500, description="The scene's whole shot list (replaces it)")


class CameraAnglesOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [ANGLES_EXAMPLE]})
    framing: Framing | None = Field(
        description="How much of the frame the subject fills (null: the camera text says nothing)"
    )
    angle: Angle | None = Field(description="Camera height and tilt (null: not said)")
    side: Side | None = Field(description="Which side of the subject faces the camera (null: not said)")
    edited: bool = Field(description="True when a user set them (PATCH) instead of the parser")


class CameraAnglesPatch(BaseModel):
    """A correction of one shot's angles: fields sent replace the parsed ones (null clears one)."""

    model_config = ConfigDict(extra="forbid")
    number: int = Field(ge=1, le=100000, description="The shot to correct")
    framing: Framing | None = Field(default=None, description="New framing (null clears it)")
    angle: Angle | None = Field(default=None, description="New camera angle (null clears it)")
    side: Side | None = Field(default=None, description="New side (null clears it)")


class ShotsPatch(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"shots": [{"number": 2, "side": "profile"}]}]}
    )
    shots: list[CameraAnglesPatch] = Field(
        min_length=1, max_length=500, description="Corrections, one per shot"
    )


class ShotAsset(BaseModel):
    asset_id: uuid.UUID = Field(description="The asset")
    instance_id: uuid.UUID | None = Field(description="The asset's Stage 8 instance in this scene, if linked")
    name: str = Field(description="Its name")
    type: AssetType = Field(description="Its type")
    how: Literal["listed", "named_in_action"] = Field(
        description="`listed` by the shot list, or `named_in_action` (found in the shot's action text)"
    )


class ShotOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [SHOT_EXAMPLE]})
    number: int = Field(description="The shot's number in the scene")
    camera: str = Field(description="The camera text as given")
    action: str = Field(description="The action text as given")
    listed: list[str] = Field(description="The names the shot list gave")
    camera_angles: CameraAnglesOut = Field(description="The angles read from `camera` (or set by a user)")
    assets: list[ShotAsset] = Field(description="The assets the shot shows")


class InstanceShots(BaseModel):
    """What a Stage 8 instance shows about the shots: the shot numbers it appears in and the camera
    angles of those shots."""

    instance_id: uuid.UUID | None = Field(
        description="The asset's Stage 8 instance in this scene (null when not linked)"
    )
    asset_id: uuid.UUID = Field(description="The asset")
    name: str = Field(description="Its name")
    shots: list[int] = Field(description="Numbers of the shots it appears in")
    camera_angles: list[ShotAngles] = Field(description="The angles of those shots")


class ShotList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [SHOT_LIST_EXAMPLE]})
    scene_id: uuid.UUID = Field(description="The scene")
    scene_number: int = Field(description="Its number (1-based)")
    shots: list[ShotOut] = Field(description="The scene's shots, in order")
    instances: list[InstanceShots] = Field(
        description="Per asset of the scene (and any asset a shot names): its shot numbers and angles"
    )
    unknown_names: list[str] = Field(description="Listed names that match no asset of the project")


class ViewsOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "asset_id": _AID,
                    "present": ["front"],
                    "missing": ["side", "back"],
                    "batch_id": BATCH_ID_EXAMPLE,
                    "jobs": [
                        {**JOB_EXAMPLE, "kind": "image.generate", "batch_id": BATCH_ID_EXAMPLE},
                        {**JOB_EXAMPLE, "kind": "image.generate", "batch_id": BATCH_ID_EXAMPLE},
                    ],
                }
            ]
        }
    )
    asset_id: uuid.UUID = Field(description="The asset")
    present: list[str] = Field(description="Views the carousel already holds")
    missing: list[str] = Field(description="Views started now")
    batch_id: uuid.UUID | None = Field(
        default=None,
        description="The batch holding the view jobs: follow it with `GET /v1/batches/{id}` (or cancel it "
        "as a whole); null when no view was missing and nothing started",
    )
    jobs: list[JobOut] = Field(description="One image job per missing view")


class SuggestionOut(BaseModel):
    id: uuid.UUID = Field(description="The suggestion's id (the `gid` of the accept route)")
    scene_id: uuid.UUID = Field(description="The scene it suggests the asset for")
    asset_id: uuid.UUID = Field(description="The suggested asset")
    name: str = Field(description="Its name")
    type: AssetType = Field(description="Its type")
    suggested_by: Literal["named_in_text", "continuity"] = Field(
        description="`named_in_text`: the scene's text names it; `continuity`: it is in the scenes "
        "around this one"
    )
    evidence: dict[str, Any] = Field(
        description="named_in_text: {terms, mentions, excerpt}; continuity: {before, after, location}"
    )


SUGGESTION_EXAMPLE: dict[str, Any] = {
    "id": "f0e1d2c3-b4a5-4968-8776-655443322110",
    "scene_id": _SID,
    "asset_id": "6d5c4b3a-2f1e-4d0c-9b8a-7f6e5d4c3b2a",
    "name": "Brass Telescope",
    "type": "prop",
    "suggested_by": "named_in_text",
    "evidence": {"terms": ["telescope"], "mentions": 1, "excerpt": "holding a BRASS TELESCOPE"},
}


class SuggestionList(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"scene_id": _SID, "items": [SUGGESTION_EXAMPLE]}]}
    )
    scene_id: uuid.UUID = Field(description="The scene")
    items: list[SuggestionOut] = Field(description="Assets the scene probably shows but does not list")


class AcceptOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "suggestion_id": "f0e1d2c3-b4a5-4968-8776-655443322110",
                    "instance_id": _IID,
                    "asset_id": "6d5c4b3a-2f1e-4d0c-9b8a-7f6e5d4c3b2a",
                }
            ]
        }
    )
    suggestion_id: uuid.UUID = Field(description="The accepted suggestion")
    instance_id: uuid.UUID = Field(description="The Stage 8 instance it created in the scene")
    asset_id: uuid.UUID = Field(description="The asset")


class ViewChoice(BaseModel):
    view: str = Field(description="The view chosen (`front`, `side`, `three-quarter`, `back`)")
    attempt_id: uuid.UUID = Field(description="The attempt that holds that view")
    image_url: str = Field(description="Signed, expiring URL of the image")
    thumbnail_url: str | None = Field(description="Signed URL of a small preview, when there is one")
    reason: str = Field(description="Why this view fits the shot, for a person")


class TimelineScene(BaseModel):
    scene_id: uuid.UUID = Field(description="The scene")
    number: int = Field(description="1-based, in script order")
    heading: str = Field(description="The scene heading as written")
    appears: bool = Field(description="The asset appears in this scene")
    instance_id: uuid.UUID | None = Field(
        description="Its Stage 8 instance in this scene (null when it does not appear)"
    )
    visual_state: str | None = Field(description="What differs in this scene (null when it does not appear)")
    image: SceneImage | None = Field(description="The image this scene shows of it")
    image_source: Literal["generated_here", "inherited", "master"] | None = Field(
        description="generated_here: this scene's own image; inherited: an earlier scene's image "
        "(see inherited_from_scene); master: the Stage 5 image"
    )
    inherited_from_scene: int | None = Field(description="For `inherited`: the scene whose image it is")
    stale: StaleMark | None = Field(description="Whether that image is stale, and why")
    shots: list[int] = Field(description="Numbers of the scene's shots it appears in")


class BrokenLink(BaseModel):
    instance_id: uuid.UUID = Field(description="The instance with the broken link")
    scene_number: int | None = Field(description="Its scene (null when the scene is gone)")
    problem: Literal["reference_deleted", "reference_not_in_chain", "master_missing", "scene_vanished"] = (
        Field(description="What is broken")
    )
    detail: str = Field(description="What is broken, for a person")
    fix: str = Field(description="What POST .../timeline/repair will do about it")


class Timeline(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [TIMELINE_EXAMPLE]})
    asset_id: uuid.UUID = Field(description="The asset")
    name: str = Field(description="Its name")
    type: AssetType = Field(description="Its type")
    master: SceneImage | None = Field(description="Its Stage 5 image (null when it has none)")
    scenes: list[TimelineScene] = Field(description="Every scene of the current script, in order")
    broken: list[BrokenLink] = Field(
        description="Reference links that point at nothing valid (repair them with POST .../timeline/repair)"
    )


class RepairOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "fixed": [
                        {
                            "instance_id": _IID,
                            "scene_number": 3,
                            "problem": "reference_deleted",
                            "detail": "The reference image of scene 3 was deleted",
                            "fix": "Back to the default reference (the master image)",
                        }
                    ],
                    "timeline": TIMELINE_EXAMPLE,
                }
            ]
        }
    )
    fixed: list[BrokenLink] = Field(description="The links repaired")
    timeline: Timeline = Field(description="The timeline after the repair")


class StyleContext(BaseModel):
    source: str | None = Field(description="`capsule` or `manual` (null: no style chosen)")
    name: str | None = Field(description="The style's name")
    prompt_fragment: str = Field(description="Added to every image prompt")
    negative_fragment: str = Field(description="What images must avoid")


class ContextAsset(BaseModel):
    asset_id: uuid.UUID = Field(description="The asset")
    instance_id: uuid.UUID = Field(description="Its Stage 8 instance in this scene")
    name: str = Field(description="Its name")
    type: AssetType = Field(description="Its type")
    required: bool = Field(description="It needs an image before Stage 8 can lock")
    summarised: bool = Field(default=False, description="Description cut to its first sentence to fit")
    description: str = Field(description="The asset's visual description")
    visual_state: str = Field(description="What differs in this scene")
    shots: list[int] = Field(description="Numbers of the scene's shots it appears in")
    camera_angles: list[ShotAngles] = Field(description="The angles of those shots")
    image_url: str | None = Field(description="Signed URL of the image the scene shows of it (null: none)")
    image: SceneImage | None = Field(description="That image, with where it comes from")
    stale: StaleMark | None = Field(description="Whether that image is stale, and why")
    view: ViewChoice | None = Field(description="With ?shot=: the asset's view matching the shot's side")


class PreviousState(BaseModel):
    asset_id: uuid.UUID = Field(description="The asset")
    name: str = Field(description="Its name")
    scene_number: int = Field(description="The earlier scene")
    visual_state: str = Field(description="Its visual state there")
    image_url: str | None = Field(description="Signed URL of its image there (null: none)")


class LeftOut(BaseModel):
    kind: Literal["asset", "previous_state"] = Field(description="What was cut: an asset or a previous state")
    name: str = Field(description="Whose")
    action: Literal["summarised", "dropped"] = Field(description="`summarised` (shortened) or `dropped`")
    tokens: int = Field(description="Tokens saved")


class SceneContext(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "scene_id": _SID,
                    "scene_number": 3,
                    "heading": "INT. LIGHTHOUSE - STAIRS - CONTINUOUS",
                    "location": "LIGHTHOUSE - STAIRS",
                    "int_ext": "INT",
                    "time_of_day": "CONTINUOUS",
                    "aspect_ratio": "16:9",
                    "style": {
                        "source": "capsule",
                        "name": "Film noir",
                        "prompt_fragment": "high-contrast black and white, hard key light",
                        "negative_fragment": "colour",
                    },
                    "shot": None,
                    "assets": [
                        {
                            "asset_id": _AID,
                            "instance_id": _IID,
                            "name": "Mara",
                            "type": "character",
                            "required": True,
                            "summarised": False,
                            "description": "A woman in her sixties, weathered face, a yellow oilskin coat.",
                            "visual_state": "Soaked by the storm, hair loose",
                            "shots": [1],
                            "camera_angles": [SHOT_ANGLES_EXAMPLE],
                            "image_url": MASTER_IMAGE_EXAMPLE["image_url"],
                            "image": MASTER_IMAGE_EXAMPLE,
                            "stale": None,
                            "view": None,
                        }
                    ],
                    "previous_scene": 2,
                    "previous_states": [],
                    "token_estimate": 412,
                    "max_tokens": None,
                    "left_out": [],
                    "tokens_left_out": 0,
                }
            ]
        }
    )
    scene_id: uuid.UUID = Field(description="The scene")
    scene_number: int = Field(description="Its number (1-based)")
    heading: str = Field(description="The scene heading as written")
    location: str = Field(description="The place named by the heading")
    int_ext: str | None = Field(description="`INT`, `EXT`, `INT/EXT`, or null")
    time_of_day: str | None = Field(description="E.g. `NIGHT`, `DAY`; null when not given")
    aspect_ratio: str = Field(description="The project's frame, e.g. `16:9`")
    style: StyleContext | None = Field(description="The project's style (null: none chosen)")
    shot: ShotOut | None = Field(description="With ?shot=: that shot")
    assets: list[ContextAsset] = Field(description="The scene's assets, with their state and images")
    previous_scene: int | None = Field(description="The scene before it (null for the first)")
    previous_states: list[PreviousState] = Field(description="The assets' visual states in earlier scenes")
    token_estimate: int = Field(description="Estimated tokens of this context (about 4 characters each)")
    max_tokens: int | None = Field(description="The token budget asked for (?max_tokens=), if any")
    left_out: list[LeftOut] = Field(description="What was cut to fit the budget")
    tokens_left_out: int = Field(description="Tokens cut to fit the budget")


InstanceShots.model_rebuild()
