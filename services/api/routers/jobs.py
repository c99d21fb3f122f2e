from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request, status
from pydantic import ConfigDict
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sse_starlette.sse import EventSourceResponse

from services.api.deps import CurrentUser, SessionDep
from services.api.jobs import JobsDep
from shared.jobs import events
from shared.jobs.schemas import JobEnvelope, JobOut
from shared.jobs.service import cancel_job, get_owned_job, job_event, job_out
from shared.jobs.tasks import NoopPayload, noop
from shared.models import TERMINAL_STATUSES, Job

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])


class PingIn(NoopPayload):
    model_config = ConfigDict(extra="forbid")


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


@router.post(
    "/ping",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Round-trip probe of the job pipeline",
    description="Creates a no-op job on the extractor queue; it succeeds as soon as a worker runs it.",
)
async def ping(jobs: JobsDep, body: PingIn | None = None) -> JobEnvelope:
    payload = NoopPayload(hold_ms=body.hold_ms if body else 0)
    return jobs.accepted(await jobs.start(noop, project=None, payload=payload))


@router.get(
    "/{jid:uuid}/events",
    summary="Server-Sent Events: state changes and progress until the job ends",
    response_class=EventSourceResponse,
)
async def job_events(
    jid: uuid.UUID, user: CurrentUser, session: SessionDep, request: Request
) -> EventSourceResponse:
    await get_owned_job(session, job_id=jid, owner_id=user)  # 404 before the stream starts
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
