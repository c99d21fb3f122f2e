"""Getting committed job rows onto arq queues (the transactional outbox).

A job row is written in the domain transaction and ``schedule_enqueue`` remembers it on the
session. Whatever boundary commits that session (the API's request dependency, ``session_scope``
in a worker) runs the after-commit callbacks, and the one registered here pushes the rows to Redis
with ``_job_id`` = row id and stamps ``enqueued_at``. No caller has to remember to flush. When Redis
is away the rows simply stay unstamped and the relay pushes them later.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass
from typing import Any

import structlog
from arq.connections import ArqRedis, RedisSettings
from arq.constants import result_key_prefix
from redis.asyncio import ConnectionPool
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.config import Settings
from shared.db import OUTBOX_KEY, PENDING_JOBS_KEY, after_commit
from shared.jobs import events
from shared.models import Job

log = structlog.get_logger()


def serialize(obj: Any) -> bytes:
    """arq payloads as JSON, not pickle: jobs carry ids only, and JSON can't execute code."""
    return json.dumps(obj, default=str).encode()


def deserialize(data: bytes) -> Any:
    return json.loads(data)


def redis_settings(settings: Settings) -> RedisSettings:
    rs = RedisSettings.from_dsn(settings.redis_url)
    rs.conn_timeout = 2
    rs.conn_retries = 2
    rs.conn_retry_delay = 1
    return rs


def arq_client(settings: Settings) -> ArqRedis:
    """An arq client that connects lazily: the API starts (and keeps answering) with Redis down,
    and the relay enqueues what could not be pushed meanwhile."""
    pool = ConnectionPool.from_url(
        settings.redis_url, socket_connect_timeout=2, socket_timeout=5, health_check_interval=30
    )
    return ArqRedis(pool, job_serializer=serialize, job_deserializer=deserialize)


@dataclass(frozen=True, slots=True)
class Pending:
    id: uuid.UUID
    kind: str
    queue: str
    project_id: uuid.UUID | None = None

    def queued_event(self) -> dict[str, Any]:
        """The ``queued`` event of a new job (same shape as ``service.job_event``)."""
        return {
            "id": str(self.id),
            "kind": self.kind,
            "project_id": str(self.project_id) if self.project_id else None,
            "status": "queued",
            "progress": 0.0,
            "message": None,
            "error": None,
            "result": None,
        }


@dataclass(frozen=True, slots=True)
class Outbox:
    """Carried in a sessionmaker's ``info`` (see ``shared.db.create_sessionmaker``)."""

    pool: ArqRedis
    sessions: async_sessionmaker[AsyncSession]

    async def push(self, pending: list[Pending]) -> None:
        """Enqueue, wake an idle worker of each queue, and tell the projects' event streams (a page
        sees new jobs appear, also those another tab started). The rows were written with
        ``enqueued_at`` already set: the relay checks such rows against Redis (their arq job must
        exist) instead of this process stamping each one after the push, a transaction saved per
        request."""
        failed: list[uuid.UUID] = []
        pushed: set[str] = set()
        for p in pending:
            if await enqueue(self.pool, p.id, p.kind, p.queue, notify=False):
                pushed.add(p.queue)
            else:
                failed.append(p.id)
        await wake(self.pool, pushed)
        if pushed:  # (Redis answered: announcing cannot hang a request on a dead connection)
            await events.publish_jobs(self.pool, [p.queued_event() for p in pending if p.project_id])
        if failed:  # Redis is away: mark them never pushed, so the relay takes them at its next tick
            try:
                async with self.sessions() as session:
                    await session.execute(update(Job).where(Job.id.in_(failed)).values(enqueued_at=None))
                    await session.commit()
            except Exception as exc:
                log.warning("job.enqueue.unmark_failed", error=repr(exc))


def schedule_enqueue(session: AsyncSession, job: Job) -> None:
    """Enqueue ``job`` once the boundary that owns ``session`` has committed."""
    pending: list[Pending] | None = session.info.get(PENDING_JOBS_KEY)
    if pending is None:
        pending = session.info[PENDING_JOBS_KEY] = []

        async def flush() -> None:
            rows: list[Pending] = session.info.pop(PENDING_JOBS_KEY, [])
            outbox: Outbox | None = session.info.get(OUTBOX_KEY)
            if rows and outbox is not None:
                await outbox.push(rows)

        after_commit(session, flush)
    pending.append(Pending(job.id, job.kind, job.queue, job.project_id))


async def enqueue(
    pool: ArqRedis, job_id: uuid.UUID, kind: str, queue: str, *, notify: bool = True, again: bool = False
) -> bool:
    """Push one job to arq with ``_job_id`` = row id; the arq function is named after the kind.
    False when Redis is unreachable; arq ignores a duplicate id, so pushing one row twice is
    harmless. ``again`` (the relay, for rows the database says are unfinished) first drops a result
    arq may keep of an earlier delivery, which would otherwise make arq refuse the id for a minute."""
    try:
        async with asyncio.timeout(3):
            if again:
                await pool.delete(result_key_prefix + str(job_id))
            await pool.enqueue_job(kind, str(job_id), _job_id=str(job_id), _queue_name=queue)
    except Exception as exc:
        log.warning("job.enqueue.deferred", job_id=str(job_id), kind=kind, error=repr(exc))
        return False
    if notify:
        await wake(pool, {queue})
    return True


def wake_key(queue: str) -> str:
    return f"{queue}:wake"


async def wake(pool: ArqRedis, queues: set[str]) -> None:
    """Tell idle workers of ``queues`` there is work now, instead of letting them find it at their
    next poll: each waits on its queue's wake list (``BLPOP``) between polls. Best effort: a lost
    wake-up only costs one poll interval."""
    if not queues:
        return
    try:
        async with pool.pipeline(transaction=False) as pipe:
            for q in queues:
                # One token is enough to wake a worker; a few let several wake at once. Capped so
                # a queue nobody serves does not grow a list forever.
                pipe.lpush(wake_key(q), b"1")
                pipe.ltrim(wake_key(q), 0, 15)
            await pipe.execute()
    except Exception as exc:
        log.debug("job.wake.failed", error=repr(exc))
