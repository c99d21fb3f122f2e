"""The image carousel of an asset (attempts), image jobs, describe-from-image, and generate-all."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, File, Response, UploadFile, status

from services.api.deps import ProjectDep, SessionDep, SettingsDep, StorageDep
from services.api.errors import error_responses
from services.api.jobs import JobsDep
from shared.assets.schemas import AssetOut
from shared.assets.service import read_asset
from shared.attempts import service, start
from shared.attempts.schemas import AttemptList, DescribeApply, GenerateAllIn, GenerateAllOut, GenerateIn
from shared.jobs.schemas import JobEnvelope

router = APIRouter(prefix="/v1/projects/{pid}/assets", tags=["attempts"])


@router.post(
    "/generate-all",
    summary="Generate an image for every active asset that has none",
    description="`dry_run: true` answers 200 with the assets and the estimated cost and creates nothing; "
    "otherwise 202 with one `image.generate` job per asset. 409 `style_required` without a style.",
    responses={202: {"model": GenerateAllOut}, **error_responses(409)},
)
async def generate_all(
    project: ProjectDep, jobs: JobsDep, body: GenerateAllIn | None = None
) -> GenerateAllOut:
    out = await start.generate_all(jobs, project=project, dry_run=bool(body and body.dry_run))
    return jobs.answer(out, status=status.HTTP_200_OK if out.dry_run else status.HTTP_202_ACCEPTED)


@router.get("/{aid:uuid}/attempts", summary="The asset's images, newest first, with signed URLs")
async def list_attempts(
    aid: uuid.UUID, project: ProjectDep, session: SessionDep, storage: StorageDep, settings: SettingsDep
) -> AttemptList:
    return await service.list_attempts(session, storage, project, aid, cap=settings.attempt_cap)


@router.post(
    "/{aid:uuid}/attempts/generate",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Generate an image (job)",
    responses=error_responses(409),
    description="The new image becomes selected; at the cap the oldest unselected one is evicted. "
    "`view` is for characters only (422 `view_not_allowed`). 409 `style_required` without a style.",
)
async def generate(
    aid: uuid.UUID, project: ProjectDep, jobs: JobsDep, body: GenerateIn | None = None
) -> JobEnvelope:
    view = body.view if body else None
    return jobs.accepted(await start.start_generation(jobs, project=project, asset_id=aid, view=view))


@router.post(
    "/{aid:uuid}/attempts/upload",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Upload an image (job)",
    responses=error_responses(409, 415),
    description="PNG, JPEG or WebP, recognised from the content (415 `unsupported_image`), at most "
    "`max_upload_bytes` (413). The job decodes it safely, strips metadata and adds it as an attempt; "
    "a corrupt file or a decompression bomb fails the job with `corrupt_image` / `decompression_bomb`.",
)
async def upload(
    aid: uuid.UUID,
    project: ProjectDep,
    jobs: JobsDep,
    storage: StorageDep,
    file: Annotated[UploadFile, File(description="The image file")],
) -> JobEnvelope:
    # One byte over the limit is enough to know it is over: never read more than that.
    data = await file.read(jobs.settings.max_upload_bytes + 1)
    return jobs.accepted(await start.start_upload(jobs, storage, project=project, asset_id=aid, data=data))


@router.post(
    "/{aid:uuid}/attempts/{tid:uuid}/select",
    summary="Make this image the asset's image",
    responses=error_responses(409),
)
async def select_attempt(
    aid: uuid.UUID,
    tid: uuid.UUID,
    project: ProjectDep,
    session: SessionDep,
    storage: StorageDep,
    settings: SettingsDep,
) -> AttemptList:
    await service.select_attempt(session, project, aid, tid)
    return await service.list_attempts(session, storage, project, aid, cap=settings.attempt_cap)


@router.delete(
    "/{aid:uuid}/attempts/{tid:uuid}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete an image and its stored files",
    description="Any image, selected or not. Deleting the selected one leaves the asset without an image.",
    responses=error_responses(409),
)
async def delete_attempt(
    aid: uuid.UUID, tid: uuid.UUID, project: ProjectDep, session: SessionDep, storage: StorageDep
) -> Response:
    await service.delete_attempt(session, storage, project, aid, tid)
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
