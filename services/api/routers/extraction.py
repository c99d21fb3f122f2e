from __future__ import annotations

from fastapi import APIRouter, status

from services.api.deps import ProjectDep, SessionDep
from services.api.errors import error_responses
from services.api.jobs import JobsDep
from shared.costs import CostsOut, project_costs
from shared.extraction import service
from shared.extraction.api_schemas import ConfirmIn, ConfirmOut, PreviewOut
from shared.jobs.schemas import JobEnvelope
from shared.projects import stage5

router = APIRouter(prefix="/v1/projects/{pid}", tags=["extraction"])


@router.post(
    "/extract/preview",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Start pass 1: find the script's visual assets (extractor job)",
    description="Needs a style (409 `style_required`) and a script (404 `script_missing`).",
    responses=error_responses(409),
)
async def start_preview(project: ProjectDep, jobs: JobsDep) -> JobEnvelope:
    return jobs.accepted(await service.start_preview(jobs, project=project))


@router.get("/extract/preview", summary="The latest preview, each entity matched against existing assets")
async def get_preview(project: ProjectDep, session: SessionDep) -> PreviewOut:
    return await service.read_preview(session, project)


@router.post(
    "/extract/confirm",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Keep, defer or delete each entity; pass 2 describes what was kept (extractor job)",
    description="Entities without a decision are kept. Deferred assets get no description spend until "
    "restored. Deleted entities are remembered and not offered as new again. 200 without a job when "
    "nothing needs describing.",
    responses={
        200: {"model": ConfirmOut, "description": "Applied; nothing to describe"},
        **error_responses(409),
    },
)
async def confirm(body: ConfirmIn, project: ProjectDep, jobs: JobsDep) -> ConfirmOut:
    out, job = await service.confirm(jobs, project=project, body=body)
    return jobs.answer(out, status=status.HTTP_202_ACCEPTED if job else status.HTTP_200_OK, job=job)


@router.get("/costs", summary="LLM and image spend, by job kind")
async def costs(project: ProjectDep, session: SessionDep) -> CostsOut:
    return await project_costs(session, project.id)


@router.post(
    "/stages/5/lock",
    summary="Lock Stage 5 (needs a style and an active asset; images optional)",
    responses=error_responses(409),
)
async def lock(project: ProjectDep, session: SessionDep) -> stage5.StageOut:
    return await stage5.lock(session, project)


@router.post("/stages/5/unlock", summary="Unlock Stage 5 (always allowed)")
async def unlock(project: ProjectDep, session: SessionDep) -> stage5.StageOut:
    return await stage5.unlock(session, project)
