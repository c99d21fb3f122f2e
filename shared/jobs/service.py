"""Creating, reading and cancelling job rows. Creation happens inside the caller's transaction; the
enqueue happens after its commit (see queue.py). Routes start jobs through ``JobStarter``
(starter.py); this module is what it and the workers' own schedulers build on."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import structlog
from pydantic import BaseModel
from redis.asyncio import Redis
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.config import Settings
from shared.db import after_commit
from shared.errors import NotFound
from shared.jobs import events
from shared.jobs.kinds import ACTIVE_STATUSES, TERMINAL_STATUSES
from shared.jobs.queue import schedule_enqueue
from shared.jobs.registry import JobKind
from shared.jobs.schemas import JobCost, JobError, JobOut
from shared.models import Job

log = structlog.get_logger()


async def create_job(
    session: AsyncSession,
    *,
    settings: Settings,
    kind: JobKind[Any, Any],
    owner_id: uuid.UUID,
    project_id: uuid.UUID | None,
    payload: BaseModel,
    request_id: str | None = None,
    batch_id: uuid.UUID | None = None,
) -> Job:
    """Insert a queued job in the current transaction; it is enqueued after commit."""
    if not isinstance(payload, kind.payload):
        raise TypeError(f"{kind.name} takes {kind.payload.__name__}, not {type(payload).__name__}")
    job = Job(
        id=uuid.uuid4(),
        kind=kind.name,
        queue=kind.queue(settings),
        owner_id=owner_id,
        project_id=project_id,
        batch_id=batch_id,
        status="queued",
        progress=0.0,
        payload=payload.model_dump(mode="json"),
        max_tries=settings.job_max_tries,
        request_id=request_id,
        # Handed to the outbox now; the relay re-pushes it if Redis turns out not to hold it.
        enqueued_at=datetime.now(UTC),
    )
    session.add(job)
    await session.flush()
    schedule_enqueue(session, job)
    log.info("job.create.succeeded", job_id=str(job.id), kind=kind.name)
    return job


async def get_owned_job(session: AsyncSession, *, job_id: uuid.UUID, owner_id: uuid.UUID) -> Job:
    job = await session.get(Job, job_id)
    if job is None or job.owner_id != owner_id:
        raise NotFound("Job not found")
    return job


async def cancel_job(
    session: AsyncSession, *, job_id: uuid.UUID, owner_id: uuid.UUID, redis: Redis | None
) -> Job:
    """Cancel a queued or running job. A running job's final write is guarded on its status, so
    whatever it computes after this point is discarded (its heartbeat also notices within seconds
    and stops it); a finished job is returned unchanged. The event goes out after commit."""
    job = await get_owned_job(session, job_id=job_id, owner_id=owner_id)
    if job.status in TERMINAL_STATUSES:
        return job
    now = datetime.now(UTC)
    row = await session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status.in_(ACTIVE_STATUSES))
        .values(status="cancelled", finished_at=now, updated_at=now)
        .returning(Job)
        .execution_options(populate_existing=True)
    )
    cancelled = row.scalar_one_or_none() or job
    if cancelled.status == "cancelled":
        event = job_event(cancelled)
        after_commit(session, lambda: events.publish_job(redis, event))
    return cancelled


def job_out(job: Job) -> JobOut:
    return JobOut(
        id=job.id,
        kind=job.kind,
        status=job.status,
        progress=job.progress,
        message=job.progress_message,
        project_id=job.project_id,
        batch_id=job.batch_id,
        result=job.result,
        error=JobError(**job.error) if job.error else None,
        tries=job.tries,
        cost=JobCost(
            input_tokens=job.input_tokens,
            output_tokens=job.output_tokens,
            cache_write_tokens=job.cache_write_tokens,
            cache_read_tokens=job.cache_read_tokens,
            usd=float(job.cost_usd),
        ),
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
    )


def job_event(job: Job) -> dict[str, Any]:
    return {
        "id": str(job.id),
        "kind": job.kind,
        "project_id": str(job.project_id) if job.project_id else None,
        "status": job.status,
        "progress": job.progress,
        "message": job.progress_message,
        "error": job.error,
        "result": job.result,
    }
