"""Imagegen job handlers."""

from __future__ import annotations

from typing import Any

from shared.db import session_scope
from shared.jobs.runner import JobRun
from shared.storage.base import Storage
from shared.storage.sweep import sweep_orphans


async def storage_sweep(run: JobRun) -> dict[str, Any]:
    storage: Storage = run.ctx["storage"]
    min_age = int(run.payload.get("min_age_s", run.settings.storage_sweep_min_age_s))
    async with session_scope(run.sessions) as session:
        result = await sweep_orphans(session, storage, min_age_s=min_age)
        await run.complete(session, result)
    return result


HANDLERS = {"storage.sweep": storage_sweep}
