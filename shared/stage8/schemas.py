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

_PID = "5f0e8a8e-9a57-4a0e-8d1c-2b7d6f3e9a41"
_AID = "3a9b8c7d-6e5f-4a3b-2c1d-0e9f8a7b6c5d"
_SID = "c4d5e6f7-a8b9-4c0d-9e1f-2a3b4c5d6e7f"
_IID = "e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a5b"
_URL = f"http://127.0.0.1:8000/v1/files/projects/{_PID}/attempts/8b7a6c5d.png?exp=1796050000&sig=3f9a"
_THUMB = (
    f"http://127.0.0.1:8000/v1/files/projects/{_PID}/attempts/8b7a6c5d.thumb.webp?exp=1796050000&sig=8c1d"
)
MASTER_IMAGE_EXAMPLE: dict[str, Any] = {
    "kind": "master",
    "scene_number": None,
    "attempt_id": "8b7a6c5d-4e3f-4a2b-9c1d-0e9f8a7b6c5d",
    "image_url": _URL,
    "thumbnail_url": _THUMB,
}
SCENE_REF_EXAMPLE: dict[str, Any] = {
    "id": _SID,
    "number": 3,
    "heading": "INT. LIGHTHOUSE - STAIRS - CONTINUOUS",
}
INSTANCE_EXAMPLE: dict[str, Any] = {
    "id": _IID,
    "asset_id": _AID,
    "scene_id": _SID,
    "scene_number": 3,
    "name": "Mara",
    "type": "character",
    "deferred": False,
    "description": "A woman in her sixties, weathered face, a yellow oilskin coat.",
    "visual_state": "Soaked by the storm, hair loose",
    "use_master_as_is": False,
    "reference": MASTER_IMAGE_EXAMPLE,
    "reference_pinned": False,
    "image": None,
    "attempt_count": 0,
    "required": True,
    "generate_later": False,
    "camera_angle": "low angle",
    "shots": [1],
    "camera_angles": [{"shot": 1, "framing": "close-up", "angle": "low", "side": "three-quarter"}],
    "version": 2,
}


class SceneImage(BaseModel):
    """An image a scene can start from or show: the asset's master image, or an attempt of one
    scene's instance (``scene_number`` says which scene; null for the master)."""

    model_config = ConfigDict(json_schema_extra={"examples": [MASTER_IMAGE_EXAMPLE]})
    kind: ImageKind = Field(description="`master`: the asset's Stage 5 image; `instance`: a scene's image")
    scene_number: int | None = Field(description="The scene whose image it is (null for the master)")
    attempt_id: uuid.UUID = Field(description="The attempt that holds the image")
    image_url: str = Field(description="Signed, expiring URL of the image (no token needed)")
    thumbnail_url: str | None = Field(description="Signed URL of a small preview, when there is one")


class ShotAngles(BaseModel):
    """One shot's camera, in the vocabulary of ``shared/continuity/angles.py``."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"shot": 1, "framing": "close-up", "angle": "low", "side": "three-quarter"}]
        }
    )
    shot: int = Field(description="The shot's number")
    framing: Framing | None = Field(description="Framing of that shot (null: not said)")
    angle: Angle | None = Field(description="Camera angle of that shot (null: not said)")
    side: Side | None = Field(description="Side shown in that shot (null: not said)")


class InstanceOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [INSTANCE_EXAMPLE]})
    id: uuid.UUID = Field(description="The instance's id (the `iid` of instance routes)")
    asset_id: uuid.UUID = Field(description="The asset it is an instance of")
    scene_id: uuid.UUID = Field(description="The scene it appears in")
    scene_number: int = Field(description="That scene's number (1-based)")
    name: str = Field(description="The asset's name")
    type: AssetType = Field(description="The asset's type")
    deferred: bool = Field(description="The asset is set aside (deferred in Stage 5)")
    description: str = Field(description="The asset's description: what an imageless asset carries")
    visual_state: str = Field(description="What differs in this scene; empty until written")
    use_master_as_is: bool = Field(description="The scene shows the reference image as it is, no new image")
    reference: SceneImage | None = Field(description="The image this scene starts from")
    reference_pinned: bool = Field(description="True when the user chose the reference (else the default)")
    image: SceneImage | None = Field(
        description="The effective image: the own selected attempt, or the reference when use_master_as_is"
    )
    attempt_count: int = Field(description="Images in its own carousel")
    required: bool = Field(description="Blocks the Stage 8 lock while there is no effective image")
    generate_later: bool = Field(description="Marked to be generated later (it does not block the lock)")
    camera_angle: str | None = Field(description="Camera angle for its image, e.g. `low angle`")
    shots: list[int] = Field(
        default_factory=list, description="Shot numbers of the scene's shot list this asset appears in"
    )
    camera_angles: list[ShotAngles] = Field(
        default_factory=list, description="The camera of each of those shots, parsed into the vocabulary"
    )
    version: int = Field(description="Bumped by each change; send it back in PATCH to detect conflicts")


class SceneRef(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [SCENE_REF_EXAMPLE]})
    id: uuid.UUID = Field(description="The scene's id (the `sid` of scene routes)")
    number: int = Field(description="1-based, in script order")
    heading: str = Field(description="The scene heading as written")


class InstanceList(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"scene": SCENE_REF_EXAMPLE, "items": [INSTANCE_EXAMPLE]}]}
    )
    scene: SceneRef = Field(description="The scene")
    items: list[InstanceOut] = Field(description="Its asset instances")


class InstancePatch(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"visual_state": "Soaked by the storm, hair loose", "camera_angle": "low angle", "version": 2}
            ]
        },
    )
    visual_state: str | None = Field(default=None, max_length=8000, description="What differs in this scene")
    use_master_as_is: bool | None = Field(
        default=None, description="Show the reference image as it is (no image of its own)"
    )
    required: bool | None = Field(default=None, description="Send null to go back to the default rule")
    generate_later: bool | None = Field(default=None, description="Mark it to be generated later")
    camera_angle: str | None = Field(default=None, max_length=80, description="Camera angle for its image")
    version: int | None = Field(
        default=None, description="Send the version you read to detect concurrent edits"
    )


class NewSceneAsset(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"name": "Broken oar", "type": "prop", "description": "Snapped in two"}]
        },
    )
    name: str = Field(min_length=1, max_length=200, description="The new asset's name")
    type: AssetType = Field(description="What kind of asset it is")
    description: str = Field(default="", max_length=8000, description="Visual description for image prompts")


class AddToScene(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"asset_id": _AID},
                {"new": {"name": "Broken oar", "type": "prop", "description": "Snapped in two"}},
            ]
        },
    )
    asset_id: uuid.UUID | None = Field(default=None, description="An existing asset of the project")
    new: NewSceneAsset | None = Field(default=None, description="A new scene-specific asset (source manual)")

    @model_validator(mode="after")
    def _exactly_one(self) -> AddToScene:
        if (self.asset_id is None) == (self.new is None):
            raise ValueError("send exactly one of asset_id and new")
        return self


class UseMasterIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"instance_ids": [_IID]}]})
    instance_ids: list[uuid.UUID] = Field(
        min_length=1, max_length=500, description="Instances of this scene to show their reference as it is"
    )


class ReferenceIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"attempt_id": "8b7a6c5d-4e3f-4a2b-9c1d-0e9f8a7b6c5d"}, {"attempt_id": None}]
        },
    )
    attempt_id: uuid.UUID | None = Field(
        description="An image of the reference chain; null goes back to the default reference"
    )


CHAIN_ITEM_EXAMPLE: dict[str, Any] = {
    "kind": "master",
    "scene_id": None,
    "scene_number": None,
    "heading": None,
    "attempt_id": "8b7a6c5d-4e3f-4a2b-9c1d-0e9f8a7b6c5d",
    "attempt_number": 2,
    "selected": True,
    "image_url": _URL,
    "thumbnail_url": _THUMB,
    "default": True,
    "current": True,
}


class ChainItem(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [CHAIN_ITEM_EXAMPLE]})
    kind: ImageKind = Field(description="`master`: the asset's Stage 5 image; `instance`: an earlier scene's")
    scene_id: uuid.UUID | None = Field(description="The scene whose image it is (null for the master)")
    scene_number: int | None = Field(description="That scene's number (null for the master)")
    heading: str | None = Field(description="That scene's heading (null for the master)")
    attempt_id: uuid.UUID = Field(description="The attempt that holds the image")
    attempt_number: int = Field(description="Its number in its carousel")
    selected: bool = Field(description="The selected image of its scene (or the master)")
    image_url: str = Field(description="Signed, expiring URL of the image (no token needed)")
    thumbnail_url: str | None = Field(description="Signed URL of a small preview, when there is one")
    default: bool = Field(description="What this scene starts from when the user has not chosen")
    current: bool = Field(description="What this scene starts from now")


class ReferenceChain(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [CHAIN_ITEM_EXAMPLE],
                    "default_attempt_id": "8b7a6c5d-4e3f-4a2b-9c1d-0e9f8a7b6c5d",
                    "current": MASTER_IMAGE_EXAMPLE,
                }
            ]
        }
    )
    items: list[ChainItem] = Field(
        description="Oldest first: the master, then earlier scenes in script order"
    )
    default_attempt_id: uuid.UUID | None = Field(
        description="The image this scene starts from when the user has not chosen (null: none yet)"
    )
    current: SceneImage | None = Field(description="The image this scene starts from now")


class ReferenceUsed(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"kind": "master", "attempt_id": "8b7a6c5d-4e3f-4a2b-9c1d-0e9f8a7b6c5d", "scene_number": None}
            ]
        }
    )
    kind: ImageKind = Field(description="`master` or an earlier scene's `instance` image")
    attempt_id: uuid.UUID = Field(description="The attempt that held the reference image")
    scene_number: int | None = Field(description="Its scene (null for the master)")


class StaleMark(BaseModel):
    """Whether an image still shows what its text says now: in the Stage 8 carousel, the timeline and
    the scene context."""

    stale: bool = Field(description="The image no longer matches what its prompt would say now")
    made_from: str | None = Field(description="The prompt the image was made from, when it is stale")
    reason: str | None = Field(description="Why it is stale, for a person (null when it is not)")


INSTANCE_ATTEMPT_EXAMPLE: dict[str, Any] = {
    "id": "9c8b7a6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
    "instance_id": _IID,
    "attempt_number": 1,
    "source": "generated",
    "selected": True,
    "image_url": _URL,
    "thumbnail_url": _THUMB,
    "width": 1024,
    "height": 576,
    "mime": "image/png",
    "bytes": 398211,
    "provider": "offline",
    "model": "offline-pillow-1",
    "cost_usd": 0.0,
    "prompt": "Mara, soaked by the storm, hair loose. Low angle. Film noir.",
    "style": {"source": "capsule", "name": "Film noir"},
    "reference": {
        "kind": "master",
        "attempt_id": "8b7a6c5d-4e3f-4a2b-9c1d-0e9f8a7b6c5d",
        "scene_number": None,
    },
    "job_id": "0b9c7a52-3f1e-4c5a-9d2e-8f6b1a4c7e10",
    "created_at": "2026-11-30T15:10:03.000Z",
    "stale": {"stale": False, "made_from": None, "reason": None},
}


class InstanceAttemptOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [INSTANCE_ATTEMPT_EXAMPLE]})
    id: uuid.UUID = Field(description="The attempt's id (the `tid` of attempt routes)")
    instance_id: uuid.UUID = Field(description="The instance whose carousel holds it")
    attempt_number: int = Field(description="1 for the instance's first image, one more for each after")
    source: InstanceAttemptSource = Field(
        description="Generated, uploaded by the user, or a copy of the master image"
    )
    selected: bool = Field(description="The instance's image (at most one attempt of an instance is)")
    image_url: str = Field(description="Signed, expiring URL of the image (no token needed)")
    thumbnail_url: str | None = Field(description="Signed URL of a small preview, when there is one")
    width: int = Field(description="Pixels")
    height: int = Field(description="Pixels")
    mime: str = Field(description="`image/png`, `image/jpeg` or `image/webp`")
    bytes: int = Field(description="Size of the stored image")
    provider: str | None = Field(description="Image provider that made it (null for uploads)")
    model: str | None = Field(description="The provider's model (null for uploads)")
    cost_usd: float = Field(description="What making it cost")
    prompt: str | None = Field(description="The prompt it was generated from (null for uploads)")
    style: dict[str, Any] | None = Field(description="The project's style when it was made")
    reference: ReferenceUsed | None = Field(description="The reference image this attempt was made from")
    job_id: uuid.UUID | None = Field(description="The job that made it")
    created_at: datetime = Field(description="When it was added (UTC)")
    stale: StaleMark = Field(
        description="`stale` when the asset's description or the instance's visual state changed after "
        "this image was made from them (`made_from`: its prompt, `reason`: `description_changed` or "
        "`visual_state_changed`). Selecting the image accepts it for the current text and clears its mark "
        "until that text changes again; a new image made from the current text is not stale, and becomes "
        "the scene's image once selected. The text compared is the asset's image prompt when one is set, "
        "else its description. Uploads and master copies are never stale. "
        "Nothing is deleted."
    )


class InstanceAttemptList(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"items": [INSTANCE_ATTEMPT_EXAMPLE], "cap": 4}]}
    )
    items: list[InstanceAttemptOut] = Field(description="Newest first")
    cap: int = Field(description="At most this many attempts are kept per instance")


BLOCKER_EXAMPLE: dict[str, Any] = {"instance_id": _IID, "asset_id": _AID, "name": "Mara", "type": "character"}


class Blocker(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [BLOCKER_EXAMPLE]})
    instance_id: uuid.UUID = Field(description="The required instance without an image")
    asset_id: uuid.UUID = Field(description="Its asset")
    name: str = Field(description="The asset's name")
    type: AssetType = Field(description="The asset's type")


class SceneBlockers(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "scene_id": _SID,
                    "number": 3,
                    "heading": "INT. LIGHTHOUSE - STAIRS - CONTINUOUS",
                    "blockers": [BLOCKER_EXAMPLE],
                }
            ]
        }
    )
    scene_id: uuid.UUID = Field(description="The scene")
    number: int = Field(description="1-based, in script order")
    heading: str = Field(description="The scene heading as written")
    blockers: list[Blocker] = Field(description="Its required instances without an image")


class StaleInstance(BaseModel):
    """An instance whose scene is gone from the current script: kept with its images, never blocking."""

    instance_id: uuid.UUID = Field(description="The instance")
    asset_id: uuid.UUID = Field(description="Its asset")
    name: str = Field(description="The asset's name")
    last_scene_number: int = Field(description="The number its scene had")
    last_heading: str = Field(description="The heading its scene had")
    attempt_count: int = Field(description="Images it keeps")


class Readiness(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "stage": 8,
                    "locked_at": None,
                    "stage5_locked": True,
                    "ready": False,
                    "instances": 24,
                    "required": 9,
                    "blocking": 1,
                    "scenes": [
                        {
                            "scene_id": _SID,
                            "number": 3,
                            "heading": "INT. LIGHTHOUSE - STAIRS - CONTINUOUS",
                            "blockers": [BLOCKER_EXAMPLE],
                        }
                    ],
                    "stale": [],
                }
            ]
        }
    )
    stage: Literal[8] = Field(default=8, description="Always 8")
    locked_at: datetime | None = Field(description="When Stage 8 was locked; null while it is open")
    stage5_locked: bool = Field(description="Stage 5 is locked (Stage 8 can only lock after it)")
    ready: bool = Field(description="Stage 5 locked and no blockers")
    instances: int = Field(description="Asset instances over all scenes")
    required: int = Field(description="Of those, the ones that need an image")
    blocking: int = Field(description="Required instances without an image: each blocks the lock")
    scenes: list[SceneBlockers] = Field(description="Scenes with blockers, in script order")
    stale: list[StaleInstance] = Field(description="Instances whose scene is gone from the current script")
