from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sse_starlette.sse import EventSourceResponse

from services.api.deps import CurrentUser, ProjectDep, SessionDep
from services.api.errors import error_responses
from services.api.jobs import JobsDep, job_location
from services.api.lean import Fallback, LeanRead, lean
from services.api.rendering import json_of
from services.api.routers.events import EventsAuthDep, EventStream, JobEventData
from shared.common import Page, PageParams, page_params
from shared.db_raw import driver_connection
from shared.errors import NotFound
from shared.jobs import events
from shared.jobs.kinds import JobStatus, KindName
from shared.jobs.schemas import JobEnvelope, JobOut
from shared.jobs.service import cancel_job, get_owned_job, insert_job_alone, job_event, job_out, new_job
from shared.jobs.tasks import NoopPayload, noop
from shared.models import TERMINAL_STATUSES, Job

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])
project_router = APIRouter(prefix="/v1/projects/{pid}", tags=["jobs"])


@project_router.get(
    "/jobs",
    summary="The project's jobs, newest first",
    description="What is running, what failed: filter with `status` and `kind`, page with `limit` and "
    "`offset`. Follow them live with `GET /v1/projects/{pid}/events`.",
)
async def list_project_jobs(
    project: ProjectDep,
    session: SessionDep,
    page: Annotated[PageParams, Depends(page_params)],
    status_: Annotated[JobStatus | None, Query(alias="status", description="Only jobs in this state")] = None,
    kind: Annotated[KindName | None, Query(description="Only jobs of this kind")] = None,
) -> Page[JobOut]:
    where = [Job.project_id == project.id]
    if status_ is not None:
        where.append(Job.status == status_)
    if kind is not None:
        where.append(Job.kind == kind)
    total = await session.scalar(select(func.count()).select_from(Job).where(*where))
    rows = await session.scalars(
        select(Job)
        .where(*where)
        .order_by(Job.created_at.desc(), Job.id.desc())
        .limit(page.limit)
        .offset(page.offset)
    )
    return Page(items=[job_out(j) for j in rows], total=total or 0, limit=page.limit, offset=page.offset)


class PingIn(NoopPayload):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"hold_ms": 500}]})


@router.get("/{jid:uuid}", summary="A job's state, progress, result or error, and cost")
async def get_job(jid: uuid.UUID, user: CurrentUser, session: SessionDep) -> JobOut:
    return job_out(await get_owned_job(session, job_id=jid, owner_id=user))


@router.post(
    "/{jid:uuid}/cancel",
    summary="Cancel a queued or running job",
    description="A running job's results are discarded; a finished job is returned unchanged.",
)
async def cancel(jid: uuid.UUID, user: CurrentUser, session: SessionDep, request: Request) -> JobOut:
    return job_out(await cancel_job(session, job_id=jid, owner_id=user, redis=request.app.state.arq))


async def lean_ping(read: LeanRead) -> Response:
    """The probe without a body, the common case (monitors send nothing): its only write is the
    job row, so it is one INSERT on the driver connection, then the outbox push. A body (``hold_ms``)
    is the full handler's to validate."""
    headers = read.request.headers
    if headers.get("content-length", "0") != "0" or "transfer-encoding" in headers:
        raise Fallback
    job = new_job(
        settings=read.settings,
        kind=noop,
        owner_id=read.user,
        project_id=None,
        payload=NoopPayload(hold_ms=0),
        request_id=read.request.state.request_id,
    )
    async with driver_connection(read.engine) as conn:
        pending = await insert_job_alone(conn, job)
    await read.request.app.state.outbox.push([pending])
    return json_of(
        JobEnvelope(job=job_out(job)),
        status_code=status.HTTP_202_ACCEPTED,
        headers={"Location": job_location(job.id)},
    )


@router.post(
    "/ping",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Round-trip probe of the job pipeline",
    description="Creates a no-op job on the extractor queue; it succeeds as soon as a worker runs it.",
)
@lean(lean_ping)
async def ping(jobs: JobsDep, body: PingIn | None = None) -> JobEnvelope:
    payload = NoopPayload(hold_ms=body.hold_ms if body else 0)
    return jobs.accepted(await jobs.start(noop, project=None, payload=payload))


class JobStreamEvent(BaseModel):
    """One Server-Sent Event of ``GET /v1/jobs/{jid}/events`` (SSE fields event and data)."""

    event: Literal["state", "progress"] = Field(
        description="`state` for the first event and every status change, `progress` while running"
    )
    data: JobEventData = Field(description="SSE data field (JSON): the job as it now stands")


JOB_STREAM_DESCRIPTION = """\
Server-Sent Events (`text/event-stream`) of one job: first its current state (`event: state`), then
progress reports (`event: progress`) and status changes (`event: state`), until it ends
(`succeeded`, `failed` or `cancelled`: the last event carries its `result` or `error`), then the
stream closes. The `data:` field is JSON: `{id, kind, project_id, status, progress, message,
result?, error?}`.

Every (re)connection starts with the job's current state, so a reconnecting browser catches up by
itself. From a browser, open it with a token (`EventSource` cannot send `Authorization`):
`POST /v1/jobs/{jid}/events/token` (or the project's token) answers `url`, ready for
`new EventSource(base + url)`. A finished job's stream sends its final state and ends, so close
the `EventSource` on a final state to keep the browser from reopening it.
"""


@router.get(
    "/{jid:uuid}/events",
    summary="Server-Sent Events: state changes and progress until the job ends",
    description=JOB_STREAM_DESCRIPTION,
    response_class=EventStream,
    responses={
        200: {"model": JobStreamEvent, "description": "Events until the job ends"},
        **error_responses(401),
    },
)
async def job_events(
    jid: uuid.UUID, auth: EventsAuthDep, session: SessionDep, request: Request
) -> EventSourceResponse:
    # 404 before the stream starts: not the caller's, or outside the events token's job or project.
    job = await session.get(Job, jid)
    if job is None or job.owner_id != auth.owner_for(project_id=job.project_id, job_id=jid):
        raise NotFound("Job not found")
    sessions: async_sessionmaker[AsyncSession] = request.app.state.sessions
    return EventSourceResponse(_stream(request, sessions, jid), ping=15)


async def _load(sessions: async_sessionmaker[AsyncSession], jid: uuid.UUID) -> Job | None:
    async with sessions() as s:
        return await s.get(Job, jid)


async def _stream(
    request: Request,
    sessions: async_sessionmaker[AsyncSession],
    jid: uuid.UUID,
) -> AsyncIterator[dict[str, Any]]:
    pubsub = request.app.state.arq.pubsub()
    await pubsub.subscribe(events.channel(jid))
    try:
        # Subscribe first, then read the row: no state change can fall between the two.
        job = await _load(sessions, jid)
        if job is None:
            return
        yield {"event": "state", "data": json.dumps(job_event(job), default=str)}
        last_status = job.status
        while last_status not in TERMINAL_STATUSES:
            if await request.is_disconnected():
                return
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5.0)
            if message is None:
                # Quiet for a while: re-read the row in case an event was lost (best-effort pub/sub).
                job = await _load(sessions, jid)
                if job is not None and job.status != last_status:
                    last_status = job.status
                    yield {"event": "state", "data": json.dumps(job_event(job), default=str)}
                continue
            data = json.loads(message["data"])
            last_status = data.get("status", last_status)
            yield {"event": "progress" if last_status == "running" else "state", "data": json.dumps(data)}
            await asyncio.sleep(0)
    finally:
        await pubsub.unsubscribe()
        await pubsub.aclose()
