from __future__ import annotations

from fastapi import APIRouter, status

from services.api.deps import CurrentUser, ProjectDep, SessionDep
from services.api.errors import error_responses
from shared.projects.schemas import ProjectOut
from shared.projects.service import project_out
from shared.styles import service
from shared.styles.schemas import CapsuleCreate, CapsuleOut, StyleSet

router = APIRouter(tags=["styles"])


@router.get("/v1/style-capsules", summary="Built-in presets, then your own capsules")
async def list_capsules(user: CurrentUser, session: SessionDep) -> list[CapsuleOut]:
    return [service.capsule_out(c) for c in await service.list_capsules(session, owner_id=user)]


@router.post("/v1/style-capsules", status_code=status.HTTP_201_CREATED, summary="Create your own capsule")
async def create_capsule(body: CapsuleCreate, user: CurrentUser, session: SessionDep) -> CapsuleOut:
    return service.capsule_out(await service.create_capsule(session, owner_id=user, data=body))


@router.put(
    "/v1/projects/{pid}/style",
    summary="Set the project's visual style",
    description="A capsule or a manual tone (preset + text). Changing it after images exist "
    "answers 409 `style_change_needs_confirmation` with the impact unless "
    "`confirm_impact` is true.",
    responses=error_responses(404, 409),
)
async def set_style(body: StyleSet, project: ProjectDep, session: SessionDep) -> ProjectOut:
    await service.set_style(session, project, body)
    return await project_out(session, project)
