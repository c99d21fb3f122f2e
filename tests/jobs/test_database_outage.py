"""PostgreSQL restarted under the API and a worker: requests fail fast with a clear 503 while it
is down, the pool recovers without a process restart, and no job is lost."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
from arq.connections import create_pool
from arq.worker import Retry
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.api.app import create_app
from shared.config import Settings
from shared.db import create_engine, create_sessionmaker
from shared.db_raw import driver_connection
from shared.jobs.context import WorkerContext
from shared.jobs.queue import redis_settings
from shared.jobs.registry import get_kind
from shared.jobs.runner import run_job
from shared.models import Job
from shared.storage.factory import build_storage
from tests.conftest import settings_env
from tests.support.pg_server import PrivatePostgres
from tests.support.workers import WorkerProcess

ROOT = Path(__file__).resolve().parents[2]


async def _migrate(database_url: str) -> None:
    """The private server starts empty: bring it to the schema's head."""
    await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "alembic", "upgrade", "head"],
        cwd=ROOT,
        env={**os.environ, "FILMASSETS_DATABASE_URL": database_url},
        check=True,
        capture_output=True,
    )


async def _status(sessions: async_sessionmaker[AsyncSession], job_id: str) -> str | None:
    try:
        async with sessions() as s:
            row = await s.get(Job, uuid.UUID(job_id))
            return row.status if row else None
    except Exception:
        return None  # the database is still coming back


async def _wait(
    sessions: async_sessionmaker[AsyncSession], job_id: str, want: str, within: float
) -> str | None:
    deadline = time.monotonic() + within
    status = None
    while time.monotonic() < deadline:
        status = await _status(sessions, job_id)
        if status == want:
            break
        await asyncio.sleep(0.2)
    return status


async def test_a_database_restart_is_a_503_then_business_as_usual(
    settings: Settings, clean: None, auth: dict[str, str], private_postgres: PrivatePostgres
) -> None:
    local = settings.model_copy(
        update={
            "database_url": private_postgres.url,
            "job_heartbeat_s": 0.5,
            "job_dead_after_s": 3.0,
            # The held job's outcome may fail while the database is down: it is delivered again
            # after the outage deferral (30 s by default, which left a loaded CI machine ~5 s).
            "job_retry_defer_s": 1.0,
        }
    )
    await _migrate(local.database_url)
    engine = create_engine(local, pool_size=2)
    sessions = create_sessionmaker(engine)
    app = create_app(local)
    worker = WorkerProcess("extractor", settings_env(local))
    try:
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c,
        ):
            assert (await c.get("/v1/projects", headers=auth)).status_code == 200
            pid = (await c.post("/v1/projects", json={"title": "Outage"}, headers=auth)).json()["id"]
            # A polled read with a lean path (services/api/lean.py): it has its own way to the database.
            polled = f"/v1/projects/{pid}/assets?status=all"
            asset = {"name": "Mara", "type": "character"}
            assert (await c.post(f"/v1/projects/{pid}/assets", json=asset, headers=auth)).status_code == 201
            assert (await c.get(polled, headers=auth)).status_code == 200
            held = (await c.post("/v1/jobs/ping", json={"hold_ms": 4000}, headers=auth)).json()["job"]["id"]
            assert await _wait(sessions, held, "running", within=30) == "running"

            await asyncio.to_thread(private_postgres.stop)
            started = time.monotonic()
            down = await c.get("/v1/projects", headers=auth)
            assert time.monotonic() - started < 5  # fails fast, does not hang
            assert down.status_code == 503, down.text
            assert down.json()["error"]["code"] == "database_unavailable"
            assert down.headers["retry-after"]
            assert (await c.post("/v1/jobs/ping", headers=auth)).status_code == 503
            lean_down = await c.get(polled, headers=auth)
            assert lean_down.status_code == 503, lean_down.text
            assert lean_down.json()["error"]["code"] == "database_unavailable"
            assert (await c.get("/readyz")).status_code == 503

            await asyncio.to_thread(private_postgres.start)
            private_postgres.wait_ready()
            back = await c.get("/v1/projects", headers=auth)  # same process, same pool
            assert back.status_code == 200, back.text
            assert (await c.get(polled, headers=auth)).status_code == 200
            after = (await c.post("/v1/jobs/ping", headers=auth)).json()["job"]["id"]
            # The job that was running when the database went away is finished, once.
            assert await _wait(sessions, held, "succeeded", within=40) == "succeeded", worker.log()[-3000:]
            assert await _wait(sessions, after, "succeeded", within=30) == "succeeded"
            assert worker.proc.poll() is None
    finally:
        worker.stop()
        await engine.dispose()


async def test_a_claim_while_the_database_is_down_is_deferred_then_runs(
    settings: Settings, private_postgres: PrivatePostgres
) -> None:
    """The runner's claim runs on the driver connection (shared/db_raw.py), not through
    SQLAlchemy's: a database that is away must still read as an outage (arq delivers the job again
    later, the row untouched), and the same pool must serve the next delivery once it is back."""
    local = settings.model_copy(update={"database_url": private_postgres.url})
    await _migrate(local.database_url)
    admin = create_engine(local, pool_size=1)
    async with admin.begin() as conn:
        job_id = await conn.scalar(
            insert(Job)
            .values(kind="noop", queue=local.extractor_queue, owner_id=uuid.uuid4(), payload={})
            .returning(Job.id)
        )
    await admin.dispose()
    engine = create_engine(local, pool_size=2, socket_ping=True)
    redis = await create_pool(redis_settings(local))
    ctx = WorkerContext(
        settings=local,
        engine=engine,
        sessions=create_sessionmaker(engine),
        redis=redis,
        storage=build_storage(local),
    )
    noop = get_kind("noop")
    try:
        async with engine.connect():
            pass  # a pooled connection, which the restart below closes
        await asyncio.to_thread(private_postgres.stop)
        with pytest.raises(Retry):
            await run_job(ctx, noop, str(job_id))

        await asyncio.to_thread(private_postgres.start)
        private_postgres.wait_ready()
        assert await run_job(ctx, noop, str(job_id)) == "succeeded"
        sessions = create_sessionmaker(engine)
        async with sessions() as s:
            row = await s.get(Job, job_id)
            assert row is not None
            assert (row.status, row.tries, row.result) == ("succeeded", 1, {"pong": True, "held_ms": 0})
    finally:
        await redis.aclose()
        await engine.dispose()


async def _use_after_the_server_closed_it(own: AsyncEngine, admin: AsyncEngine) -> None:
    async with driver_connection(own) as conn:
        pid = await conn.fetchval("SELECT pg_backend_pid()")
        async with admin.connect() as other:
            await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        for _ in range(100):  # the driver sees the close once the event loop runs
            if conn.is_closed():
                break
            await asyncio.sleep(0.02)
        await conn.fetchval("SELECT 1")


async def test_a_connection_closed_under_its_user_is_an_outage_and_replaced(
    settings: Settings, engine: AsyncEngine
) -> None:
    """The server ends a connection between its checkout and its use (asyncpg then raises a bare
    ``InterfaceError: connection is closed``): the caller gets the outage's ``ConnectionError``
    (a 503 in the API, a deferral in a worker), and the pool replaces the connection."""
    own = create_engine(settings, pool_size=1, socket_ping=True)
    try:
        with pytest.raises(ConnectionError):
            await _use_after_the_server_closed_it(own, engine)
        async with driver_connection(own) as conn:
            assert await conn.fetchval("SELECT 1") == 1
        assert own.pool.checkedout() == 0  # type: ignore[attr-defined]
    finally:
        await own.dispose()
