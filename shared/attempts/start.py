"""Starting carousel work from the API: checks that answer at once, then a job for the slow part.

Nothing here decodes an image or calls a provider (the API stays thin and fast): an upload is only
size-checked and sniffed from its first bytes, then parked in storage for the imagegen worker.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from shared.assets.service import require_asset
from shared.attempts import repository as repo
from shared.attempts.schemas import DescribeApply, GenerateAllOut, PlannedImage, View
from shared.attempts.tasks import (
    AttemptRef,
    GeneratePayload,
    UploadPayload,
    attempt_describe,
    image_generate,
    image_upload,
)
from shared.config import Settings
from shared.errors import Conflict, NotFound, PayloadTooLarge, UnsupportedMedia, ValidationFailed
from shared.images.processing import sniff_format
from shared.images.sizing import size_for
from shared.jobs.service import job_out
from shared.jobs.starter import JobStarter
from shared.models import Job, Project, ProjectAsset
from shared.projects.stage5 import ensure_unlocked, require_style
from shared.storage.base import Storage


async def start_generation(
    jobs: JobStarter, *, project: Project, asset_id: uuid.UUID, view: View | None
) -> Job:
    ensure_unlocked(project)
    asset = await require_asset(jobs.session, project, asset_id)
    if view is not None and asset.type != "character":
        raise ValidationFailed("Only characters can be drawn from a chosen view", code="view_not_allowed")
    await require_style(jobs.session, project)
    return await jobs.start(
        image_generate, project=project, payload=GeneratePayload(asset_id=asset.id, view=view)
    )


async def start_upload(
    jobs: JobStarter, storage: Storage, *, project: Project, asset_id: uuid.UUID, data: bytes
) -> Job:
    """Refuse what can be refused from the bytes' length and first bytes, park the rest in
    storage under ``staging/`` and leave decoding to the imagegen worker."""
    settings = jobs.settings
    ensure_unlocked(project)
    asset = await require_asset(jobs.session, project, asset_id)
    if len(data) > settings.max_upload_bytes:
        raise PayloadTooLarge(
            f"The image is over {settings.max_upload_bytes} bytes",
            code="image_too_large",
            details={"limit": settings.max_upload_bytes},
        )
    # The real format from the content; the file name and the client's content type are not trusted.
    if sniff_format(data[:16]) is None:
        raise UnsupportedMedia("Only PNG, JPEG and WebP images are accepted", code="unsupported_image")
    key = f"staging/{uuid.uuid4()}"
    # Before commit: if the commit fails the object is an orphan for the sweep; the other order
    # could leave a job pointing at nothing. The sweep keeps staging keys of queued/running jobs.
    await storage.put(key, data, content_type="application/octet-stream")
    return await jobs.start(
        image_upload, project=project, payload=UploadPayload(asset_id=asset.id, staging_key=key)
    )


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


async def generate_all(jobs: JobStarter, *, project: Project, dry_run: bool) -> GenerateAllOut:
    """One image.generate job per active asset that has no image yet (none pending either)."""
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
        return out
    for asset in assets:
        job = await jobs.start(image_generate, project=project, payload=GeneratePayload(asset_id=asset.id))
        out.jobs.append(job_out(job))
    return out


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
