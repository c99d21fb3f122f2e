"""Interrupted work comes back in seconds, whichever way it was interrupted: a worker SIGKILLed
mid-job, Redis restarted under running workers, rows stranded on any queue."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import httpx
from redis.asyncio import Redis
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.api.app import create_app
from services.extractor.worker import worker_options as extractor_options
from services.imagegen.worker import worker_options as imagegen_options
from shared.config import Settings
from shared.db import session_scope
from shared.jobs.queue import arq_client
from shared.jobs.relay import relay_once
from shared.models import Job
from tests.conftest import settings_env
from tests.support.jobs import job_row, wait_for_status
from tests.support.redis_server import PrivateRedis
from tests.support.workers import WorkerProcess, run_burst


def _fast(settings: Settings, **more: object) -> Settings:
    # The default job timeout (600 s) is kept on purpose: arq's own lease would hold a dead
    # worker's job that long; only the heartbeat can bring it back sooner.
    return settings.model_copy(
        update={"job_heartbeat_s": 0.5, "job_dead_after_s": 3.0, "job_timeout_s": 600, **more}
    )


async def test_a_killed_workers_job_is_taken_over_within_seconds(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    env = settings_env(_fast(settings))
    r = await client.post("/v1/jobs/ping", json={"hold_ms": 3000}, headers=auth)
    job_id = r.json()["job"]["id"]
    first = WorkerProcess("extractor", env)
    try:
        assert (await wait_for_status(sessions, job_id, {"running"}, within=30)).status == "running"
        await asyncio.sleep(0.5)  # mid-job: it has reported progress by now
        killed_at = datetime.now(UTC)
        first.kill()
    finally:
        first.stop()
    with WorkerProcess("extractor", env):
        row = await wait_for_status(sessions, job_id, {"succeeded", "failed"}, within=30)
    assert row.status == "succeeded"
    assert row.tries == 2
    assert row.result == {"pong": True, "held_ms": 3000}
    assert row.started_at is not None
    recovery = row.started_at - killed_at
    assert recovery < timedelta(seconds=10), recovery  # not arq's 600 s lease


async def test_workers_ride_out_a_redis_restart(
    settings: Settings,
    clean: None,
    auth: dict[str, str],
    private_redis: PrivateRedis,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    local = _fast(settings, redis_url=f"redis://127.0.0.1:{private_redis.port}/0")
    app = create_app(local)
    workers = [
        WorkerProcess("extractor", settings_env(local)),
        WorkerProcess("imagegen", settings_env(local)),
    ]
    try:
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c,
        ):
            before = (await c.post("/v1/jobs/ping", headers=auth)).json()["job"]["id"]
            assert (await wait_for_status(sessions, before, {"succeeded"}, within=30)).status == "succeeded"

            private_redis.stop()
            during = await c.post("/v1/jobs/ping", headers=auth)
            assert during.status_code == 202  # work is still accepted: the row waits for Redis
            await asyncio.sleep(2)
            assert [w.proc.poll() for w in workers] == [None, None]  # nobody exited
            cancelled = await c.post(f"/v1/jobs/{before}/cancel", headers=auth)
            assert cancelled.status_code == 200  # no event can be published: still no 500

            private_redis.start()  # back, and empty
            row = await wait_for_status(sessions, during.json()["job"]["id"], {"succeeded"}, within=30)
            assert row.status == "succeeded"
            after = (await c.post("/v1/jobs/ping", headers=auth)).json()["job"]["id"]
            assert (await wait_for_status(sessions, after, {"succeeded"}, within=30)).status == "succeeded"
            assert [w.proc.poll() for w in workers] == [None, None]
    finally:
        for w in workers:
            w.stop()


async def test_rows_stranded_on_every_queue_are_pushed_once(
    settings: Settings, clean: None, sessions: async_sessionmaker[AsyncSession], redis: Redis
) -> None:
    old = datetime.now(UTC) - timedelta(minutes=5)
    owner = uuid.uuid4()
    rows = [
        Job(id=uuid.uuid4(), kind="noop", queue=settings.extractor_queue, owner_id=owner, payload={}),
        Job(id=uuid.uuid4(), kind="storage.sweep", queue=settings.imagegen_queue, owner_id=owner, payload={}),
    ]
    async with session_scope(sessions) as s:
        s.add_all(rows)
        await s.flush()
        await s.execute(update(Job).where(Job.id.in_([r.id for r in rows])).values(created_at=old))
    pool = arq_client(settings)
    try:
        assert await relay_once(sessions, pool, settings) == 2
        assert await relay_once(sessions, pool, settings) == 0  # stamped: not pushed again
    finally:
        await pool.aclose()
    for row in rows:
        assert await redis.zscore(row.queue, str(row.id)) is not None


def test_each_worker_runs_its_own_relay_tick(settings: Settings) -> None:
    # arq names a cron run after its function; one shared name made the two workers' ticks collide
    # and only one queue was relayed per tick.
    names = {
        c.name
        for options in (extractor_options(settings), imagegen_options(settings))
        for c in options["cron_jobs"]
    }
    assert {"relay:extractor", "relay:imagegen"} <= names


async def test_a_job_taken_by_a_worker_that_died_before_claiming_it_is_freed(
    settings: Settings, clean: None, sessions: async_sessionmaker[AsyncSession], redis: Redis
) -> None:
    # arq marks a job in progress (a lease as long as the job timeout) before our handler claims
    # the row; a worker killed in between left the row queued and the job held for ten minutes.
    fast = settings.model_copy(update={"job_dead_after_s": 2.0})
    old = datetime.now(UTC) - timedelta(minutes=1)
    job = Job(id=uuid.uuid4(), kind="noop", queue=fast.extractor_queue, owner_id=uuid.uuid4(), payload={})
    async with session_scope(sessions) as s:
        s.add(job)
        await s.flush()
        await s.execute(update(Job).where(Job.id == job.id).values(created_at=old, enqueued_at=old))
    pool = arq_client(fast)
    try:
        await pool.enqueue_job("noop", str(job.id), _job_id=str(job.id), _queue_name=fast.extractor_queue)
        lease = (fast.job_timeout_s + 15) * 1000
        await redis.psetex(f"arq:in-progress:{job.id}", lease - 5000, b"1")  # taken 5 s ago
        assert await relay_once(sessions, pool, fast) == 0  # still in Redis: nothing to push...
    finally:
        await pool.aclose()
    assert not await redis.exists(f"arq:in-progress:{job.id}")  # ...but the dead lease is gone
    assert await run_burst("extractor", fast) == 1
    assert (await job_row(sessions, str(job.id))).status == "succeeded"
