"""Creating, reading and cancelling job rows. Creation happens inside the caller's transaction; the
enqueue is scheduled for after its commit (see queue.py)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.config import Settings
from shared.errors import NotFound
from shared.jobs.kinds import KINDS
from shared.jobs.queue import schedule_enqueue
from shared.jobs.schemas import JobCost, JobError, JobOut
from shared.models import TERMINAL_STATUSES, Job

log = structlog.get_logger()


async def create_job(
    session: AsyncSession,
    *,
    settings: Settings,
    kind: str,
    owner_id: uuid.UUID,
    project_id: uuid.UUID | None,
    payload: dict[str, Any],
    idempotency_key: str | None = None,
    request_id: str | None = None,
) -> Job:
    """Insert a queued job in the current transaction. With an ``idempotency_key`` already used by
    this owner for this kind, the existing job is returned and nothing new is written."""
    if idempotency_key:
        existing = await session.scalar(
            select(Job).where(Job.owner_id == owner_id, Job.idempotency_key == idempotency_key)
        )
        if existing is not None:
            return existing
    spec = KINDS[kind]
    job = Job(
        id=uuid.uuid4(),
        kind=kind,
        queue=spec.queue(settings),
        owner_id=owner_id,
        project_id=project_id,
        status="queued",
        progress=0.0,
        payload=payload,
        max_tries=settings.job_max_tries,
        idempotency_key=idempotency_key,
        request_id=request_id,
    )
    session.add(job)
    await session.flush()
    schedule_enqueue(session, job)
    log.info("job.create.succeeded", job_id=str(job.id), kind=kind)
    return job


async def get_owned_job(session: AsyncSession, *, job_id: uuid.UUID, owner_id: uuid.UUID) -> Job:
    job = await session.scalar(select(Job).where(Job.id == job_id, Job.owner_id == owner_id))
    if job is None:
        raise NotFound("Job not found")
    return job


async def cancel_job(session: AsyncSession, *, job_id: uuid.UUID, owner_id: uuid.UUID) -> Job:
    """Cancel a queued or running job. A running job's final write is guarded on status, so
    whatever it computes after this point is discarded; a finished job is returned unchanged."""
    job = await get_owned_job(session, job_id=job_id, owner_id=owner_id)
    if job.status in TERMINAL_STATUSES:
        return job
    now = datetime.now(UTC)
    row = await session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status.in_(("queued", "running")))
        .values(status="cancelled", finished_at=now, updated_at=now)
        .returning(Job)
        .execution_options(populate_existing=True)
    )
    return row.scalar_one_or_none() or job


def job_out(job: Job) -> JobOut:
    return JobOut(
        id=job.id,
        kind=job.kind,
        status=job.status,
        progress=job.progress,
        project_id=job.project_id,
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
        "status": job.status,
        "progress": job.progress,
        "error": job.error,
        "result": job.result,
    }
