"""The orphan sweep: delete stored objects no row references.

Objects are written before the rows that reference them (a crash in between leaves an orphan) and
deleted after the commit that drops their row (a crash there leaves one too). Objects younger than
``min_age_s`` are skipped: their row may simply not be committed yet."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy import select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from shared.models import AssetAttempt, GlobalAsset, Job, SceneInstanceAttempt
from shared.storage.base import Storage

log = structlog.get_logger()


async def referenced_keys(session: AsyncSession) -> set[str]:
    q = union_all(
        select(AssetAttempt.storage_key),
        select(AssetAttempt.thumbnail_key),
        select(GlobalAsset.storage_key),
        select(GlobalAsset.thumbnail_key),
        select(SceneInstanceAttempt.storage_key),
        select(SceneInstanceAttempt.thumbnail_key),
        # Upload bytes waiting for their processing job.
        select(Job.payload["staging_key"].astext).where(Job.status.in_(("queued", "running"))),
    )
    return {k for (k,) in (await session.execute(q)).all() if k}


async def sweep_orphans(session: AsyncSession, storage: Storage, *, min_age_s: int) -> dict[str, int]:
    cutoff = datetime.now(UTC) - timedelta(seconds=min_age_s)
    objects = await storage.list_objects("")
    keep = await referenced_keys(session)
    orphans = [o.key for o in objects if o.key not in keep and o.last_modified < cutoff]
    if orphans:
        await storage.delete_many(orphans)
    log.info("storage.sweep.succeeded", scanned=len(objects), deleted=len(orphans))
    return {"scanned": len(objects), "deleted": len(orphans)}
