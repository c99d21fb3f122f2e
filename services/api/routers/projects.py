from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response, status

from services.api.deps import CurrentUser, ProjectDep, SessionDep, StorageDep
from shared.common import Page, PageParams, page_params
from shared.projects import service
from shared.projects.schemas import ProjectCreate, ProjectOut, ProjectPatch
from shared.storage.cleanup import delete_after_commit

router = APIRouter(prefix="/v1/projects", tags=["projects"])


@router.post("", status_code=status.HTTP_201_CREATED, summary="Create a project")
async def create_project(body: ProjectCreate, user: CurrentUser, session: SessionDep) -> ProjectOut:
    project = await service.create_project(session, owner_id=user, data=body)
    return await service.project_out(session, project)


@router.get("", summary="List your projects, newest first")
async def list_projects(
    user: CurrentUser, session: SessionDep, page: Annotated[PageParams, Depends(page_params)]
) -> Page[ProjectOut]:
    rows, total = await service.list_projects(session, owner_id=user, page=page)
    return Page(
        items=rows,
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.get("/{pid}", summary="One project")
async def get_project(project: ProjectDep, session: SessionDep) -> ProjectOut:
    return await service.project_out(session, project)


@router.patch("/{pid}", summary="Edit title or aspect ratio")
async def patch_project(body: ProjectPatch, project: ProjectDep, session: SessionDep) -> ProjectOut:
    project = await service.patch_project(session, project, body)
    return await service.project_out(session, project)


@router.delete("/{pid}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a project and its images")
async def delete_project(project: ProjectDep, session: SessionDep, storage: StorageDep) -> Response:
    delete_after_commit(session, storage, await service.delete_project(session, project))
    return Response(status_code=status.HTTP_204_NO_CONTENT)
