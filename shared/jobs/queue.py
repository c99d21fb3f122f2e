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
from arq.constants import job_key_prefix, result_key_prefix
from arq.jobs import serialize_job
from arq.utils import timestamp_ms
from redis.asyncio import ConnectionPool
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.coalesce import GroupSend
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


class Outbox:
    """Carried in a sessionmaker's ``info`` (see ``shared.db.create_sessionmaker``).

    Pushes go through a ``GroupSend``: one on its way to Redis at a time, those that arrive
    meanwhile (a burst of requests) together after it, in one round trip."""

    __slots__ = ("_group", "pool", "sessions")

    def __init__(self, pool: ArqRedis, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.pool = pool
        self.sessions = sessions
        self._group: GroupSend[Pending] = GroupSend(self._send)

    async def push(self, pending: list[Pending]) -> None:
        """Enqueue, wake an idle worker of each queue, and tell the projects' event streams (a page
        sees new jobs appear, also those another tab started): all rows of the commit in one round
        trip, shared with the pushes that arrived while another was on its way. Returns once Redis
        has them or they are left for the relay; never raises."""
        await self._group(pending)

    async def _send(self, pending: list[Pending], try_redis: bool) -> bool:
        """Whether Redis took them. The rows were written with ``enqueued_at`` already set: the
        relay checks such rows against Redis (their arq job must exist) instead of this process
        stamping each one after the push, a transaction saved per request. A batch that waited
        behind a push Redis did not answer is left for the relay at once (``try_redis`` off):
        during an outage each request would otherwise wait out two timeouts."""
        jobs = [(p.id, p.kind, p.queue) for p in pending]
        queued = [p.queued_event() for p in pending if p.project_id]
        if try_redis:
            try:
                async with asyncio.timeout(3):
                    if not queued:  # no project to tell (the ping): one command, no pipeline
                        await add_jobs(self.pool, self.pool, jobs, wake=True)
                        return True
                    async with self.pool.pipeline(transaction=False) as pipe:
                        # The queued events first: a woken worker's "running" must come after.
                        events.add_jobs(pipe, queued)
                        add_jobs(pipe, self.pool, jobs, wake=True)
                        await pipe.execute()
                return True
            except Exception as exc:
                log.warning("job.enqueue.deferred", job_ids=[str(p.id) for p in pending], error=repr(exc))
        else:
            log.warning(
                "job.enqueue.deferred", job_ids=[str(p.id) for p in pending], error="Redis did not answer"
            )
        try:  # Redis is away: mark them never pushed, so the relay takes them at its next tick
            async with self.sessions() as session:
                failed = [p.id for p in pending]
                await session.execute(update(Job).where(Job.id.in_(failed)).values(enqueued_at=None))
                await session.commit()
        except Exception as exc:
            log.warning("job.enqueue.unmark_failed", error=repr(exc))
        return False


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


# What ``ArqRedis.enqueue_job`` does for a job without deferral, for many jobs in one call: a job
# whose arq job or result is still held is left alone (arq ignores a duplicate id); ``again`` first
# drops a result arq may keep of an earlier delivery. Then it wakes idle workers of the queues (see
# ``wake_key``), in the same command. KEYS: per job its job key, result key and queue, then the wake
# lists; ARGV: expiry (ms), again (0/1), the number of jobs, then per job its id, score (enqueue
# time, ms) and data.
_ENQUEUE = """
local ttl, again, jobs = ARGV[1], ARGV[2] == '1', tonumber(ARGV[3])
for i = 0, jobs - 1 do
  local job, result, queue = KEYS[3 * i + 1], KEYS[3 * i + 2], KEYS[3 * i + 3]
  if again then redis.call('DEL', result) end
  if redis.call('EXISTS', job, result) == 0 then
    redis.call('PSETEX', job, ttl, ARGV[3 * i + 6])
    redis.call('ZADD', queue, ARGV[3 * i + 5], ARGV[3 * i + 4])
  end
end
for k = 3 * jobs + 1, #KEYS do
  redis.call('LPUSH', KEYS[k], '1')
  redis.call('LTRIM', KEYS[k], 0, 15)
end
return 0
"""


def add_jobs(
    target: Any, pool: ArqRedis, jobs: list[tuple[uuid.UUID, str, str]], *, again: bool = False, wake: bool
) -> Any:
    """The one command that enqueues ``jobs`` (id, kind, queue) as arq would, on ``target`` (a
    pipeline, or the pool itself: then it returns the awaitable to send it): the arq function is
    named after the kind and its one argument, like ``_job_id``, is the row id. With ``wake``, idle
    workers of their queues are woken at once instead of finding the jobs at their next poll."""
    now = timestamp_ms()
    keys: list[str] = []
    args: list[Any] = [pool.expires_extra_ms, int(again), len(jobs)]
    for job_id, kind, queue in jobs:
        jid = str(job_id)
        keys += [job_key_prefix + jid, result_key_prefix + jid, queue]
        args += [jid, now, serialize_job(kind, (jid,), {}, None, now, serializer=pool.job_serializer)]
    if wake:
        keys += sorted({wake_key(queue) for _, _, queue in jobs})
    return target.eval(_ENQUEUE, len(keys), *keys, *args)


async def enqueue(
    pool: ArqRedis, job_id: uuid.UUID, kind: str, queue: str, *, notify: bool = True, again: bool = False
) -> bool:
    """Push one job to arq with ``_job_id`` = row id; the arq function is named after the kind.
    False when Redis is unreachable; arq ignores a duplicate id, so pushing one row twice is
    harmless. ``again`` (the relay, for rows the database says are unfinished) first drops a result
    arq may keep of an earlier delivery, which would otherwise make arq refuse the id."""
    try:
        async with asyncio.timeout(3):
            await add_jobs(pool, pool, [(job_id, kind, queue)], again=again, wake=notify)
    except Exception as exc:
        log.warning("job.enqueue.deferred", job_id=str(job_id), kind=kind, error=repr(exc))
        return False
    return True


def wake_key(queue: str) -> str:
    """An idle worker of ``queue`` waits on this list (``BLPOP``) between polls; each enqueue
    pushes a token (a few let several workers wake at once; capped at 16 so a queue nobody serves
    does not grow a list forever). A lost wake-up only costs one poll interval."""
    return f"{queue}:wake"
