"""Jobs are never lost: Redis down at commit time, a worker SIGKILLed mid-job, a graceful stop."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.api.app import create_app
from shared.config import Settings
from shared.jobs.queue import arq_client
from shared.jobs.relay import relay_once
from tests.conftest import settings_env
from tests.support.jobs import job_row, wait_for_status
from tests.support.redis_server import PrivateRedis
from tests.support.workers import WorkerProcess, run_burst


async def test_redis_down_at_commit_then_relay(
    settings: Settings,
    clean: None,
    auth: dict[str, str],
    private_redis: PrivateRedis,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    local = settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{private_redis.port}/0"})
    app = create_app(local)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c,
    ):
        private_redis.stop()
        r = await c.post("/v1/jobs/ping", headers=auth)
        assert r.status_code == 202  # the request does not depend on Redis
        job_id = r.json()["job"]["id"]
        row = await job_row(sessions, job_id)
        assert row.status == "queued"
        assert row.enqueued_at is None
        assert (await c.get("/readyz")).status_code == 503

        private_redis.start()  # back, empty: nothing of the job reached it
        await asyncio.sleep(local.relay_min_age_s)
        pool = arq_client(local)
        try:
            assert await relay_once(sessions, pool, local) == 1
            assert await relay_once(sessions, pool, local) == 0  # stamped
        finally:
            await pool.aclose()
        await run_burst("extractor", local)
        done = (await c.get(f"/v1/jobs/{job_id}", headers=auth)).json()
        assert done["status"] == "succeeded"
        assert done["tries"] == 1


@pytest.mark.parametrize("lean", [True, False], ids=["lean", "full"])
async def test_hung_redis_holds_no_database_connection(
    lean: bool,
    settings: Settings,
    clean: None,
    auth: dict[str, str],
    private_redis: PrivateRedis,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Redis accepts connections and never answers: each push waits out its timeout. Pings far
    beyond the database pool's size all still answer 202 (no request waits on a connection that a
    push holds), and each row is left for the relay."""
    local = settings.model_copy(
        update={
            "redis_url": f"redis://127.0.0.1:{private_redis.port}/0",
            "database_pool_size": 1,  # with the overflow, 6 connections
            "database_pool_timeout_s": 1.0,
            "lean_reads": lean,
        }
    )
    app = create_app(local)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c,
    ):
        private_redis.freeze()
        try:
            answers = await asyncio.gather(*(c.post("/v1/jobs/ping", headers=auth) for _ in range(12)))
        finally:
            private_redis.thaw()
    assert [r.status_code for r in answers] == [202] * 12, [r.text for r in answers if r.status_code != 202]
    for r in answers:
        row = await job_row(sessions, r.json()["job"]["id"])
        assert (row.status, row.enqueued_at) == ("queued", None)  # the relay's to push


async def test_worker_killed_mid_job_is_redelivered(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    # A short job timeout keeps arq's in-progress lease (timeout + 10 s) short for the test.
    env = settings_env(settings.model_copy(update={"job_timeout_s": 4}))
    job_id = (await client.post("/v1/jobs/ping", json={"hold_ms": 2500}, headers=auth)).json()["job"]["id"]
    first = WorkerProcess("extractor", env)
    try:
        row = await wait_for_status(sessions, job_id, {"running"}, within=30)
        assert row.status == "running"
        first.kill()
    finally:
        first.stop()
    await asyncio.sleep(3)
    assert (await job_row(sessions, job_id)).status == "running"  # nothing finished it meanwhile
    with WorkerProcess("extractor", env):
        row = await wait_for_status(sessions, job_id, {"succeeded", "failed"}, within=45)
    assert row.status == "succeeded"
    assert row.tries == 2
    assert row.result == {"pong": True, "held_ms": 2500}


async def test_graceful_stop_lets_the_running_job_finish(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    job_id = (await client.post("/v1/jobs/ping", json={"hold_ms": 1500}, headers=auth)).json()["job"]["id"]
    worker = WorkerProcess("extractor", settings_env(settings))
    try:
        assert (await wait_for_status(sessions, job_id, {"running"}, within=30)).status == "running"
        code = await asyncio.to_thread(worker.stop, 20)
    finally:
        worker.kill()
    row = await job_row(sessions, job_id)
    assert row.status == "succeeded"
    assert row.tries == 1
    assert code == 0
