"""Enqueueing job rows to arq after their transaction committed."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import structlog
from arq.connections import ArqRedis, RedisSettings
from redis.asyncio import ConnectionPool
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.config import Settings
from shared.jobs.kinds import KINDS
from shared.models import Job

log = structlog.get_logger()
PENDING_KEY = "filmassets.jobs_to_enqueue"


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


def schedule_enqueue(session: AsyncSession, job: Job) -> None:
    """Remember ``job`` so the boundary that commits ``session`` enqueues it afterwards."""
    session.info.setdefault(PENDING_KEY, []).append((job.id, job.kind, job.queue))


def pop_scheduled(session: AsyncSession) -> list[tuple[uuid.UUID, str, str]]:
    pending: list[tuple[uuid.UUID, str, str]] = session.info.pop(PENDING_KEY, [])
    return pending


async def enqueue(pool: ArqRedis, job_id: uuid.UUID, kind: str, queue: str) -> bool:
    """Push one job to arq with ``_job_id`` = row id. False when Redis is unreachable; arq itself
    ignores a duplicate id, so calling this twice for one row is harmless."""
    function = KINDS[kind].function
    try:
        async with asyncio.timeout(3):
            await pool.enqueue_job(function, str(job_id), _job_id=str(job_id), _queue_name=queue)
    except Exception as exc:
        log.warning("job.enqueue.deferred", job_id=str(job_id), kind=kind, error=repr(exc))
        return False
    return True


async def enqueue_committed(
    pool: ArqRedis | None,
    sessions: async_sessionmaker[AsyncSession],
    pending: list[tuple[uuid.UUID, str, str]],
) -> None:
    """After commit: enqueue and stamp ``enqueued_at`` so the relay leaves these rows alone."""
    if not pending or pool is None:
        return
    done = [job_id for job_id, kind, queue in pending if await enqueue(pool, job_id, kind, queue)]
    if not done:
        return
    try:
        async with sessions() as session:
            await session.execute(
                update(Job)
                .where(Job.id.in_(done), Job.enqueued_at.is_(None))
                .values(enqueued_at=datetime.now(UTC))
            )
            await session.commit()
    except Exception as exc:
        log.warning("job.enqueue.stamp_failed", error=repr(exc))
