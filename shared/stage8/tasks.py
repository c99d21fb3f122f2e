"""Image job kinds of the instance carousel: ``scene_image.generate`` and ``scene_image.upload``
(imagegen).

The Stage 5 shape (shared/attempts/tasks.py): slow work outside any transaction (reading the
reference, the provider call, decoding, writing to storage), then one short transaction that locks
the instance, inserts the attempt under the cap and marks the job succeeded. Objects go to storage
before that transaction; if it never commits they are deleted here, or by the sweep after a crash.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import uuid

import structlog
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from shared.attempts.generation import call_provider, finish, image_request
from shared.attempts.service import StoredImage
from shared.continuity.shots import camera_prompt_line
from shared.errors import AppError, Conflict
from shared.images.processing import ImageRejected, process_upload
from shared.images.sizing import size_for
from shared.jobs.registry import job_kind
from shared.jobs.run import JobRun
from shared.models import Project, ProjectAsset, Scene, SceneAssetInstance
from shared.stage8.carousel import InstanceAttemptDetails, add_instance_attempt, store_instance_image
from shared.stage8.chain import Picked, References
from shared.stage8.prompts import scene_prompt
from shared.storage.base import ObjectNotFound, Storage
from shared.storage.cleanup import delete_after_commit
from shared.styles.service import resolve_style

log = structlog.get_logger()


class SceneImagePayload(BaseModel):
    instance_id: uuid.UUID


class SceneUploadPayload(BaseModel):
    instance_id: uuid.UUID
    staging_key: str = Field(description="Where the API parked the raw bytes for this job")


class SceneAttemptResult(BaseModel):
    attempt_id: uuid.UUID | None = None
    attempt_number: int | None = None
    reference_attempt_id: uuid.UUID | None = Field(default=None, description="The image sent as reference")
    evicted: list[uuid.UUID] = Field(default_factory=list, description="Images removed to stay at the cap")
    discarded: bool = Field(default=False, description="The instance was deleted while the job worked")


@dataclasses.dataclass(frozen=True, slots=True)
class _Loaded:
    instance: SceneAssetInstance
    asset: ProjectAsset
    project: Project
    scene: Scene | None
    reference: Picked | None


async def _load(session: AsyncSession, instance_id: uuid.UUID) -> _Loaded | None:
    instance = await session.get(SceneAssetInstance, instance_id)
    if instance is None:
        return None
    asset = await session.get(ProjectAsset, instance.asset_id)
    project = await session.get(Project, instance.project_id)
    if asset is None or project is None:
        return None
    scene = await session.get(Scene, instance.scene_id) if instance.scene_id else None
    reference = None
    if scene is not None:
        refs = await References.load(
            session, script_id=scene.script_id, position=scene.position, instances=[instance]
        )
        reference, _ = refs.pick(instance)
    return _Loaded(instance, asset, project, scene, reference)


@job_kind("scene_image.generate", worker="imagegen", payload=SceneImagePayload, result=SceneAttemptResult)
async def scene_image_generate(run: JobRun[SceneImagePayload]) -> SceneAttemptResult:
    """Prompt = the asset's description + this scene's visual state + the project's style + the
    type's rules, at the type's size; the instance's current reference image goes to the provider
    with it, so the scene's look starts from the chain instead of from scratch."""
    settings, storage, provider = run.settings, run.ctx.storage, run.ctx.image_provider()
    instance_id = run.payload.instance_id
    async with run.sessions() as session:
        loaded = await _load(session, instance_id)
        style = await resolve_style(session, loaded.project) if loaded else None
        # The shots this asset appears in (from the shot list) say how the image will be framed.
        camera = (
            await camera_prompt_line(session, loaded.project.id, loaded.scene.id, loaded.asset.id)
            if loaded is not None and loaded.scene is not None
            else ""
        )
    if loaded is None:
        log.info("stage8.generate.discarded", instance_id=str(instance_id))
        return SceneAttemptResult(discarded=True)
    if style is None:
        raise Conflict("The project has no visual style", code="style_required")
    asset, ref = loaded.asset, loaded.reference
    reference_bytes = await _reference_bytes(storage, ref)
    size = size_for(asset.type, loaded.project.aspect_ratio, base=settings.image_base_side)
    request = dataclasses.replace(
        image_request(asset, style, view=None, size=size, seed=run.id.int % 2**31),
        prompt=scene_prompt(
            asset,
            style,
            visual_state=loaded.instance.visual_state,
            heading=loaded.scene.heading if loaded.scene else loaded.instance.scene_heading,
            has_reference=reference_bytes is not None,
        )
        + (f" {camera}" if camera else ""),
        reference=reference_bytes,
    )
    await run.progress(0.1, "Drawing the scene image")
    generated = await call_provider(provider, request)
    run.add_cost(generated.cost_usd)  # billed by the provider whatever happens next
    await run.progress(0.7, "Finishing the image")
    processed = await asyncio.to_thread(
        finish, generated.data, asset_type=asset.type, size=size, thumbnail_side=settings.thumbnail_side
    )
    stored = await store_instance_image(
        storage, project_id=loaded.project.id, instance_id=instance_id, image=processed
    )
    details = InstanceAttemptDetails(
        source="generated",
        job_id=run.id,
        prompt=request.prompt,
        style=style.model_dump(mode="json"),
        provider=generated.provider,
        model=generated.model,
        cost_usd=generated.cost_usd,
        reference_kind=ref.kind if ref and reference_bytes is not None else None,
        reference_attempt_id=ref.attempt.id if ref and reference_bytes is not None else None,
        reference_scene_number=ref.scene_number if ref and reference_bytes is not None else None,
    )
    return await _commit_attempt(run, instance_id, stored, details)


async def _reference_bytes(storage: Storage, ref: Picked | None) -> bytes | None:
    """The reference image's bytes; None without a reference, or when its file is gone (the
    attempt was deleted meanwhile): the generation then starts from the prompt alone."""
    if ref is None:
        return None
    try:
        return await storage.get(ref.attempt.storage_key)
    except ObjectNotFound:
        log.warning("stage8.generate.reference_missing", attempt_id=str(ref.attempt.id))
        return None


@job_kind("scene_image.upload", worker="imagegen", payload=SceneUploadPayload, result=SceneAttemptResult)
async def scene_image_upload(run: JobRun[SceneUploadPayload]) -> SceneAttemptResult:
    """The Stage 5 upload pipeline (sniffed format, size and pixel limits, EXIF stripped, orientation
    applied, longest side bounded, thumbnail), into the instance's carousel."""
    settings, storage = run.settings, run.ctx.storage
    instance_id, staging_key = run.payload.instance_id, run.payload.staging_key
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
        await storage.delete_many([staging_key])  # bad input is final: keep nothing of it
        raise
    del data
    async with run.sessions() as session:
        instance = await session.get(SceneAssetInstance, instance_id)
    if instance is None:
        await storage.delete_many([staging_key])
        return SceneAttemptResult(discarded=True)
    stored = await store_instance_image(
        storage, project_id=instance.project_id, instance_id=instance_id, image=processed
    )
    details = InstanceAttemptDetails(source="uploaded", job_id=run.id)
    return await _commit_attempt(run, instance_id, stored, details, cleanup=[staging_key])


async def _commit_attempt(
    run: JobRun[SceneImagePayload] | JobRun[SceneUploadPayload],
    instance_id: uuid.UUID,
    stored: StoredImage,
    details: InstanceAttemptDetails,
    cleanup: list[str] | None = None,
) -> SceneAttemptResult:
    """The one transaction of a scene image job: attempt row (cap, selection) + job status."""
    storage = run.ctx.storage
    cleanup = cleanup or []
    body_done = False
    try:
        async with run.transaction() as session:
            added = await add_instance_attempt(
                session,
                storage,
                instance_id=instance_id,
                stored=stored,
                details=details,
                cap=run.settings.instance_attempt_cap,
            )
            if added is None:  # the instance was purged while we worked
                result = SceneAttemptResult(discarded=True)
                delete_after_commit(session, storage, [*stored.keys, *cleanup])
            else:
                attempt, evicted = added
                result = SceneAttemptResult(
                    attempt_id=attempt.id,
                    attempt_number=attempt.attempt_number,
                    reference_attempt_id=attempt.reference_attempt_id,
                    evicted=[a.id for a in evicted],
                )
                delete_after_commit(session, storage, cleanup)
            await run.complete(session, result)
            body_done = True
    except BaseException:
        # Rolled back before the commit: no row will ever reference the objects.
        if not body_done:
            with contextlib.suppress(Exception):
                await storage.delete_many(stored.keys)
        raise
    return result
