from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Response, status

from services.api.deps import CurrentUser, SessionDep, StorageDep
from shared.assets import library
from shared.common import Page, PageParams, page_params

router = APIRouter(prefix="/v1/library", tags=["library"])


@router.get("", summary="Your library of global assets, newest first")
async def list_library(
    user: CurrentUser,
    session: SessionDep,
    storage: StorageDep,
    page: Annotated[PageParams, Depends(page_params)],
) -> Page[library.LibraryAssetOut]:
    rows, total = await library.list_library(session, user, page)
    return Page(
        items=[library.library_out(g, storage) for g in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.get("/{gid:uuid}", summary="One library asset")
async def get_library_asset(
    gid: uuid.UUID, user: CurrentUser, session: SessionDep, storage: StorageDep
) -> library.LibraryAssetOut:
    return library.library_out(await library.get_owned(session, user, gid), storage)


@router.delete("/{gid:uuid}", status_code=status.HTTP_204_NO_CONTENT, summary="Remove it from your library")
async def delete_library_asset(
    gid: uuid.UUID, user: CurrentUser, session: SessionDep, storage: StorageDep
) -> Response:
    await library.delete_library_asset(session, storage, user, gid)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
