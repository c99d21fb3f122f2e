"""The outbox relay: re-enqueue job rows that never reached Redis (Redis down at commit time, or the
process died between commit and enqueue), and rows Redis lost (it keeps nothing on disk here).

Runs periodically in every worker for its own queue. ``FOR UPDATE SKIP LOCKED`` lets several
worker processes relay concurrently without fighting; arq ignores duplicate ``_job_id``s."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import structlog
from arq.connections import ArqRedis
from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.config import Settings
from shared.db import session_scope
from shared.jobs.queue import enqueue
from shared.models import Job

log = structlog.get_logger()


async def relay_once(
    sessions: async_sessionmaker[AsyncSession],
    pool: ArqRedis,
    settings: Settings,
    *,
    queue: str,
    limit: int = 500,
) -> int:
    now = datetime.now(UTC)
    young = now - timedelta(seconds=settings.relay_min_age_s)
    # A queued row stamped long ago may have been lost by a Redis restart; re-pushing it is
    # harmless because arq drops a job id it still holds.
    lost = now - timedelta(seconds=max(60.0, settings.relay_interval_s * 6))
    stale_running = now - timedelta(seconds=settings.running_stale_after_s)
    async with session_scope(sessions) as session:
        rows = (
            await session.execute(
                select(Job.id, Job.kind, Job.queue)
                .where(
                    Job.queue == queue,
                    or_(
                        and_(
                            Job.status == "queued",
                            Job.created_at < young,
                            or_(Job.enqueued_at.is_(None), Job.enqueued_at < lost),
                        ),
                        and_(Job.status == "running", Job.updated_at < stale_running),
                    ),
                )
                .order_by(Job.created_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        ).all()
        done = [row.id for row in rows if await enqueue(pool, row.id, row.kind, row.queue)]
        if done:
            await session.execute(update(Job).where(Job.id.in_(done)).values(enqueued_at=now))
    if done:
        log.info("job.relay.enqueued", queue=queue, count=len(done))
    return len(done)
