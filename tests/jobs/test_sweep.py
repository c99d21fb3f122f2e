"""The imagegen storage sweep removes objects no row references, and only those."""

from __future__ import annotations

import os
import time
import uuid
from decimal import Decimal

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.imagegen.worker import SYSTEM_OWNER
from shared.config import Settings
from shared.db import create_sessionmaker, session_scope
from shared.jobs.queue import Outbox, arq_client
from shared.jobs.starter import JobStarter
from shared.models import AssetAttempt
from shared.storage.factory import build_storage
from shared.storage.tasks import SweepPayload, storage_sweep
from tests.support.factories import create_asset, create_project
from tests.support.workers import run_burst


async def test_sweep_deletes_only_old_unreferenced_objects(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
) -> None:
    storage = build_storage(settings)
    pid = (await create_project(client, auth))["id"]
    asset = await create_asset(client, auth, pid)
    kept, thumb = f"projects/{pid}/a/{uuid.uuid4()}.png", f"projects/{pid}/a/{uuid.uuid4()}.thumb.webp"
    orphan, young = f"projects/{pid}/a/{uuid.uuid4()}.png", f"projects/{pid}/a/{uuid.uuid4()}.png"
    for key in (kept, thumb, orphan, young):
        await storage.put(key, b"x", content_type="image/png")
    old = time.time() - 2 * settings.storage_sweep_min_age_s
    for key in (kept, thumb, orphan):  # written long ago (e.g. before a crash)
        os.utime(settings.storage_local_dir / key, (old, old))
    pool = arq_client(settings)
    outboxed = create_sessionmaker(engine, outbox=Outbox(pool, sessions))
    async with session_scope(outboxed) as s:
        s.add(
            AssetAttempt(
                id=uuid.uuid4(),
                asset_id=asset["id"],
                project_id=pid,
                attempt_number=1,
                source="generated",
                selected=True,
                storage_key=kept,
                thumbnail_key=thumb,
                width=1,
                height=1,
                mime="image/png",
                bytes=1,
                cost_usd=Decimal(0),
            )
        )
        starter = JobStarter(s, settings=settings, owner_id=SYSTEM_OWNER)
        job = await starter.start(storage_sweep, project=None, payload=SweepPayload())
    await pool.aclose()  # the commit pushed the job (the outbox), nothing else to do by hand
    assert await run_burst("imagegen", settings) == 1
    assert await storage.exists(kept)
    assert await storage.exists(thumb)
    assert await storage.exists(young)  # may still be waiting for its row
    assert not await storage.exists(orphan)
    async with sessions() as s:
        from shared.models import Job

        row = await s.get(Job, job.id)
        assert row is not None
        assert row.status == "succeeded"
        assert row.result is not None
        assert row.result["deleted"] == 1
