"""The imagegen worker: image generation, uploads and storage sweeps. Its job kinds are the ones
declared with ``worker="imagegen"`` (``shared/*/tasks.py``). Run: ``python -m services.imagegen``."""

from __future__ import annotations

import uuid
from typing import Any

from arq import cron

from shared.config import Settings, get_settings
from shared.db import session_scope
from shared.images.providers.factory import build_image_provider
from shared.jobs.context import WorkerContext
from shared.jobs.starter import JobStarter
from shared.jobs.worker import build_worker_settings, context_of, settings_class
from shared.storage.tasks import SweepPayload, storage_sweep

SYSTEM_OWNER = uuid.UUID(int=0)  # jobs the service starts itself (sweeps), not owned by a user


async def startup(ctx: WorkerContext) -> None:
    # One provider per process: a hosted one keeps its HTTP connection pool across jobs.
    ctx.images = build_image_provider(ctx.settings)


async def shutdown(ctx: WorkerContext) -> None:
    if ctx.images is not None:
        await ctx.images.aclose()


async def schedule_sweep(ctx: dict[str, Any]) -> None:
    """Periodic: a storage.sweep job row, through the same outbox path as user jobs."""
    wc = context_of(ctx)
    async with session_scope(wc.sessions) as session:
        jobs = JobStarter(session, settings=wc.settings, owner_id=SYSTEM_OWNER)
        await jobs.start(storage_sweep, project=None, payload=SweepPayload())


def worker_options(settings: Settings | None = None) -> dict[str, Any]:
    settings = settings or get_settings()
    every_min = min(60, max(1, settings.storage_sweep_interval_s // 60))
    sweep = cron(schedule_sweep, minute=set(range(0, 60, every_min)), second=0, keep_result=0, max_tries=1)
    return build_worker_settings(
        "imagegen", on_startup=startup, on_shutdown=shutdown, extra_cron=[sweep], settings=settings
    )


WorkerSettings = settings_class("WorkerSettings", worker_options())
