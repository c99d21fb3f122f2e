"""Batches: the jobs one bulk action started (generate-all, generate-views), followed and cancelled as one.

A batch row only says which action made it; its status, counts and progress are computed from its
jobs whenever it is read, so they can never disagree with the jobs themselves."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from redis.asyncio import Redis
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import after_commit
from shared.errors import NotFound
from shared.jobs import events
from shared.jobs.kinds import ACTIVE_STATUSES, JOB_STATUSES, JobStatus
from shared.jobs.schemas import JOB_EXAMPLE, JobOut
from shared.jobs.service import job_event, job_out
from shared.models import Job
from shared.models.job import Batch

BatchKind = Literal["generate-all", "generate-views"]


BATCH_ID_EXAMPLE = "2e7a4c1f-9b3d-4f6e-8a5c-0d1b7e9f3a24"
BATCH_EXAMPLE: dict[str, Any] = {
    "id": BATCH_ID_EXAMPLE,
    "kind": "generate-all",
    "project_id": JOB_EXAMPLE["project_id"],
    "status": "running",
    "total": 2,
    "counts": {"queued": 1, "running": 1, "succeeded": 0, "failed": 0, "cancelled": 0},
    "progress": 0.25,
    "message": "0 of 2 done",
    "created_at": "2026-11-30T14:02:11.512Z",
    "cancelled_at": None,
    "jobs": [
        {
            **JOB_EXAMPLE,
            "kind": "image.generate",
            "status": "running",
            "progress": 0.5,
            "batch_id": BATCH_ID_EXAMPLE,
            "started_at": "2026-11-30T14:02:12.004Z",
        },
        {
            **JOB_EXAMPLE,
            "id": "7f3b8d2e-5c1a-4e9f-b0d6-2a4c8e1f9b35",
            "kind": "image.generate",
            "batch_id": BATCH_ID_EXAMPLE,
        },
    ],
}


class BatchOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [BATCH_EXAMPLE]})

    id: uuid.UUID = Field(description="The batch's id")
    kind: BatchKind = Field(description="The bulk action that started the batch")
    project_id: uuid.UUID = Field(description="The project the batch works on")
    status: JobStatus = Field(
        description="`queued` while no job has started, `running` while any job is queued or running, "
        "then `succeeded` (all succeeded), `failed` (any failed) or `cancelled` (any cancelled, none "
        "failed). An empty batch is `succeeded`."
    )
    total: int = Field(description="Jobs in the batch")
    counts: dict[JobStatus, int] = Field(
        description="Jobs by status; every status is present, zeros included",
        examples=[{"queued": 3, "running": 1, "succeeded": 7, "failed": 0, "cancelled": 0}],
    )
    progress: float = Field(description="0.0 to 1.0: finished jobs count 1, running ones their progress")
    message: str = Field(description="Where the batch stands, for a person", examples=["7 of 11 done"])
    created_at: datetime = Field(description="When the batch was started")
    cancelled_at: datetime | None = Field(description="When POST /v1/batches/{id}/cancel was called")
    jobs: list[JobOut] = Field(description="Oldest first")


class BatchEnvelope(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"batch": BATCH_EXAMPLE}]})

    batch: BatchOut = Field(description="The batch")


async def create_batch(
    session: AsyncSession, *, kind: BatchKind, owner_id: uuid.UUID, project_id: uuid.UUID
) -> Batch:
    batch = Batch(id=uuid.uuid4(), kind=kind, owner_id=owner_id, project_id=project_id)
    session.add(batch)
    await session.flush()
    return batch


async def get_owned_batch(session: AsyncSession, *, batch_id: uuid.UUID, owner_id: uuid.UUID) -> Batch:
    batch = await session.get(Batch, batch_id)
    if batch is None or batch.owner_id != owner_id:
        raise NotFound("Batch not found")
    return batch


async def batch_jobs(session: AsyncSession, batch_id: uuid.UUID) -> Sequence[Job]:
    rows = await session.scalars(
        select(Job)
        .where(Job.batch_id == batch_id)
        .order_by(Job.created_at, Job.id)
        .execution_options(populate_existing=True)  # after a cancel UPDATE in this session
    )
    return rows.all()


def batch_status(counts: Counter[JobStatus], total: int) -> JobStatus:
    if counts["queued"] + counts["running"]:
        return "queued" if counts["queued"] == total else "running"
    if counts["failed"]:
        return "failed"
    if counts["cancelled"]:
        return "cancelled"
    return "succeeded"


def batch_out(batch: Batch, jobs: Sequence[Job]) -> BatchOut:
    counts = Counter(j.status for j in jobs)
    total = len(jobs)
    done = sum(1 for j in jobs if j.status not in ACTIVE_STATUSES)
    progress = (
        sum(1.0 if j.status not in ACTIVE_STATUSES else j.progress for j in jobs) / total if total else 1.0
    )
    message = f"{done} of {total} done"
    if counts["failed"]:
        message += f", {counts['failed']} failed"
    if counts["cancelled"]:
        message += f", {counts['cancelled']} cancelled"
    return BatchOut(
        id=batch.id,
        kind=batch.kind,
        project_id=batch.project_id,
        status=batch_status(counts, total),
        total=total,
        counts={s: counts[s] for s in JOB_STATUSES},
        progress=round(progress, 4),
        message=message,
        created_at=batch.created_at,
        cancelled_at=batch.cancelled_at,
        jobs=[job_out(j) for j in jobs],
    )


async def read_batch(session: AsyncSession, batch: Batch) -> BatchOut:
    return batch_out(batch, await batch_jobs(session, batch.id))


async def cancel_batch(
    session: AsyncSession, *, batch_id: uuid.UUID, owner_id: uuid.UUID, redis: Redis | None
) -> BatchOut:
    """Cancel every queued or running job of the batch in one statement (running ones discard what
    they compute, see ``cancel_job``); finished jobs stay as they are. Events go out after commit."""
    batch = await get_owned_batch(session, batch_id=batch_id, owner_id=owner_id)
    now = datetime.now(UTC)
    rows = await session.scalars(
        update(Job)
        .where(Job.batch_id == batch.id, Job.status.in_(ACTIVE_STATUSES))
        .values(status="cancelled", finished_at=now, updated_at=now)
        .returning(Job)
        .execution_options(populate_existing=True)
    )
    cancelled = [job_event(j) for j in rows.all()]
    if batch.cancelled_at is None:
        batch.cancelled_at = now
        await session.flush()

    if cancelled:
        after_commit(session, lambda: events.publish_jobs(redis, cancelled))
    return await read_batch(session, batch)
