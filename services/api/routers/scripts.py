from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Response, status

from services.api.deps import ProjectDep, SessionDep
from services.api.errors import error_responses
from services.api.jobs import JobsDep
from services.api.lean import Fallback, LeanRead, lean
from services.api.rendering import json_body
from shared.common import INT32_MAX, PageParams, page_params
from shared.db_raw import driver_connection
from shared.errors import PayloadTooLarge
from shared.jobs.service import job_out
from shared.projects.stage5 import ensure_unlocked
from shared.scripts import service
from shared.scripts.parser import parse_script
from shared.scripts.schemas import ScenesOut, ScriptAccepted, ScriptOut, ScriptPut
from shared.scripts.tasks import ScriptRef, script_parse

router = APIRouter(prefix="/v1/projects/{pid}", tags=["script"])


@router.put(
    "/script",
    status_code=status.HTTP_201_CREATED,
    response_model=None,
    summary="Store a new version of the master script",
    description="Small scripts are parsed into scenes right away (201). Scripts above the inline "
    "limit are parsed by the extractor worker (202 with the job). Either way the existing assets are "
    "re-linked to the new scenes (no preview or confirm needed); assets the new text no longer names "
    "become `stale`. A text identical to the current version stores nothing and answers 200 with "
    "that version. While Stage 5 is locked: 409 `stage_locked`.",
    responses={
        200: {"model": ScriptOut, "description": "Same text as the current version: nothing changed"},
        201: {"model": ScriptOut},
        202: {"model": ScriptAccepted},
        **error_responses(409),
    },
)
async def put_script(body: ScriptPut, project: ProjectDep, jobs: JobsDep) -> ScriptOut | ScriptAccepted:
    settings, session = jobs.settings, jobs.session
    size = len(body.text.encode())
    if size > settings.max_script_bytes:
        raise PayloadTooLarge(
            f"The script is {size} bytes; the limit is {settings.max_script_bytes}",
            code="script_too_large",
            details={"limit": settings.max_script_bytes, "size": size},
        )
    ensure_unlocked(project)
    await service.lock_scripts(session, project.id)
    same = await service.identical_current(session, project_id=project.id, text=body.text, fmt=body.format)
    if same is not None:
        return jobs.answer(service.script_out(same), status=status.HTTP_200_OK)
    script = await service.add_version(session, project_id=project.id, text=body.text, fmt=body.format)
    if size <= settings.inline_parse_max_bytes:
        # Parsing is CPU work (tens of ms for a feature script); keep it off the event loop.
        parsed = await asyncio.to_thread(parse_script, script.text, script.format)
        await service.write_scenes(session, script, parsed)
        return jobs.answer(service.script_out(script), status=status.HTTP_201_CREATED)
    job = await jobs.start(script_parse, project=project, payload=ScriptRef(script_id=script.id))
    accepted = ScriptAccepted(script=service.script_out(script), job=job_out(job))
    return jobs.answer(accepted, status=status.HTTP_202_ACCEPTED, job=job)


@router.get("/script", summary="The current script version, with its text")
async def get_script(project: ProjectDep, session: SessionDep) -> ScriptOut:
    return service.script_out(await service.require_current_script(session, project.id), with_text=True)


@router.post(
    "/script/reparse",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Re-parse the current version into scenes (extractor job)",
    description="Links are kept: each scene's assets move to the re-parsed scene. While Stage 5 is "
    "locked: 409 `stage_locked`.",
)
async def reparse_script(project: ProjectDep, jobs: JobsDep) -> ScriptAccepted:
    # A re-parse rewrites the scenes and re-links the assets: a Stage 5 write like any other.
    ensure_unlocked(project)
    script = await service.require_current_script(jobs.session, project.id)
    job = await jobs.start(script_parse, project=project, payload=ScriptRef(script_id=script.id))
    accepted = ScriptAccepted(script=service.script_out(script), job=job_out(job))
    return jobs.answer(accepted, status=status.HTTP_202_ACCEPTED, job=job)


async def _scene_page(read: LeanRead) -> Response:
    """The scene list's lean path (services/api/lean.py): the page (ownership, version and total
    included) and its scenes' assets, two statements on the driver connection."""
    settings = read.settings
    limit = read.int_query("limit", settings.page_size_default, low=1, high=settings.page_size_max)
    offset = read.int_query("offset", 0, low=0, high=INT32_MAX)
    pid = read.uuid("pid")
    async with driver_connection(read.engine) as conn:
        rows = await service.OWNED_SCENE_PAGE.fetch(
            conn, project_id=pid, user=read.user, limit=limit, offset=offset
        )
        if not rows:
            raise Fallback
        links = await service.SCENE_DEPENDENCIES.fetch(conn, scene_ids=[r[0] for r in rows])
    body = {
        "items": service.scene_items(rows, links),
        "total": int(rows[0][7]),
        "limit": limit,
        "offset": offset,
        "script_version": rows[0][6],
    }
    return json_body(body)


@router.get(
    "/scenes",
    summary="Scenes of the current script, each with its assets grouped by type",
    description="Paginated like every list (`limit`, `offset`, `total`), in script order.",
    response_model=ScenesOut,
)
@lean(_scene_page)
async def list_scenes(
    project: ProjectDep, session: SessionDep, page: Annotated[PageParams, Depends(page_params)]
) -> Response:
    version, total, items = await service.scene_page(
        session, project.id, limit=page.limit, offset=page.offset
    )
    body = {
        "items": items,
        "total": total,
        "limit": page.limit,
        "offset": page.offset,
        "script_version": version,
    }
    return json_body(body)
