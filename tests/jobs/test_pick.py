"""The worker's poll (``_PICK`` in shared/jobs/worker.py) reads the queue and leases what it has room
for in one script, with arq's own checks: a job another worker holds is not started again, a job
deferred to later waits for its time, and no more jobs start than the worker has slots."""

from __future__ import annotations

import uuid

from arq.constants import in_progress_key_prefix
from arq.utils import timestamp_ms
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared.config import Settings
from shared.db import create_sessionmaker, session_scope
from shared.jobs.queue import Outbox, arq_client
from shared.jobs.starter import JobStarter
from shared.jobs.tasks import NoopPayload, noop
from shared.jobs.worker import ResilientWorker
from tests.support.jobs import job_row
from tests.support.workers import worker_options


async def _start(
    settings: Settings, engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], n: int
) -> list[str]:
    pool = arq_client(settings)
    try:
        outboxed = create_sessionmaker(engine, outbox=Outbox(pool, sessions))
        async with session_scope(outboxed) as session:
            jobs = JobStarter(session, settings=settings, owner_id=uuid.uuid4())
            started = [await jobs.start(noop, project=None, payload=NoopPayload()) for _ in range(n)]
    finally:
        await pool.aclose()
    return [str(job.id) for job in started]


async def test_a_poll_starts_only_ready_unheld_jobs_and_no_more_than_its_slots(
    settings: Settings,
    clean: None,
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    redis: Redis,
) -> None:
    held, later, *ready = await _start(settings, engine, sessions, 5)
    queue = settings.extractor_queue
    await redis.psetex(in_progress_key_prefix + held, 60_000, b"1")  # another worker runs it
    await redis.zadd(queue, {later: timestamp_ms() + 60_000})  # deferred a minute

    worker = ResilientWorker(**{**worker_options("extractor", settings), "max_jobs": 2}, handle_signals=False)
    try:
        await worker.connect()
        worker.ctx["redis"] = worker.pool
        assert worker.on_startup is not None
        await worker.on_startup(worker.ctx)
        await worker._poll_iteration()
        # Two slots: two of the three ready jobs, leased; nothing held or deferred.
        first = set(worker.tasks)
        assert len(first) == 2, first
        assert first <= set(ready), (first, ready)
        await worker._poll_iteration()  # full: starts nothing more
        assert set(worker.tasks) == first
        for task in list(worker.tasks.values()):
            await task
        await worker._poll_iteration()  # room again: the last ready job, still nothing else
        for task in list(worker.tasks.values()):
            await task
    finally:
        await worker.close()

    for job_id in ready:
        assert (await job_row(sessions, job_id)).status == "succeeded"
    for job_id in (held, later):
        assert (await job_row(sessions, job_id)).status == "queued"
    assert await redis.zscore(queue, later) is not None  # still waiting for its time
