"""Image job kinds of the asset carousel: ``image.generate`` and ``image.upload`` (imagegen), and
``attempt.describe`` (extractor: the vision pass over one image).

Both image kinds follow one shape: slow work outside any transaction (provider call, decoding,
uploads to storage), then one short transaction that locks the asset, inserts the attempt under the
cap and marks the job succeeded. Objects go to storage before that transaction; if it never commits
they are deleted here, or by the sweep after a crash.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import Literal

import structlog
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from shared.attempts import repository as attempts_repo
from shared.attempts.describe import (
    describe_with_model,
    model_options,
    offline_description,
    prepare_for_vision,
)
from shared.attempts.generation import call_provider, finish, image_request
from shared.attempts.schemas import View
from shared.attempts.service import AttemptDetails, StoredImage, add_attempt, store_image
from shared.errors import AppError, Conflict, NotFound
from shared.images.processing import ImageRejected, process_upload
from shared.images.sizing import size_for
from shared.jobs.registry import job_kind
from shared.jobs.run import JobRun
from shared.llm.client import LLMCall
from shared.models import Project, ProjectAsset
from shared.storage.base import ObjectNotFound
from shared.storage.cleanup import delete_after_commit
from shared.styles.service import resolve_style

log = structlog.get_logger()


OnCap = Literal["evict", "refuse"]


class GeneratePayload(BaseModel):
    asset_id: uuid.UUID
    view: View | None = None
    on_cap: OnCap = Field(default="evict", description="`refuse`: fail with attempt_cap_reached at the cap")


class UploadPayload(BaseModel):
    asset_id: uuid.UUID
    staging_key: str = Field(description="Where the API parked the raw bytes for this job")
    on_cap: OnCap = Field(default="evict", description="`refuse`: fail with attempt_cap_reached at the cap")


class AttemptResult(BaseModel):
    attempt_id: uuid.UUID | None = None
    attempt_number: int | None = None
    width: int | None = None
    height: int | None = None
    evicted: list[uuid.UUID] = Field(default_factory=list, description="Images removed to stay at the cap")
    discarded: bool = Field(default=False, description="The asset was deleted while the job worked")


class AttemptRef(BaseModel):
    asset_id: uuid.UUID
    attempt_id: uuid.UUID


class DescribeOptions(BaseModel):
    keep: str = Field(description="The current description, unchanged")
    replace: str = Field(description="What the image shows, plus the script details it does not show")
    merge: str = Field(description="Both blended; the image wins a disagreement")


class ImageDescribeResult(BaseModel):
    asset_id: uuid.UUID
    attempt_id: uuid.UUID
    description_at_request: str
    engine: Literal["llm", "offline"]
    model: str | None
    vision: bool = Field(description="False when no vision model is configured: options then all keep")
    note: str | None = Field(default=None, description="Why the options are what they are, for a person")
    image_description: str = Field(description="What was read from the image")
    script_details_missing: list[str]
    options: DescribeOptions


@job_kind("image.generate", worker="imagegen", payload=GeneratePayload, result=AttemptResult)
async def image_generate(run: JobRun[GeneratePayload]) -> AttemptResult:
    settings, storage, provider = run.settings, run.ctx.storage, run.ctx.image_provider()
    asset_id, view = run.payload.asset_id, run.payload.view
    async with run.sessions() as session:
        asset = await session.get(ProjectAsset, asset_id)
        project = await session.get(Project, asset.project_id) if asset else None
        style = await resolve_style(session, project) if project else None
    if asset is None or project is None:
        log.info("attempt.generate.discarded", asset_id=str(asset_id))
        return AttemptResult(discarded=True)
    if style is None:
        raise Conflict("The project has no visual style", code="style_required")
    if run.payload.on_cap == "refuse":
        # Before paying for an image that could not be kept (checked again under the lock at commit).
        async with run.sessions() as session:
            await _refuse_at_cap(session, asset_id, run.settings.attempt_cap)
    size = size_for(asset.type, project.aspect_ratio, base=settings.image_base_side)
    # A seed per job: the offline renderer is deterministic, and each attempt should differ.
    request = image_request(asset, style, view=view, size=size, seed=run.id.int % 2**31)
    await run.progress(0.1, "Drawing the image")
    generated = await call_provider(provider, request)
    run.add_cost(generated.cost_usd)  # billed by the provider whatever happens next
    await run.progress(0.7, "Finishing the image")
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
    return await _commit_attempt(run, asset_id, stored, details)


@job_kind("image.upload", worker="imagegen", payload=UploadPayload, result=AttemptResult)
async def image_upload(run: JobRun[UploadPayload]) -> AttemptResult:
    settings, storage = run.settings, run.ctx.storage
    asset_id, staging_key = run.payload.asset_id, run.payload.staging_key
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
        return AttemptResult(discarded=True)
    stored = await store_image(storage, project_id=asset.project_id, asset_id=asset_id, image=processed)
    details = AttemptDetails(source="uploaded", job_id=run.id)
    return await _commit_attempt(run, asset_id, stored, details, cleanup=[staging_key])


async def _commit_attempt(
    run: JobRun[GeneratePayload] | JobRun[UploadPayload],
    asset_id: uuid.UUID,
    stored: StoredImage,
    details: AttemptDetails,
    cleanup: list[str] | None = None,
) -> AttemptResult:
    """The one transaction of an image job: attempt row (cap, selection) + job status."""
    storage = run.ctx.storage
    cleanup = cleanup or []
    body_done = False
    try:
        async with run.transaction() as session:
            if run.payload.on_cap == "refuse" and await attempts_repo.lock_asset(session, asset_id=asset_id):
                await _refuse_at_cap(session, asset_id, run.settings.attempt_cap)
            added = await add_attempt(
                session,
                storage,
                asset_id=asset_id,
                stored=stored,
                details=details,
                cap=run.settings.attempt_cap,
            )
            if added is None:  # the asset was deleted while we worked
                result = AttemptResult(discarded=True)
                delete_after_commit(session, storage, [*stored.keys, *cleanup])
            else:
                attempt, evicted = added
                result = AttemptResult(
                    attempt_id=attempt.id,
                    attempt_number=attempt.attempt_number,
                    width=attempt.width,
                    height=attempt.height,
                    evicted=[a.id for a in evicted],
                )
                delete_after_commit(session, storage, cleanup)
            await run.complete(session, result)
            body_done = True
    except BaseException as exc:
        # Rolled back before the commit (cancelled meanwhile, a database error): no row will ever
        # reference the objects. If the commit itself failed its outcome is unknown, and the
        # sweep decides later from what the database really holds.
        if not body_done:
            refused = isinstance(exc, AppError) and exc.code == "attempt_cap_reached"
            with contextlib.suppress(Exception):
                await storage.delete_many([*stored.keys, *(cleanup if refused else [])])
        raise
    project_id = run.project_id
    if result.attempt_id is not None and project_id is not None:
        # After the commit: the project's event stream tells open pages the carousel changed.
        await run.ctx.events.project(
            project_id,
            "attempt",
            {
                "change": "added",
                "project_id": str(project_id),
                "asset_id": str(asset_id),
                "attempt_id": str(result.attempt_id),
                "attempt_number": result.attempt_number,
                "evicted": [str(e) for e in result.evicted],
                "job_id": str(run.id),
            },
        )
    return result


async def _refuse_at_cap(session: AsyncSession, asset_id: uuid.UUID, cap: int) -> None:
    held = len(await attempts_repo.eviction_order(session, asset_id))
    if held >= cap:
        raise Conflict(
            f"The asset already has {cap} images; the job was asked not to evict one",
            code="attempt_cap_reached",
            details={"cap": cap, "attempts": held},
        )


NO_VISION_NOTE = (
    "No vision model is configured (set FILMASSETS_ANTHROPIC_API_KEY): the image was only measured, "
    "so every option keeps the current description."
)


@job_kind("attempt.describe", worker="extractor", payload=AttemptRef, result=ImageDescribeResult)
async def attempt_describe(run: JobRun[AttemptRef]) -> ImageDescribeResult:
    """Three candidate descriptions (keep / replace / merge); nothing is written to the asset until
    the user applies one (POST .../description/apply), so the job has no domain writes."""
    asset_id, attempt_id = run.payload.asset_id, run.payload.attempt_id
    async with run.sessions() as session:
        asset = await session.get(ProjectAsset, asset_id)
        attempt = await attempts_repo.get(session, asset_id=asset_id, attempt_id=attempt_id)
    if asset is None or attempt is None:
        raise NotFound("The image no longer exists", code="attempt_missing")
    try:
        data = await run.ctx.storage.get(attempt.storage_key)
    except ObjectNotFound as exc:
        raise NotFound("The image's file no longer exists", code="attempt_missing") from exc
    current = asset.description.strip()
    llm = run.ctx.llm
    if llm is None:
        measured = await asyncio.to_thread(offline_description, data)
        return ImageDescribeResult(
            asset_id=asset_id,
            attempt_id=attempt_id,
            description_at_request=asset.description,
            engine="offline",
            model=None,
            vision=False,
            note=NO_VISION_NOTE,
            image_description=measured,
            script_details_missing=[],
            options=DescribeOptions(keep=current, replace=current, merge=current),
        )
    image, media_type = await asyncio.to_thread(prepare_for_vision, data)
    try:
        found, call = await describe_with_model(
            llm,
            model=run.settings.llm_model_describe,
            image=image,
            media_type=media_type,
            name=asset.name,
            asset_type=asset.type,
            current=asset.description,
        )
    except Exception as exc:
        # Every LLM client error carries the spend so far: bill it even though the job fails.
        spent: LLMCall | None = getattr(exc, "call", None)
        if spent is not None:
            run.record_llm(spent)
        raise
    run.record_llm(call)
    return ImageDescribeResult(
        asset_id=asset_id,
        attempt_id=attempt_id,
        description_at_request=asset.description,
        engine="llm",
        model=call.model,
        vision=True,
        image_description=found.description,
        script_details_missing=found.script_details_missing,
        options=DescribeOptions(**model_options(asset.description, found)),
    )
