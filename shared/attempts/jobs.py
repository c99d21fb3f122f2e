"""The API side of attempts work: checks that answer at once, then a job row for the slow part.

Nothing here decodes an image or calls a provider (the API stays thin and fast): an upload is only
size-checked and sniffed from its first bytes, then parked in storage for the imagegen worker.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.assets.service import ensure_unlocked, require_asset
from shared.attempts import repository as repo
from shared.attempts.schemas import DescribeApply, GenerateAllOut, PlannedImage
from shared.config import Settings
from shared.errors import Conflict, NotFound, PayloadTooLarge, UnsupportedMedia, ValidationFailed
from shared.images.processing import sniff_format
from shared.images.sizing import size_for
from shared.jobs.service import create_job, job_out
from shared.models import Job, Project, ProjectAsset
from shared.storage.base import Storage
from shared.styles.schemas import StyleSnapshot
from shared.styles.service import resolve_style


async def require_style(session: AsyncSession, project: Project) -> StyleSnapshot:
    style = await resolve_style(session, project)
    if style is None:
        raise Conflict("Choose the project's visual style before generating images", code="style_required")
    return style


async def start_generation(
    session: AsyncSession,
    *,
    settings: Settings,
    project: Project,
    asset_id: uuid.UUID,
    view: str | None,
    idempotency_key: str | None = None,
    request_id: str | None = None,
) -> Job:
    ensure_unlocked(project)
    asset = await require_asset(session, project, asset_id)
    if view is not None and asset.type != "character":
        raise ValidationFailed("Only characters can be drawn from a chosen view", code="view_not_allowed")
    await require_style(session, project)
    return await create_job(
        session,
        settings=settings,
        kind="image.generate",
        owner_id=project.owner_id,
        project_id=project.id,
        payload={"asset_id": str(asset.id), "view": view},
        idempotency_key=idempotency_key,
        request_id=request_id,
    )


async def start_upload(
    session: AsyncSession,
    storage: Storage,
    *,
    settings: Settings,
    project: Project,
    asset_id: uuid.UUID,
    data: bytes,
    idempotency_key: str | None = None,
    request_id: str | None = None,
) -> Job:
    """Refuse what can be refused from the bytes' length and first bytes, park the rest in
    storage under ``staging/{job_id}`` and leave decoding to the imagegen worker."""
    ensure_unlocked(project)
    asset = await require_asset(session, project, asset_id)
    if len(data) > settings.max_upload_bytes:
        raise PayloadTooLarge(
            f"The image is over {settings.max_upload_bytes} bytes",
            code="image_too_large",
            details={"limit": settings.max_upload_bytes},
        )
    # The real format from the content; the file name and the client's content type are not trusted.
    if sniff_format(data[:16]) is None:
        raise UnsupportedMedia("Only PNG, JPEG and WebP images are accepted", code="unsupported_image")
    job = await create_job(
        session,
        settings=settings,
        kind="image.upload",
        owner_id=project.owner_id,
        project_id=project.id,
        payload={"asset_id": str(asset.id)},
        idempotency_key=idempotency_key,
        request_id=request_id,
    )
    if "staging_key" in job.payload:
        return job  # an idempotent repeat: the bytes are already parked
    key = f"staging/{job.id}"
    # Before commit: if the commit fails the object is an orphan for the sweep; the other order
    # could leave a job pointing at nothing. The sweep keeps staging keys of queued/running jobs.
    await storage.put(key, data, content_type="application/octet-stream")
    job.payload = {**job.payload, "staging_key": key}
    await session.flush()
    return job


async def start_describe(
    session: AsyncSession,
    *,
    settings: Settings,
    project: Project,
    asset_id: uuid.UUID,
    attempt_id: uuid.UUID,
    idempotency_key: str | None = None,
    request_id: str | None = None,
) -> Job:
    # Describing changes nothing until the result is applied, so a locked stage may still ask.
    await require_asset(session, project, asset_id)
    if await repo.get(session, asset_id=asset_id, attempt_id=attempt_id) is None:
        raise NotFound("Attempt not found")
    return await create_job(
        session,
        settings=settings,
        kind="attempt.describe",
        owner_id=project.owner_id,
        project_id=project.id,
        payload={"asset_id": str(asset_id), "attempt_id": str(attempt_id)},
        idempotency_key=idempotency_key,
        request_id=request_id,
    )


async def generate_all(
    session: AsyncSession,
    *,
    settings: Settings,
    project: Project,
    dry_run: bool,
    idempotency_key: str | None = None,
    request_id: str | None = None,
) -> GenerateAllOut:
    """One image.generate job per active asset that has no image yet (none pending either)."""
    ensure_unlocked(project)
    await require_style(session, project)
    assets = await repo.assets_needing_images(session, project.id)
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
        job = await create_job(
            session,
            settings=settings,
            kind="image.generate",
            owner_id=project.owner_id,
            project_id=project.id,
            payload={"asset_id": str(asset.id), "view": None},
            # One key per asset: the jobs table allows a key once per owner.
            idempotency_key=f"{idempotency_key}:{asset.id}" if idempotency_key else None,
            request_id=request_id,
        )
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
    job = await session.scalar(
        select(Job).where(
            Job.id == data.job_id, Job.project_id == project.id, Job.owner_id == project.owner_id
        )
    )
    if job is None:
        raise NotFound("Job not found")
    if job.kind != "attempt.describe" or job.payload.get("asset_id") != str(asset.id):
        raise ValidationFailed("That job is not a describe job of this asset", code="not_a_describe_job")
    if job.status != "succeeded":
        code = "describe_pending" if job.status in ("queued", "running") else "describe_failed"
        raise Conflict(f"The describe job is {job.status}", code=code, details={"status": job.status})
    text = str((job.result or {}).get("options", {}).get(data.mode, asset.description))
    if text != asset.description:
        now = datetime.now(UTC)
        asset.description = text
        asset.description_edited_at = now
        asset.described_at = asset.described_at or now
        asset.version += 1
        await session.flush()
    return asset
