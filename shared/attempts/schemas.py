"""Request and response shapes of the attempts carousel, generation, uploads and describe-from-image."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.jobs.schemas import JobOut

View = Literal["front", "side", "three-quarter", "back"]
AttemptSource = Literal["generated", "uploaded", "cloned"]
DescribeMode = Literal["keep", "replace", "merge"]


class GenerateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    view: View | None = Field(default=None, description="Characters only: the angle to draw")


class AttemptOut(BaseModel):
    id: uuid.UUID
    asset_id: uuid.UUID
    attempt_number: int
    source: AttemptSource
    selected: bool
    view: View | None
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
    job_id: uuid.UUID | None
    created_at: datetime
    stale: bool = Field(
        default=False,
        description="The asset's description changed after this image was made from it (`prompt` is the "
        "text it was made from); generating again or choosing a fresh image moves on. Nothing is deleted.",
    )


class AttemptList(BaseModel):
    items: list[AttemptOut] = Field(description="Newest first")
    cap: int = Field(description="At most this many attempts are kept per asset")


class GenerateAllIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    dry_run: bool = Field(default=False, description="Only say what would run and what it would cost")


class PlannedImage(BaseModel):
    asset_id: uuid.UUID
    name: str
    type: str
    width: int
    height: int


class GenerateAllOut(BaseModel):
    dry_run: bool
    provider: str
    model: str
    count: int
    price_per_image_usd: float
    estimated_cost_usd: float
    assets: list[PlannedImage]
    jobs: list[JobOut] = Field(default_factory=list, description="Empty on a dry run")


class DescribeApply(BaseModel):
    model_config = ConfigDict(extra="forbid")
    job_id: uuid.UUID = Field(description="A succeeded `attempt.describe` job of this asset")
    mode: DescribeMode


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
