"""The image carousel of an asset (attempts), image jobs, describe-from-image, and generate-all."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, File, Query, Request, Response, UploadFile, status
from sqlalchemy.ext.asyncio import AsyncSession

from services.api.deps import ProjectDep, SessionDep, SettingsDep, StorageDep
from services.api.errors import error_responses
from services.api.jobs import JobsDep, RequestJobs
from services.api.lean import Fallback, LeanRead, lean
from services.api.rendering import json_body
from shared.assets.schemas import AssetOut
from shared.assets.service import read_asset
from shared.attempts import repository as attempts_repo
from shared.attempts import service, start
from shared.attempts.schemas import AttemptList, DescribeApply, GenerateAllIn, GenerateAllOut
from shared.attempts.start import AttemptJobEnvelope, CapOutlook, GenerateRequest, OnCap
from shared.db import after_commit
from shared.db_raw import driver_connection
from shared.jobs import events
from shared.jobs.batches import BatchEnvelope, batch_out
from shared.jobs.schemas import JobEnvelope
from shared.jobs.service import job_out
from shared.models import Job, Project

router = APIRouter(prefix="/v1/projects/{pid}/assets", tags=["attempts"])

OnCapQuery = Annotated[
    OnCap | None,
    Query(
        description="At the cap: `evict` the oldest unselected image (default), or `refuse` with 409 "
        "`attempt_cap_reached` (now, or as the job's error if the carousel fills up meanwhile)"
    ),
]


@router.post(
    "/generate-all",
    summary="Generate an image for every active asset that has none",
    description="`dry_run: true` answers 200 with the assets and the estimated cost and creates nothing; "
    "otherwise 202 with one batch holding an `image.generate` job per asset, and `Location: "
    "/v1/batches/{id}` (follow it there or on `GET /v1/projects/{pid}/events`; cancel it as a whole with "
    "`POST /v1/batches/{id}/cancel`). A repeat with the same `Idempotency-Key` answers the same batch. "
    "409 `style_required` without a style.",
    response_model=None,
    responses={
        200: {"model": GenerateAllOut, "description": "The dry run's plan"},
        202: {"model": BatchEnvelope, "description": "The batch of jobs started"},
        **error_responses(409),
    },
)
async def generate_all(
    project: ProjectDep, jobs: JobsDep, body: GenerateAllIn | None = None
) -> GenerateAllOut | BatchEnvelope:
    out, batch = await start.generate_all(jobs, project=project, dry_run=bool(body and body.dry_run))
    if batch is None:
        return jobs.answer(out, status=status.HTTP_200_OK)
    envelope = BatchEnvelope(batch=batch_out(batch, jobs.started))
    return jobs.answer(envelope, status=status.HTTP_202_ACCEPTED, batch_id=batch.id)


def _accepted(jobs: RequestJobs, job: Job, outlook: CapOutlook) -> AttemptJobEnvelope:
    """202 + Location of the job, remembered for Idempotency-Key repeats with its eviction outlook."""
    envelope = AttemptJobEnvelope(job=job_out(job), eviction=outlook)
    return jobs.answer(envelope, status=status.HTTP_202_ACCEPTED, job=job)


def _publish_carousel(
    session: AsyncSession, request: Request, project: Project, change: str, aid: uuid.UUID, tid: uuid.UUID
) -> None:
    """After the request's commit, tell the project's event stream (open pages) what changed."""
    data = {
        "change": change,
        "project_id": str(project.id),
        "asset_id": str(aid),
        "attempt_id": str(tid),
        "evicted": [],
    }
    redis = request.app.state.arq
    after_commit(session, lambda: events.publish_project(redis, project.id, "attempt", data))


async def _carousel(read: LeanRead) -> Response:
    """The carousel's lean path (services/api/lean.py): one statement, ownership included."""
    aid = read.uuid("aid")
    async with driver_connection(read.engine) as conn:
        rows = await attempts_repo.OWNED_CAROUSEL.fetch(
            conn, user=read.user, project_id=read.uuid("pid"), asset_id=aid
        )
    if not rows:
        raise Fallback  # not the caller's project, or no such asset: the full handler's 404
    return json_body(service.carousel_body(rows, read.storage, aid, cap=read.settings.attempt_cap))


@router.get(
    "/{aid:uuid}/attempts",
    summary="The asset's images, newest first, with signed URLs",
    response_model=AttemptList,
)
@lean(_carousel)
async def list_attempts(
    aid: uuid.UUID, project: ProjectDep, session: SessionDep, storage: StorageDep, settings: SettingsDep
) -> Response:
    # Polled by the carousel: plain rows serialised once (services/api/rendering.py), same JSON.
    return json_body(await service.carousel(session, storage, project.id, aid, cap=settings.attempt_cap))


@router.post(
    "/{aid:uuid}/attempts/generate",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Generate an image (job)",
    responses=error_responses(409),
    description="The new image becomes selected; at the cap the oldest unselected one is evicted, and "
    "`eviction.evicts` says which, before it happens. `on_cap: refuse` (body or query) answers 409 "
    "`attempt_cap_reached` instead. `view` is for characters only (422 `view_not_allowed`). 409 "
    "`style_required` without a style.",
)
async def generate(
    aid: uuid.UUID,
    project: ProjectDep,
    jobs: JobsDep,
    on_cap: OnCapQuery = None,
    body: GenerateRequest | None = None,
) -> AttemptJobEnvelope:
    view = body.view if body else None
    policy: OnCap = "refuse" if "refuse" in (on_cap, body.on_cap if body else None) else "evict"
    job, outlook = await start.start_generation(jobs, project=project, asset_id=aid, view=view, on_cap=policy)
    return _accepted(jobs, job, outlook)


@router.post(
    "/{aid:uuid}/attempts/upload",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Upload an image (job)",
    responses=error_responses(409, 415),
    description="PNG, JPEG or WebP, recognised from the content (415 `unsupported_image`), at most "
    "`max_upload_bytes` (413 `image_too_large`). The header is read at once: more pixels than "
    "`upload_max_pixels` is 413 `decompression_bomb`, an unreadable header 422 `corrupt_image`, and "
    "nothing is stored. The job decodes it safely, strips metadata and adds it as the selected image; "
    "`eviction.evicts` says which image that removes at the cap (`?on_cap=refuse`: 409 "
    "`attempt_cap_reached` instead).",
)
async def upload(
    aid: uuid.UUID,
    project: ProjectDep,
    jobs: JobsDep,
    storage: StorageDep,
    file: Annotated[UploadFile, File(description="The image file")],
    on_cap: OnCapQuery = None,
) -> AttemptJobEnvelope:
    # One byte over the limit is enough to know it is over: never read more than that.
    data = await file.read(jobs.settings.max_upload_bytes + 1)
    job, outlook = await start.start_upload(
        jobs, storage, project=project, asset_id=aid, data=data, on_cap=on_cap or "evict"
    )
    return _accepted(jobs, job, outlook)


@router.post(
    "/{aid:uuid}/attempts/{tid:uuid}/select",
    summary="Make this image the asset's image",
    description="Selecting an image (also the one already selected) accepts it for the current "
    "description: its `stale` flag clears until the description changes again.",
    responses=error_responses(409),
)
async def select_attempt(
    aid: uuid.UUID,
    tid: uuid.UUID,
    project: ProjectDep,
    session: SessionDep,
    storage: StorageDep,
    settings: SettingsDep,
    request: Request,
) -> AttemptList:
    was = await attempts_repo.get(session, asset_id=aid, attempt_id=tid)
    was_selected = was is not None and was.selected
    await service.select_attempt(session, project, aid, tid)
    if not was_selected:
        _publish_carousel(session, request, project, "selected", aid, tid)
    return await service.list_attempts(session, storage, project, aid, cap=settings.attempt_cap)


@router.delete(
    "/{aid:uuid}/attempts/{tid:uuid}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete an image and its stored files",
    description="Any image, selected or not. Deleting the selected one leaves the asset without an image.",
    responses=error_responses(409),
)
async def delete_attempt(
    aid: uuid.UUID,
    tid: uuid.UUID,
    project: ProjectDep,
    session: SessionDep,
    storage: StorageDep,
    request: Request,
) -> Response:
    await service.delete_attempt(session, storage, project, aid, tid)
    _publish_carousel(session, request, project, "deleted", aid, tid)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{aid:uuid}/attempts/{tid:uuid}/describe",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Describe the asset from this image (job)",
    responses=error_responses(409),
    description="The job's result offers three descriptions (`options.keep`, `.replace`, `.merge`); "
    "apply one with POST .../description/apply.",
)
async def describe(aid: uuid.UUID, tid: uuid.UUID, project: ProjectDep, jobs: JobsDep) -> JobEnvelope:
    return jobs.accepted(await start.start_describe(jobs, project=project, asset_id=aid, attempt_id=tid))


@router.post(
    "/{aid:uuid}/description/apply",
    summary="Write the description chosen from a describe job",
    responses=error_responses(409),
    description="422 `not_a_describe_job` for another kind of job or another asset's; 409 "
    "`describe_pending` / `describe_failed` when the job has not succeeded.",
)
async def apply_description(
    aid: uuid.UUID, body: DescribeApply, project: ProjectDep, session: SessionDep, storage: StorageDep
) -> AssetOut:
    await start.apply_description(session, project, aid, body)
    return await read_asset(session, storage, project_id=project.id, asset_id=aid)
