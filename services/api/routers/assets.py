from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from services.api.deps import ProjectDep, SessionDep, StorageDep
from services.api.errors import error_responses
from services.api.jobs import JobsDep
from services.api.lean import Fallback, LeanRead, lean
from services.api.rendering import json_page
from shared.assets import library, service
from shared.assets import repository as repo
from shared.assets.merge import merge_assets
from shared.assets.schemas import ASSET_EXAMPLE, AssetCreate, AssetOut, AssetPatch, AssetStatus, AssetType
from shared.common import INT32_MAX, Page, PageParams, page_params
from shared.db_raw import driver_connection
from shared.errors import AppError
from shared.extraction.tasks import DescribePayload, asset_describe
from shared.jobs.schemas import JOB_EXAMPLE, JobOut
from shared.jobs.service import job_out

router = APIRouter(prefix="/v1/projects/{pid}/assets", tags=["assets"])

ETAG_HEADER = {"ETag": {"description": "The asset's version, for `If-Match`", "schema": {"type": "string"}}}


def etag(version: int) -> str:
    # The version says everything an edit can change; signed image URLs in the body rotate without
    # the asset changing, and a conditional edit must not fail for that.
    return f'"{version}"'


def _with_etag(response: Response, out: AssetOut) -> AssetOut:
    response.headers["ETag"] = etag(out.version)
    return out


def _matches(if_match: str, version: int) -> bool:
    if if_match.strip() == "*":
        return True
    tags = {t.strip().removeprefix("W/") for t in if_match.split(",")}
    return etag(version) in tags


_STATUSES = ("active", "deferred", "all")
_TYPES = ("character", "prop", "location", "extra_archetype")


async def _asset_page(read: LeanRead) -> Response:
    """The list's lean path (services/api/lean.py): one statement, ownership and total included;
    any parameter it does not take as given, and an empty page, go to the full handler."""
    settings = read.settings
    status_ = read.choice("status", "active", _STATUSES)
    type_ = read.choice("type", None, _TYPES)
    limit = read.int_query("limit", settings.page_size_default, low=1, high=settings.page_size_max)
    offset = read.int_query("offset", 0, low=0, high=INT32_MAX)
    params = {
        "user": read.user,
        "project_id": read.uuid("pid"),
        "type": type_,
        "limit": limit,
        "offset": offset,
    }
    async with driver_connection(read.engine) as conn:
        rows = await repo.owned_list(status_ or "active", type_ is not None).fetch(conn, **params)
    if not rows:
        raise Fallback
    items = [service.asset_item(r, read.storage) for r in rows]
    return json_page(items, total=int(rows[0][-1]), limit=limit, offset=offset)


@router.get(
    "",
    summary="List assets",
    description="`status=active` (default) hides deferred assets.",
    response_model=Page[AssetOut],
)
@lean(_asset_page)
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
    items = [service.asset_item(r, storage) for r in rows]
    return json_page(items, total=total, limit=page.limit, offset=page.offset)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Add an asset by hand (source=manual)",
    responses={201: {"headers": ETAG_HEADER}, **error_responses(409)},
)
async def create_asset(
    body: AssetCreate, project: ProjectDep, session: SessionDep, storage: StorageDep, response: Response
) -> AssetOut:
    asset = await service.create_manual(session, project, body)
    out = await service.read_asset(session, storage, project_id=project.id, asset_id=asset.id)
    return _with_etag(response, out)


@router.get("/{aid:uuid}", summary="One asset", responses={200: {"headers": ETAG_HEADER}})
async def get_asset(
    aid: uuid.UUID, project: ProjectDep, session: SessionDep, storage: StorageDep, response: Response
) -> AssetOut:
    out = await service.read_asset(session, storage, project_id=project.id, asset_id=aid)
    return _with_etag(response, out)


@router.patch(
    "/{aid:uuid}",
    summary="Edit an asset",
    description="Refuse the edit if someone changed the asset since you read it: send the `ETag` you "
    "read as `If-Match` (412 `precondition_failed`), or `version` in the body (409 `version_conflict`).",
    responses={200: {"headers": ETAG_HEADER}, **error_responses(409, 412)},
)
async def patch_asset(
    aid: uuid.UUID,
    body: AssetPatch,
    project: ProjectDep,
    session: SessionDep,
    storage: StorageDep,
    response: Response,
    if_match: Annotated[
        str | None, Header(alias="If-Match", description="The asset's `ETag` as you read it, or `*`")
    ] = None,
) -> AssetOut:
    if if_match is not None:
        # Locked: no edit can slip in between this check and the one below.
        current = await service.require_asset(session, project, aid, for_update=True)
        if not _matches(if_match, current.version):
            raise AppError(
                "The asset changed since you read it",
                code="precondition_failed",
                status=status.HTTP_412_PRECONDITION_FAILED,
                details={"current_version": current.version, "etag": etag(current.version)},
            )
    await service.patch_asset(session, project, aid, body)
    out = await service.read_asset(session, storage, project_id=project.id, asset_id=aid)
    return _with_etag(response, out)


@router.delete(
    "/{aid:uuid}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete an asset and its images",
    responses=error_responses(409),
)
async def delete_asset(
    aid: uuid.UUID, project: ProjectDep, session: SessionDep, storage: StorageDep
) -> Response:
    await service.delete_asset(session, storage, project, aid)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{aid:uuid}/defer",
    summary="Set aside for now: hidden from the active list, scenes kept",
    responses=error_responses(409),
)
async def defer_asset(
    aid: uuid.UUID, project: ProjectDep, session: SessionDep, storage: StorageDep
) -> AssetOut:
    await service.set_deferred(session, project, aid, True)
    return await service.read_asset(session, storage, project_id=project.id, asset_id=aid)


class RestoreOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"asset": ASSET_EXAMPLE, "job": {**JOB_EXAMPLE, "kind": "asset.describe"}}]
        }
    )

    asset: AssetOut = Field(description="The asset, active again")
    job: JobOut | None = Field(description="The description pass, when the asset was never described")


@router.post(
    "/{aid:uuid}/restore",
    summary="Bring a deferred asset back",
    description="Restoring an asset that was deferred before its description pass starts that pass.",
    responses=error_responses(409),
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
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "source_id": "3c8e1f0a-6b2d-4a9e-8f7c-5d1b2e3a4f60",
                    "target_id": "9a4d2c7e-1f3b-4e8a-b6d5-0c2e9f8a7b13",
                    "description": "Tall, rain-soaked trench coat, tired eyes",
                }
            ]
        },
    )
    source_id: uuid.UUID = Field(description="The asset merged away; it is removed")
    target_id: uuid.UUID = Field(
        description="The asset that stays and receives the source's aliases, scenes and images"
    )
    description: str | None = Field(default=None, max_length=8000, description="Omit to keep the target's")


class CloneIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"global_asset_id": "0b6e4f2a-8c1d-4e3f-a5b7-9d2c1e0f3a68"}]},
    )
    global_asset_id: uuid.UUID = Field(description="The library asset to copy into this project")


@router.post(
    "/merge",
    summary="Merge source into target: aliases, scenes and images united, source removed",
    responses=error_responses(404, 409),
)
async def merge(body: MergeIn, project: ProjectDep, session: SessionDep, storage: StorageDep) -> AssetOut:
    target = await merge_assets(
        session, project, source_id=body.source_id, target_id=body.target_id, description=body.description
    )
    return await service.read_asset(session, storage, project_id=project.id, asset_id=target.id)


@router.post(
    "/clone",
    status_code=status.HTTP_201_CREATED,
    summary="Copy a library asset into this project",
    responses=error_responses(404, 409),
)
async def clone(body: CloneIn, project: ProjectDep, session: SessionDep, storage: StorageDep) -> AssetOut:
    asset = await library.clone(session, storage, project, body.global_asset_id)
    return await service.read_asset(session, storage, project_id=project.id, asset_id=asset.id)


@router.post(
    "/{aid:uuid}/promote", status_code=status.HTTP_201_CREATED, summary="Copy this asset into your library"
)
async def promote(
    aid: uuid.UUID, project: ProjectDep, session: SessionDep, storage: StorageDep
) -> library.LibraryAssetOut:
    return library.library_out(await library.promote(session, storage, project, aid), storage)
