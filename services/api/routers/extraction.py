from __future__ import annotations

from fastapi import APIRouter, Response, status

from services.api.deps import IdempotencyKey, ProjectDep, RequestIdDep, SessionDep, SettingsDep
from services.api.errors import error_responses
from services.api.responses import accepted, point_at_job
from shared.costs import CostsOut, project_costs
from shared.extraction import service, stage
from shared.extraction.api_schemas import ConfirmIn, ConfirmOut, PreviewOut
from shared.jobs.schemas import JobEnvelope

router = APIRouter(prefix="/v1/projects/{pid}", tags=["extraction"])


@router.post(
    "/extract/preview",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Start pass 1: find the script's visual assets (extractor job)",
    description="Needs a style (409 `style_required`) and a script (404 `script_missing`).",
    responses=error_responses(409),
)
async def start_preview(
    project: ProjectDep,
    session: SessionDep,
    settings: SettingsDep,
    response: Response,
    request_id: RequestIdDep,
    idempotency_key: IdempotencyKey = None,
) -> JobEnvelope:
    job = await service.start_preview(
        session, settings=settings, project=project, request_id=request_id, idempotency_key=idempotency_key
    )
    return accepted(response, job)


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
async def confirm(
    body: ConfirmIn,
    project: ProjectDep,
    session: SessionDep,
    settings: SettingsDep,
    response: Response,
    request_id: RequestIdDep,
    idempotency_key: IdempotencyKey = None,
) -> ConfirmOut:
    out = await service.confirm(
        session,
        settings=settings,
        project=project,
        body=body,
        request_id=request_id,
        idempotency_key=idempotency_key,
    )
    if out.job is not None:
        point_at_job(response, out.job.id)
    else:
        response.status_code = status.HTTP_200_OK
    return out


@router.get("/costs", summary="LLM and image spend, by job kind")
async def costs(project: ProjectDep, session: SessionDep) -> CostsOut:
    return await project_costs(session, project.id)


@router.post(
    "/stages/5/lock",
    summary="Lock Stage 5 (needs a style and an active asset; images optional)",
    responses=error_responses(409),
)
async def lock(project: ProjectDep, session: SessionDep) -> stage.StageOut:
    return await stage.lock(session, project)


@router.post("/stages/5/unlock", summary="Unlock Stage 5 (always allowed)")
async def unlock(project: ProjectDep, session: SessionDep) -> stage.StageOut:
    return await stage.unlock(session, project)
