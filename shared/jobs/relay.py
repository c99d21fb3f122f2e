"""The outbox relay and the reaper, run on every tick by every worker, for every queue.

- Queued rows that never reached Redis (Redis down at commit time, or the process died between
  commit and enqueue), and queued rows a restarted Redis lost (it keeps nothing on disk here), are
  pushed again. arq ignores a job id it still holds, so a push too many is harmless.
- Running rows whose heartbeat stopped belong to a dead worker: their arq lease
  (``arq:in-progress:<id>``, which would otherwise hold the job for the whole job timeout) is
  dropped and the row goes back to ``queued``, so another worker takes it within seconds. The
  delivery's ``tries`` fence keeps a worker that was only slow from writing anything afterwards.
  A job that has used up its tries fails with ``worker_lost`` instead of looping.

``FOR UPDATE SKIP LOCKED`` lets several processes run this at once without fighting.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import structlog
from arq.connections import ArqRedis
from arq.constants import in_progress_key_prefix, job_key_prefix
from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.config import Settings
from shared.db import session_scope
from shared.jobs.queue import enqueue
from shared.jobs.registry import load_all
from shared.models import Job

log = structlog.get_logger()


def _lease_age_ms(settings: Settings, ttl_ms: int) -> float:
    """How long ago arq set a job's in-progress lease, from the time it has left: arq sets it to
    the longest function timeout plus 10 s (our functions: the job timeout plus 5 s)."""
    longest = max((k.timeout_s or settings.job_timeout_s) for k in load_all().values())
    return (longest + 5 + 10) * 1000 - ttl_ms


def queues(settings: Settings) -> list[str]:
    return [settings.extractor_queue, settings.imagegen_queue]


async def relay_once(
    sessions: async_sessionmaker[AsyncSession], pool: ArqRedis, settings: Settings, *, limit: int = 500
) -> int:
    """Push stranded queued rows of every queue; returns how many were pushed.

    A row never pushed is pushed once it is older than ``relay_min_age_s`` (younger ones are left to
    the request that wrote them). A row pushed a while ago is pushed again only when Redis no longer
    holds its arq job (a restarted Redis lost it): one ``EXISTS`` per row, pipelined."""
    now = datetime.now(UTC)
    young = now - timedelta(seconds=settings.relay_min_age_s)
    settled = now - timedelta(seconds=max(2.0, settings.relay_interval_s * 2))
    async with session_scope(sessions) as session:
        rows = (
            await session.execute(
                select(Job.id, Job.kind, Job.queue, Job.enqueued_at)
                .where(
                    Job.queue.in_(queues(settings)),
                    Job.status == "queued",
                    Job.created_at < young,
                    or_(Job.enqueued_at.is_(None), Job.enqueued_at < settled),
                )
                .order_by(Job.created_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        ).all()
        pushed_before = [r for r in rows if r.enqueued_at is not None]
        if pushed_before:
            try:
                async with pool.pipeline(transaction=False) as pipe:
                    for r in pushed_before:
                        pipe.exists(job_key_prefix + str(r.id))
                        pipe.pttl(in_progress_key_prefix + str(r.id))
                    answers = await pipe.execute()
            except Exception as exc:
                log.warning("job.relay.deferred", error=repr(exc))
                return 0
            lost: set[uuid.UUID] = set()
            orphaned: list[str] = []
            for r, held, lease_ttl_ms in zip(pushed_before, answers[::2], answers[1::2], strict=True):
                if not held:
                    lost.add(r.id)
                elif (
                    lease_ttl_ms > 0
                    and _lease_age_ms(settings, lease_ttl_ms) > settings.job_dead_after_s * 1000
                ):
                    # A worker took the job from Redis long ago but never claimed the row (it died in
                    # between): its lease would hold the job for the whole job timeout. Drop it.
                    orphaned.append(in_progress_key_prefix + str(r.id))
            if orphaned:
                await pool.delete(*orphaned)
                log.warning("job.relay.lease_dropped", count=len(orphaned))
            rows = [r for r in rows if r.enqueued_at is None or r.id in lost]
        done = [row.id for row in rows if await enqueue(pool, row.id, row.kind, row.queue)]
        if done:
            await session.execute(update(Job).where(Job.id.in_(done)).values(enqueued_at=now))
    if done:
        log.info("job.relay.enqueued", count=len(done))
    return len(done)


async def reap_once(
    sessions: async_sessionmaker[AsyncSession], pool: ArqRedis, settings: Settings, *, limit: int = 500
) -> int:
    """Hand running jobs of dead workers to live ones; returns how many were recovered."""
    now = datetime.now(UTC)
    dead = now - timedelta(seconds=settings.job_dead_after_s)
    recovered = 0
    async with session_scope(sessions) as session:
        rows = (
            await session.execute(
                select(Job.id, Job.kind, Job.queue, Job.tries, Job.max_tries)
                .where(
                    Job.queue.in_(queues(settings)),
                    Job.status == "running",
                    or_(Job.heartbeat_at < dead, and_(Job.heartbeat_at.is_(None), Job.updated_at < dead)),
                )
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        ).all()
        for row in rows:
            if row.tries >= row.max_tries:
                await session.execute(
                    update(Job)
                    .where(Job.id == row.id)
                    .values(
                        status="failed",
                        finished_at=now,
                        updated_at=now,
                        error={"code": "worker_lost", "message": "The job's worker stopped too many times"},
                    )
                )
                log.warning("job.reap.failed", job_id=str(row.id), tries=row.tries)
                continue
            try:
                await pool.delete(in_progress_key_prefix + str(row.id))
            except Exception as exc:
                log.warning("job.reap.deferred", job_id=str(row.id), error=repr(exc))
                continue
            pushed = await enqueue(pool, row.id, row.kind, row.queue)
            await session.execute(
                update(Job)
                .where(Job.id == row.id, Job.status == "running")
                .values(status="queued", updated_at=now, enqueued_at=now if pushed else None)
            )
            recovered += 1
            log.warning("job.reap.requeued", job_id=str(row.id), kind=row.kind, tries=row.tries)
    return recovered
