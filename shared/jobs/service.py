"""Creating, reading and cancelling job rows. Creation happens inside the caller's transaction; the
enqueue happens after its commit (see queue.py). Routes start jobs through ``JobStarter``
(starter.py); this module is what it and the workers' own schedulers build on."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import structlog
from pydantic import BaseModel
from redis.asyncio import Redis
from sqlalchemy import bindparam, insert, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.config import Settings
from shared.db import after_commit
from shared.db_raw import RawQuery
from shared.errors import NotFound
from shared.jobs import events
from shared.jobs.kinds import ACTIVE_STATUSES, TERMINAL_STATUSES
from shared.jobs.queue import Pending, schedule_enqueue
from shared.jobs.registry import JobKind
from shared.jobs.schemas import JobCost, JobError, JobOut
from shared.models import Job

log = structlog.get_logger()


def new_job(
    *,
    settings: Settings,
    kind: JobKind[Any, Any],
    owner_id: uuid.UUID,
    project_id: uuid.UUID | None,
    payload: BaseModel,
    request_id: str | None = None,
    batch_id: uuid.UUID | None = None,
) -> Job:
    """A queued job row, not yet written: the one definition of a new job, whether a session
    writes it (``create_jobs``) or a single statement does (``insert_job_alone``). Every column the
    model would default is given, so both write the same row."""
    if not isinstance(payload, kind.payload):
        raise TypeError(f"{kind.name} takes {kind.payload.__name__}, not {type(payload).__name__}")
    return Job(
        id=uuid.uuid4(),
        kind=kind.name,
        queue=kind.queue(settings),
        owner_id=owner_id,
        project_id=project_id,
        batch_id=batch_id,
        status="queued",
        progress=0.0,
        payload=payload.model_dump(mode="json"),
        tries=0,
        max_tries=settings.job_max_tries,
        request_id=request_id,
        input_tokens=0,
        output_tokens=0,
        cache_write_tokens=0,
        cache_read_tokens=0,
        cost_usd=Decimal(0),
        # Handed to the outbox now; the relay re-pushes it if Redis turns out not to hold it.
        enqueued_at=datetime.now(UTC),
    )


async def create_jobs(session: AsyncSession, jobs: list[Job]) -> list[Job]:
    """Insert queued jobs (from ``new_job``) in the current transaction, in one statement however
    many there are (a bulk action's hundreds); they are enqueued after commit, in one round trip."""
    session.add_all(jobs)
    await session.flush()
    for job in jobs:
        schedule_enqueue(session, job)
        log.info("job.create.succeeded", job_id=str(job.id), kind=job.kind)
    return jobs


_NEW_JOB_COLUMNS = (
    "id",
    "kind",
    "queue",
    "owner_id",
    "project_id",
    "batch_id",
    "status",
    "progress",
    "payload",
    "tries",
    "max_tries",
    "request_id",
    "input_tokens",
    "output_tokens",
    "cache_write_tokens",
    "cache_read_tokens",
    "cost_usd",
    "enqueued_at",
)
_job_columns = Job.__table__.c
_INSERT_NEW_JOB = RawQuery.of(
    insert(Job)
    .values({name: bindparam(name, type_=_job_columns[name].type) for name in _NEW_JOB_COLUMNS})
    .returning(Job.created_at, Job.updated_at)
)


async def insert_job_alone(conn: Any, job: Job) -> Pending:
    """Write ``job`` (from ``new_job``) as one statement on the driver connection ``conn``, outside
    any transaction: for a request whose only write is the job row, where BEGIN and COMMIT around
    it would be two more round trips. The row is the outbox all the same: the caller hands the
    returned ``Pending`` to ``Outbox.push`` once it has released ``conn`` (a push waiting on a slow
    or absent Redis must not hold a pool connection), and the relay re-pushes it if that fails."""
    params = {name: getattr(job, name) for name in _NEW_JOB_COLUMNS}
    # An INSERT ... RETURNING always returns its row (or raises).
    job.created_at, job.updated_at = (await _INSERT_NEW_JOB.fetch(conn, **params))[0]
    log.info("job.create.succeeded", job_id=str(job.id), kind=job.kind)
    return Pending(job.id, job.kind, job.queue, job.project_id)


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
