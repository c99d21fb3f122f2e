"""Starting carousel work from the API: checks that answer at once, then a job for the slow part.

Nothing here decodes an image or calls a provider (the API stays thin and fast): an upload is only
size-checked, sniffed from its first bytes and its header read (dimensions, without decoding a
pixel), then parked in storage for the imagegen worker.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.assets.service import require_asset
from shared.attempts import repository as repo
from shared.attempts.schemas import DescribeApply, GenerateAllOut, GenerateIn, PlannedImage, View
from shared.attempts.service import plan_insert
from shared.attempts.tasks import (
    AttemptRef,
    GeneratePayload,
    UploadPayload,
    attempt_describe,
    image_generate,
    image_upload,
)
from shared.config import Settings
from shared.errors import Conflict, NotFound, PayloadTooLarge, ValidationFailed
from shared.images.processing import probe_header
from shared.images.sizing import size_for
from shared.jobs.batches import create_batch
from shared.jobs.kinds import ACTIVE_STATUSES
from shared.jobs.schemas import JOB_EXAMPLE, JobOut
from shared.jobs.service import job_out
from shared.jobs.starter import JobStarter
from shared.models import AssetAttempt, Job, Project, ProjectAsset
from shared.models.job import Batch
from shared.projects.stage5 import ensure_unlocked, require_style
from shared.storage.base import Storage

OnCap = Literal["evict", "refuse"]


EVICTED_EXAMPLE: dict[str, Any] = {
    "attempt_id": "6e2f9b1c-4a7d-4c3e-9b8a-1f0d2e3c4b57",
    "attempt_number": 1,
    "selected": False,
}


class EvictedImage(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [EVICTED_EXAMPLE]})

    attempt_id: uuid.UUID = Field(description="The image (attempt) that will be removed")
    attempt_number: int = Field(description="Its number in the asset's carousel")
    selected: bool = Field(description="Only ever true when the cap is 1")


class CapOutlook(BaseModel):
    """What the new image will do to the carousel, computed when the job is accepted."""

    cap: int = Field(description="At most this many images are kept per asset")
    attempts: int = Field(description="Images the asset has now")
    pending: int = Field(description="Other image jobs of this asset queued or running before this one")
    evicts: list[EvictedImage] = Field(
        description="The images this job will remove to stay at the cap (oldest unselected first), "
        "if nothing else changes the carousel first; empty: none. Pending jobs may add images that "
        "it would evict too; those are not known yet and not listed."
    )


class AttemptJobEnvelope(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "job": {**JOB_EXAMPLE, "kind": "image.generate"},
                    "eviction": {"cap": 4, "attempts": 4, "pending": 0, "evicts": [EVICTED_EXAMPLE]},
                }
            ]
        }
    )

    job: JobOut = Field(description="The image job, queued")
    eviction: CapOutlook = Field(description="What the new image will do to the asset's carousel")


class GenerateRequest(GenerateIn):
    on_cap: OnCap = Field(
        default="evict",
        description="At the cap: `evict` the oldest unselected image (default) or `refuse` with "
        "409 `attempt_cap_reached`, now or when the image is ready",
    )


async def cap_outlook(
    session: AsyncSession, *, project_id: uuid.UUID, asset_id: uuid.UUID, cap: int
) -> CapOutlook:
    """The worker's eviction (``add_attempt``: ``repo.eviction_order``, down to ``cap - 1`` before
    inserting) applied to the carousel as it will be when this job's turn comes: every pending
    image job of the asset adds one (selected) image first, which unselects the current one, so
    the existing images then go oldest first whatever their selection."""
    existing: Sequence[AssetAttempt] = await repo.eviction_order(session, asset_id)
    pending = int(
        await session.scalar(
            select(func.count())
            .select_from(Job)
            .where(
                Job.project_id == project_id,  # (ix_jobs_project_kind)
                Job.kind.in_(repo.IMAGE_JOB_KINDS),
                Job.status.in_(ACTIVE_STATUSES),
                Job.payload["asset_id"].astext == str(asset_id),
            )
        )
        or 0
    )
    order = list(existing) if pending == 0 else sorted(existing, key=lambda a: a.attempt_number)
    count = max(0, len(existing) + pending - cap + 1)
    evicts = [
        EvictedImage(attempt_id=a.id, attempt_number=a.attempt_number, selected=a.selected and pending == 0)
        for a in order[:count]
    ]
    return CapOutlook(cap=cap, attempts=len(existing), pending=pending, evicts=evicts)


def _refuse_at_cap(outlook: CapOutlook) -> None:
    if outlook.attempts + outlook.pending >= outlook.cap:
        raise Conflict(
            f"The asset already has {outlook.cap} images (or will have once its pending jobs finish): "
            "delete one first, or send on_cap=evict",
            code="attempt_cap_reached",
            details={"cap": outlook.cap, "attempts": outlook.attempts, "pending": outlook.pending},
        )


async def start_generation(
    jobs: JobStarter, *, project: Project, asset_id: uuid.UUID, view: View | None, on_cap: OnCap = "evict"
) -> tuple[Job, CapOutlook]:
    ensure_unlocked(project)
    asset = await require_asset(jobs.session, project, asset_id)
    if view is not None and asset.type != "character":
        raise ValidationFailed("Only characters can be drawn from a chosen view", code="view_not_allowed")
    await require_style(jobs.session, project)
    if view is not None:
        # A view has a slot of its own (see attempts.service.plan_insert): the cap is not involved,
        # and the image it may replace is an older unselected one of the same view.
        existing = await repo.eviction_order(jobs.session, asset.id)
        replaced, _ = plan_insert(existing, cap=jobs.settings.attempt_cap, view=view)
        outlook = CapOutlook(
            cap=jobs.settings.attempt_cap,
            attempts=len(existing),
            pending=0,
            evicts=[
                EvictedImage(attempt_id=a.id, attempt_number=a.attempt_number, selected=False)
                for a in replaced
            ],
        )
    else:
        outlook = await cap_outlook(
            jobs.session, project_id=project.id, asset_id=asset.id, cap=jobs.settings.attempt_cap
        )
        if on_cap == "refuse":
            _refuse_at_cap(outlook)
    job = await jobs.start(
        image_generate, project=project, payload=GeneratePayload(asset_id=asset.id, view=view, on_cap=on_cap)
    )
    return job, outlook


async def start_upload(
    jobs: JobStarter,
    storage: Storage,
    *,
    project: Project,
    asset_id: uuid.UUID,
    data: bytes,
    on_cap: OnCap = "evict",
) -> tuple[Job, CapOutlook]:
    """Refuse what can be refused from the bytes' length, first bytes and header, park the rest
    in storage under ``staging/`` and leave decoding to the imagegen worker."""
    settings = jobs.settings
    ensure_unlocked(project)
    asset = await require_asset(jobs.session, project, asset_id)
    if len(data) > settings.max_upload_bytes:
        raise PayloadTooLarge(
            f"The image is over {settings.max_upload_bytes} bytes",
            code="image_too_large",
            details={"limit": settings.max_upload_bytes},
        )
    # The real format and size from the header (no pixel decoded), refused before anything is
    # stored; the file name and the client's content type are not trusted. The worker still decodes
    # under the same limits: a file can be corrupt past its header.
    probe_header(data, max_pixels=settings.upload_max_pixels)
    outlook = await cap_outlook(
        jobs.session, project_id=project.id, asset_id=asset.id, cap=settings.attempt_cap
    )
    if on_cap == "refuse":
        _refuse_at_cap(outlook)
    key = f"staging/{uuid.uuid4()}"
    # Before commit: if the commit fails the object is an orphan for the sweep; the other order
    # could leave a job pointing at nothing. The sweep keeps staging keys of queued/running jobs.
    await storage.put(key, data, content_type="application/octet-stream")
    job = await jobs.start(
        image_upload,
        project=project,
        payload=UploadPayload(asset_id=asset.id, staging_key=key, on_cap=on_cap),
    )
    return job, outlook


async def start_describe(
    jobs: JobStarter, *, project: Project, asset_id: uuid.UUID, attempt_id: uuid.UUID
) -> Job:
    # Describing changes nothing until the result is applied, so a locked stage may still ask.
    await require_asset(jobs.session, project, asset_id)
    if await repo.get(jobs.session, asset_id=asset_id, attempt_id=attempt_id) is None:
        raise NotFound("Attempt not found")
    return await jobs.start(
        attempt_describe, project=project, payload=AttemptRef(asset_id=asset_id, attempt_id=attempt_id)
    )


async def generate_all(
    jobs: JobStarter, *, project: Project, dry_run: bool
) -> tuple[GenerateAllOut, Batch | None]:
    """One image.generate job per active asset that has no image yet (none pending either), all in
    one batch (None on a dry run)."""
    settings = jobs.settings
    ensure_unlocked(project)
    await require_style(jobs.session, project)
    assets = await repo.assets_needing_images(jobs.session, project.id)
    offline = settings.image_provider == "offline"
    price = 0.0 if offline else settings.image_price_per_image_usd
    out = GenerateAllOut(
        dry_run=dry_run,
        provider=settings.image_provider,
        model="offline-pillow-1" if offline else settings.image_model,
        count=len(assets),
        price_per_image_usd=price,
        estimated_cost_usd=round(price * len(assets), 6),
        assets=[_planned(a, project, settings) for a in assets],
    )
    if dry_run:
        return out, None
    batch = await create_batch(
        jobs.session, kind="generate-all", owner_id=jobs.owner_id, project_id=project.id
    )
    started = await jobs.start_many(
        image_generate,
        project=project,
        payloads=[GeneratePayload(asset_id=asset.id) for asset in assets],
        batch=batch,
    )
    out.jobs = [job_out(job) for job in started]
    return out, batch


def _planned(asset: ProjectAsset, project: Project, settings: Settings) -> PlannedImage:
    width, height = size_for(asset.type, project.aspect_ratio, base=settings.image_base_side)
    return PlannedImage(asset_id=asset.id, name=asset.name, type=asset.type, width=width, height=height)


async def apply_description(
    session: AsyncSession, project: Project, asset_id: uuid.UUID, data: DescribeApply
) -> ProjectAsset:
    """Write the text the user chose from a finished describe job of this asset."""
    ensure_unlocked(project)
    asset = await require_asset(session, project, asset_id, for_update=True)
    job = await session.get(Job, data.job_id)
    if job is None or job.project_id != project.id or job.owner_id != project.owner_id:
        raise NotFound("Job not found")
    if job.kind != attempt_describe.name or attempt_describe.read_payload(job.payload).asset_id != asset.id:
        raise ValidationFailed("That job is not a describe job of this asset", code="not_a_describe_job")
    if job.status != "succeeded":
        code = "describe_pending" if job.status in ("queued", "running") else "describe_failed"
        raise Conflict(f"The describe job is {job.status}", code=code, details={"status": job.status})
    result = attempt_describe.read_result(job.result)
    text = asset.description
    if result is not None:
        o = result.options
        text = {"keep": o.keep, "replace": o.replace, "merge": o.merge}[data.mode]
    if text != asset.description:
        now = datetime.now(UTC)
        asset.description = text
        asset.description_edited_at = now
        asset.described_at = asset.described_at or now
        asset.version += 1
        await session.flush()
    return asset
