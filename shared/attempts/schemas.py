"""Request and response shapes of the attempts carousel, generation, uploads and describe-from-image."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.jobs.schemas import JOB_EXAMPLE, JobOut

View = Literal["front", "side", "three-quarter", "back"]
AttemptSource = Literal["generated", "uploaded", "cloned"]
DescribeMode = Literal["keep", "replace", "merge"]

ATTEMPT_EXAMPLE: dict[str, Any] = {
    "id": "8b7a6c5d-4e3f-4a2b-9c1d-0e9f8a7b6c5d",
    "asset_id": "3a9b8c7d-6e5f-4a3b-2c1d-0e9f8a7b6c5d",
    "attempt_number": 2,
    "source": "generated",
    "selected": True,
    "view": "front",
    "image_url": "http://127.0.0.1:8000/v1/files/projects/5f0e8a8e/attempts/8b7a6c5d.png?exp=1796050000&sig=3f9a",
    "thumbnail_url": "http://127.0.0.1:8000/v1/files/projects/5f0e8a8e/attempts/8b7a6c5d.thumb.webp?exp=1796050000&sig=8c1d",
    "width": 1024,
    "height": 576,
    "mime": "image/png",
    "bytes": 412877,
    "provider": "offline",
    "model": "offline-pillow-1",
    "cost_usd": 0.0,
    "prompt": "MARA, a waitress in her sixties in a yellow oilskin coat. Front view. Film noir.",
    "style": {
        "source": "capsule",
        "capsule_id": "1d7f5a0e-2b3c-4d5e-8f90-a1b2c3d4e5f6",
        "name": "Film noir",
        "prompt_fragment": "high-contrast black and white, hard key light",
        "negative_fragment": "colour",
        "palette": [],
    },
    "job_id": "0b9c7a52-3f1e-4c5a-9d2e-8f6b1a4c7e10",
    "created_at": "2026-11-30T14:05:39.870Z",
    "stale": False,
}


class GenerateIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"view": "three-quarter"}]})
    view: View | None = Field(default=None, description="Characters only: the angle to draw")


class AttemptOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [ATTEMPT_EXAMPLE]})
    id: uuid.UUID = Field(description="The attempt's id (the `tid` of attempt routes)")
    asset_id: uuid.UUID = Field(description="The asset whose carousel holds it")
    attempt_number: int = Field(description="1 for the asset's first image, one more for each after")
    source: AttemptSource = Field(description="Generated, uploaded by the user, or cloned from the library")
    selected: bool = Field(description="The asset's image (at most one attempt of an asset is)")
    view: View | None = Field(description="The angle drawn (characters), when one was asked for")
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
    job_id: uuid.UUID | None = Field(description="The job that made it")
    created_at: datetime = Field(description="When it was added (UTC)")
    stale: bool = Field(
        default=False,
        description="The asset's description (its image prompt, when one is set) changed after this image "
        "was made from it (`prompt` is the text it was made from). Selecting this image (also re-selecting "
        "it when it is already selected) accepts it for the current text and clears the mark until the text "
        "changes again; an image generated from the current text is not stale. Nothing is deleted. The "
        "Stage 8 carousel, timeline and scene context give the same mark as an object (`StaleMark`).",
    )


class AttemptList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [ATTEMPT_EXAMPLE], "cap": 4}]})
    items: list[AttemptOut] = Field(description="Newest first")
    cap: int = Field(description="At most this many attempts are kept per asset")


class GenerateAllIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"dry_run": True}]})
    dry_run: bool = Field(default=False, description="Only say what would run and what it would cost")


PLANNED_EXAMPLE: dict[str, Any] = {
    "asset_id": "3a9b8c7d-6e5f-4a3b-2c1d-0e9f8a7b6c5d",
    "name": "MARA",
    "type": "character",
    "width": 1024,
    "height": 576,
}


class PlannedImage(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [PLANNED_EXAMPLE]})
    asset_id: uuid.UUID = Field(description="The asset that gets an image")
    name: str = Field(description="Its name")
    type: str = Field(description="Its type")
    width: int = Field(description="Pixels of the image to make")
    height: int = Field(description="Pixels of the image to make")


class GenerateAllOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "dry_run": False,
                    "provider": "openai",
                    "model": "gpt-image-1",
                    "count": 1,
                    "price_per_image_usd": 0.04,
                    "estimated_cost_usd": 0.04,
                    "assets": [PLANNED_EXAMPLE],
                    "jobs": [{**JOB_EXAMPLE, "kind": "image.generate"}],
                }
            ]
        }
    )
    dry_run: bool = Field(description="True: nothing was started")
    provider: str = Field(description="The image provider that will make them")
    model: str = Field(description="The provider's model")
    count: int = Field(description="Images to make")
    price_per_image_usd: float = Field(description="The provider's price of one image")
    estimated_cost_usd: float = Field(description="`count` x `price_per_image_usd`")
    assets: list[PlannedImage] = Field(description="Each active asset without an image")
    jobs: list[JobOut] = Field(default_factory=list, description="Empty on a dry run")


class DescribeApply(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"job_id": "0b9c7a52-3f1e-4c5a-9d2e-8f6b1a4c7e10", "mode": "merge"}]},
    )
    job_id: uuid.UUID = Field(description="A succeeded `attempt.describe` job of this asset")
    mode: DescribeMode = Field(
        description="Which of the job's descriptions to write: `keep` the current one, `replace` it with "
        "what the image shows, or `merge` the two"
    )


class ImageDescription(BaseModel):
    """What the vision model returns (the tool input schema it is forced to fill)."""

    description: str = Field(
        description="3-5 sentences on what the image shows: appearance, colours, materials, clothing, "
        "pose or layout. Only what is visible."
    )
    script_details_missing: list[str] = Field(
        default_factory=list,
        description="Facts from the current description that the image does not show or contradicts, "
        "each as a short phrase worth keeping in the description.",
    )
    merged: str = Field(
        description="One description of 3-6 sentences combining the current description with what the "
        "image shows; where they disagree, the image wins."
    )
