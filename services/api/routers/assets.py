from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from services.api.deps import ProjectDep, SessionDep, StorageDep
from services.api.jobs import JobsDep
from services.api.rendering import json_of
from shared.assets import library, service
from shared.assets import repository as repo
from shared.assets.merge import merge_assets
from shared.assets.schemas import AssetCreate, AssetOut, AssetPatch, AssetStatus, AssetType
from shared.common import Page, PageParams, page_params
from shared.extraction.tasks import DescribePayload, asset_describe
from shared.jobs.schemas import JobOut
from shared.jobs.service import job_out

router = APIRouter(prefix="/v1/projects/{pid}/assets", tags=["assets"])


@router.get(
    "",
    summary="List assets",
    description="`status=active` (default) hides deferred assets.",
    response_model=Page[AssetOut],
)
async def list_assets(
    project: ProjectDep,
    session: SessionDep,
    storage: StorageDep,
    page: Annotated[PageParams, Depends(page_params)],
    status_: Annotated[AssetStatus, Query(alias="status")] = "active",
    type_: Annotated[AssetType | None, Query(alias="type")] = None,
) -> Response:
    rows, total = await repo.list_rows(
        session, project_id=project.id, status=status_, type_=type_, limit=page.limit, offset=page.offset
    )
    items = [service.to_out(r, storage) for r in rows]
    return json_of(
        Page[AssetOut].model_construct(items=items, total=total, limit=page.limit, offset=page.offset)
    )


@router.post("", status_code=status.HTTP_201_CREATED, summary="Add an asset by hand (source=manual)")
async def create_asset(
    body: AssetCreate, project: ProjectDep, session: SessionDep, storage: StorageDep
) -> AssetOut:
    asset = await service.create_manual(session, project, body)
    return await service.read_asset(session, storage, project_id=project.id, asset_id=asset.id)


@router.get("/{aid}", summary="One asset")
async def get_asset(
    aid: uuid.UUID, project: ProjectDep, session: SessionDep, storage: StorageDep
) -> AssetOut:
    return await service.read_asset(session, storage, project_id=project.id, asset_id=aid)


@router.patch(
    "/{aid}",
    summary="Edit an asset",
    description="Send `version` to refuse the edit (409 `version_conflict`) if someone changed it meanwhile.",
)
async def patch_asset(
    aid: uuid.UUID, body: AssetPatch, project: ProjectDep, session: SessionDep, storage: StorageDep
) -> AssetOut:
    await service.patch_asset(session, project, aid, body)
    return await service.read_asset(session, storage, project_id=project.id, asset_id=aid)


@router.delete("/{aid}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete an asset and its images")
async def delete_asset(
    aid: uuid.UUID, project: ProjectDep, session: SessionDep, storage: StorageDep
) -> Response:
    await service.delete_asset(session, storage, project, aid)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{aid}/defer", summary="Set aside for now: hidden from the active list, scenes kept")
async def defer_asset(
    aid: uuid.UUID, project: ProjectDep, session: SessionDep, storage: StorageDep
) -> AssetOut:
    await service.set_deferred(session, project, aid, True)
    return await service.read_asset(session, storage, project_id=project.id, asset_id=aid)


class RestoreOut(BaseModel):
    asset: AssetOut
    job: JobOut | None = Field(description="The description pass, when the asset was never described")


@router.post(
    "/{aid}/restore",
    summary="Bring a deferred asset back",
    description="Restoring an asset that was deferred before its description pass starts that pass.",
)
async def restore_asset(
    aid: uuid.UUID, project: ProjectDep, jobs: JobsDep, storage: StorageDep
) -> RestoreOut:
    asset = await service.set_deferred(jobs.session, project, aid, False)
    job = None
    if asset.described_at is None:
        job = await jobs.start(asset_describe, project=project, payload=DescribePayload(asset_ids=[asset.id]))
    out = await service.read_asset(jobs.session, storage, project_id=project.id, asset_id=aid)
    return jobs.answer(RestoreOut(asset=out, job=job_out(job) if job else None), status=200, job=job)


class MergeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    source_id: uuid.UUID
    target_id: uuid.UUID
    description: str | None = Field(default=None, max_length=8000, description="Omit to keep the target's")


class CloneIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    global_asset_id: uuid.UUID


@router.post("/merge", summary="Merge source into target: aliases, scenes and images united, source removed")
async def merge(body: MergeIn, project: ProjectDep, session: SessionDep, storage: StorageDep) -> AssetOut:
    target = await merge_assets(
        session, project, source_id=body.source_id, target_id=body.target_id, description=body.description
    )
    return await service.read_asset(session, storage, project_id=project.id, asset_id=target.id)


@router.post("/clone", status_code=status.HTTP_201_CREATED, summary="Copy a library asset into this project")
async def clone(body: CloneIn, project: ProjectDep, session: SessionDep, storage: StorageDep) -> AssetOut:
    asset = await library.clone(session, storage, project, body.global_asset_id)
    return await service.read_asset(session, storage, project_id=project.id, asset_id=asset.id)


@router.post(
    "/{aid}/promote", status_code=status.HTTP_201_CREATED, summary="Copy this asset into your library"
)
async def promote(
    aid: uuid.UUID, project: ProjectDep, session: SessionDep, storage: StorageDep
) -> library.LibraryAssetOut:
    return library.library_out(await library.promote(session, storage, project, aid), storage)
