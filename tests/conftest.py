"""Shared fixtures: real PostgreSQL (schema built by the Alembic migrations), real Redis (its own
logical database), the real app through its lifespan, and real arq workers."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared.auth import make_token
from shared.config import Settings
from shared.db import create_engine, create_sessionmaker
from tests.support.databases import PG, drop_database, recreate_database
from tests.support.moto_server import moto_s3_endpoint  # noqa: F401 - fixture re-export

pytest_plugins = [
    "tests.fakes.fixtures",
    "tests.support.redis_server",
    "tests.support.pg_server",
    "tests.support.lean",
]

ROOT = Path(__file__).resolve().parents[1]
# One database per test run, so parallel runs on one machine (a developer's and CI's) never meet.
TEST_DB = os.environ.get("FILMASSETS_TEST_DB", f"filmassets_test_{os.getpid()}")
REDIS_DB = int(os.environ.get("FILMASSETS_TEST_REDIS_DB", "14"))
TABLES = (
    "scene_instance_attempts",
    "scene_asset_instances",
    "llm_calls",
    "asset_attempts",
    "asset_scene_links",
    "dismissed_entities",
    "global_assets",
    "project_assets",
    "scenes",
    "scripts",
    "jobs",
    "projects",
)


def build_settings(tmp: Path, **overrides: object) -> Settings:
    run = uuid.uuid4().hex[:8]
    values: dict[str, object] = {
        "environment": "test",
        "database_url": f"{PG}/{TEST_DB}",
        "redis_url": f"redis://127.0.0.1:6379/{REDIS_DB}",
        "extractor_queue": f"test-{run}:extractor",
        "imagegen_queue": f"test-{run}:imagegen",
        "storage_local_dir": tmp / "storage",
        "relay_min_age_s": 0.2,
        "relay_interval_s": 1.0,
        "job_retry_defer_s": 0.2,
        "job_timeout_s": 60,
        "log_level": "WARNING",
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment a worker subprocess needs to see the same settings."""
    return settings.as_env(os.environ)


def _migrate(url: str, *args: str) -> None:
    env = {**os.environ, "FILMASSETS_DATABASE_URL": url}
    subprocess.run(
        [sys.executable, "-m", "alembic", *args], cwd=ROOT, env=env, check=True, capture_output=True
    )


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return build_settings(tmp_path_factory.mktemp("filmassets"))


@pytest.fixture(scope="session")
def migrated(settings: Settings) -> Iterator[str]:
    """A fresh test database built by running every migration (so migrations are tested too)."""

    asyncio.run(recreate_database(TEST_DB))
    _migrate(settings.database_url, "upgrade", "head")
    yield settings.database_url
    asyncio.run(drop_database(TEST_DB))


@pytest.fixture(scope="session")
async def engine(migrated: str, settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(settings, pool_size=5)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_sessionmaker(engine)


@pytest.fixture(scope="session")
async def redis(settings: Settings) -> AsyncIterator[Redis]:
    client: Redis = Redis.from_url(settings.redis_url)
    yield client
    await client.aclose()


@pytest.fixture
async def clean(engine: AsyncEngine, redis: Redis, settings: Settings) -> None:
    """Each test starts from empty tables (presets kept) and empty queues."""
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {', '.join(TABLES)} CASCADE"))
        await conn.execute(text("DELETE FROM style_capsules WHERE owner_id IS NOT NULL"))
    # Only this run's queues: other runs may share the Redis database.
    await redis.delete(settings.extractor_queue, settings.imagegen_queue)


@pytest.fixture(scope="session")
async def app_ctx(migrated: str, settings: Settings) -> AsyncIterator[object]:
    from services.api.app import create_app

    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def client(app_ctx: object, clean: None) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app_ctx)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


@pytest.fixture
def user() -> uuid.UUID:
    return uuid.uuid4()


@pytest.fixture
def other_user() -> uuid.UUID:
    return uuid.uuid4()


def auth_for(settings: Settings, user_id: uuid.UUID) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token(settings, sub=user_id)}"}


@pytest.fixture
def auth(settings: Settings, user: uuid.UUID) -> dict[str, str]:
    return auth_for(settings, user)


SAMPLES = ROOT.parent / "shared" / "samples"


@pytest.fixture
def samples_dir() -> Path:
    """The real screenplays beside the checkout. Missing them is a failure in CI (which always
    has them), a skip on a developer's machine that does not."""
    if not SAMPLES.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{SAMPLES} is missing; CI must have ../shared/samples beside the checkout")
        pytest.skip("../shared/samples is not beside the checkout")
    return SAMPLES
