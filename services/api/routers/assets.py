from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from services.api.deps import ProjectDep, SessionDep, StorageDep
from shared.assets import repository as repo
from shared.assets import service
from shared.assets.schemas import AssetCreate, AssetOut, AssetPatch, AssetStatus, AssetType
from shared.common import Page, PageParams, page_params

router = APIRouter(prefix="/v1/projects/{pid}/assets", tags=["assets"])


@router.get("", summary="List assets", description="`status=active` (default) hides deferred assets.")
async def list_assets(
    project: ProjectDep,
    session: SessionDep,
    storage: StorageDep,
    page: Annotated[PageParams, Depends(page_params)],
    status_: Annotated[AssetStatus, Query(alias="status")] = "active",
    type_: Annotated[AssetType | None, Query(alias="type")] = None,
) -> Page[AssetOut]:
    rows, total = await repo.list_rows(
        session, project_id=project.id, status=status_, type_=type_, limit=page.limit, offset=page.offset
    )
    return Page(
        items=[service.to_out(r, storage) for r in rows], total=total, limit=page.limit, offset=page.offset
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


@router.post("/{aid}/restore", summary="Bring a deferred asset back")
async def restore_asset(
    aid: uuid.UUID, project: ProjectDep, session: SessionDep, storage: StorageDep
) -> AssetOut:
    await service.set_deferred(session, project, aid, False)
    return await service.read_asset(session, storage, project_id=project.id, asset_id=aid)
