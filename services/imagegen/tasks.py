"""Imagegen job handlers: image generation, upload processing, and the storage sweep.

Both image jobs follow one shape: slow work outside any transaction (provider call, decoding,
uploads to storage), then one short transaction that locks the asset, inserts the attempt under
the cap and marks the job succeeded. Objects go to storage before that transaction; if it never
commits they are deleted here, or by the sweep after a crash.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import Any

import structlog

from shared.attempts.generation import call_provider, finish, image_request
from shared.attempts.service import AttemptDetails, StoredImage, add_attempt, delete_after_commit, store_image
from shared.db import session_scope
from shared.errors import AppError, Conflict
from shared.images.processing import ImageRejected, process_upload
from shared.images.providers.base import ImageProvider
from shared.images.sizing import size_for
from shared.jobs.runner import Handler, JobRun
from shared.models import Project, ProjectAsset
from shared.storage.base import ObjectNotFound, Storage
from shared.storage.sweep import sweep_orphans
from shared.styles.service import resolve_style

log = structlog.get_logger()


async def storage_sweep(run: JobRun) -> dict[str, Any]:
    storage: Storage = run.ctx["storage"]
    min_age = int(run.payload.get("min_age_s", run.settings.storage_sweep_min_age_s))
    async with session_scope(run.sessions) as session:
        result = await sweep_orphans(session, storage, min_age_s=min_age)
        await run.complete(session, result)
    return result


async def image_generate(run: JobRun) -> dict[str, Any]:
    settings, storage = run.settings, run.ctx["storage"]
    provider: ImageProvider = run.ctx["image_provider"]
    asset_id = uuid.UUID(run.payload["asset_id"])
    view = run.payload.get("view")
    async with run.sessions() as session:
        asset = await session.get(ProjectAsset, asset_id)
        project = await session.get(Project, asset.project_id) if asset else None
        style = await resolve_style(session, project) if project else None
    if asset is None or project is None:
        log.info("attempt.generate.discarded", asset_id=str(asset_id))
        return {"discarded": True}
    if style is None:
        raise Conflict("The project has no visual style", code="style_required")
    size = size_for(asset.type, project.aspect_ratio, base=settings.image_base_side)
    # A seed per job: the offline renderer is deterministic, and each attempt should differ.
    request = image_request(asset, style, view=view, size=size, seed=run.id.int % 2**31)
    generated = await call_provider(provider, request)
    run.add_cost(generated.cost_usd)  # billed by the provider whatever happens next
    processed = await asyncio.to_thread(
        finish, generated.data, asset_type=asset.type, size=size, thumbnail_side=settings.thumbnail_side
    )
    stored = await store_image(storage, project_id=project.id, asset_id=asset_id, image=processed)
    details = AttemptDetails(
        source="generated",
        job_id=run.id,
        view=view,
        prompt=request.prompt,
        style=style.model_dump(mode="json"),
        provider=generated.provider,
        model=generated.model,
        cost_usd=generated.cost_usd,
    )
    return await _commit_attempt(run, storage, asset_id, stored, details)


async def image_upload(run: JobRun) -> dict[str, Any]:
    settings, storage = run.settings, run.ctx["storage"]
    asset_id = uuid.UUID(run.payload["asset_id"])
    staging_key: str = run.payload["staging_key"]
    try:
        data = await storage.get(staging_key)
    except ObjectNotFound as exc:
        raise AppError("The uploaded file is no longer stored", code="upload_missing", status=410) from exc
    try:
        processed = await asyncio.to_thread(
            process_upload,
            data,
            max_side=settings.upload_max_side,
            max_pixels=settings.upload_max_pixels,
            thumbnail_side=settings.thumbnail_side,
        )
    except ImageRejected:
        # Bad input is final: keep nothing of it (the failed job no longer protects the staging key).
        await storage.delete_many([staging_key])
        raise
    del data  # the raw upload can be large; don't hold it through the storage round trips
    async with run.sessions() as session:
        asset = await session.get(ProjectAsset, asset_id)
    if asset is None:
        await storage.delete_many([staging_key])
        return {"discarded": True}
    stored = await store_image(storage, project_id=asset.project_id, asset_id=asset_id, image=processed)
    details = AttemptDetails(source="uploaded", job_id=run.id)
    return await _commit_attempt(run, storage, asset_id, stored, details, cleanup=[staging_key])


async def _commit_attempt(
    run: JobRun,
    storage: Storage,
    asset_id: uuid.UUID,
    stored: StoredImage,
    details: AttemptDetails,
    cleanup: list[str] | None = None,
) -> dict[str, Any]:
    """The one transaction of an image job: attempt row (cap, selection) + job status."""
    cleanup = cleanup or []
    body_done = False
    result: dict[str, Any]
    try:
        async with session_scope(run.sessions) as session:
            added = await add_attempt(
                session,
                storage,
                asset_id=asset_id,
                stored=stored,
                details=details,
                cap=run.settings.attempt_cap,
            )
            if added is None:  # the asset was deleted while we worked
                result = {"discarded": True}
                delete_after_commit(session, storage, [*stored.keys, *cleanup])
            else:
                attempt, evicted = added
                result = {
                    "attempt_id": str(attempt.id),
                    "attempt_number": attempt.attempt_number,
                    "width": attempt.width,
                    "height": attempt.height,
                    "evicted": [str(a.id) for a in evicted],
                }
                delete_after_commit(session, storage, cleanup)
            await run.complete(session, result)
            body_done = True
    except BaseException:
        # Rolled back before the commit (cancelled meanwhile, a database error): no row will ever
        # reference the objects. If the commit itself failed its outcome is unknown, and the
        # sweep decides later from what the database really holds.
        if not body_done:
            with contextlib.suppress(Exception):
                await storage.delete_many(stored.keys)
        raise
    return result


HANDLERS: dict[str, Handler] = {
    "storage.sweep": storage_sweep,
    "image.generate": image_generate,
    "image.upload": image_upload,
}
