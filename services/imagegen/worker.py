"""The imagegen worker: ``arq services.imagegen.worker.WorkerSettings``."""

from __future__ import annotations

import uuid
from typing import Any

from arq import cron

from services.imagegen.tasks import HANDLERS
from shared.config import Settings, get_settings
from shared.db import session_scope
from shared.images.providers.factory import build_image_provider
from shared.jobs.queue import enqueue_committed, pop_scheduled
from shared.jobs.service import create_job
from shared.jobs.worker import build_worker_settings, settings_class
from shared.storage.factory import build_storage

SYSTEM_OWNER = uuid.UUID(int=0)  # jobs the service starts itself (sweeps), not owned by a user


async def startup(ctx: dict[str, Any]) -> None:
    ctx["storage"] = build_storage(ctx["settings"])
    # One provider per process: a hosted one keeps its HTTP connection pool across jobs.
    ctx["image_provider"] = build_image_provider(ctx["settings"])


async def shutdown(ctx: dict[str, Any]) -> None:
    if "image_provider" in ctx:
        await ctx["image_provider"].aclose()


async def schedule_sweep(ctx: dict[str, Any]) -> None:
    """Periodic: a storage.sweep job row, through the same outbox path as user jobs."""
    async with session_scope(ctx["sessions"]) as session:
        await create_job(
            session,
            settings=ctx["settings"],
            kind="storage.sweep",
            owner_id=SYSTEM_OWNER,
            project_id=None,
            payload={},
        )
        pending = pop_scheduled(session)
    await enqueue_committed(ctx["redis"], ctx["sessions"], pending)


def worker_options(settings: Settings | None = None) -> dict[str, Any]:
    settings = settings or get_settings()
    every_min = min(60, max(1, settings.storage_sweep_interval_s // 60))
    sweep = cron(schedule_sweep, minute=set(range(0, 60, every_min)), second=0, keep_result=0, max_tries=1)
    return build_worker_settings(
        "imagegen",
        HANDLERS,
        on_startup=startup,
        on_shutdown=shutdown,
        extra_cron=[sweep],
        settings=settings,
    )


WorkerSettings = settings_class("WorkerSettings", worker_options())
