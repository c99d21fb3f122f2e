"""The extractor worker: script parsing and the LLM passes. Its job kinds are the ones declared
with ``worker="extractor"`` (``shared/*/tasks.py``). Run: ``python -m services.extractor``."""

from __future__ import annotations

from typing import Any

from shared.config import Settings
from shared.jobs.context import WorkerContext
from shared.jobs.worker import build_worker_settings, settings_class
from shared.llm.client import LLMClient


async def startup(ctx: WorkerContext) -> None:
    # No key configured: the offline extractor does both passes.
    ctx.llm = None if ctx.settings.llm_offline else LLMClient.from_settings(ctx.settings)


async def shutdown(ctx: WorkerContext) -> None:
    if ctx.llm is not None:
        await ctx.llm.aclose()


def worker_options(settings: Settings | None = None) -> dict[str, Any]:
    return build_worker_settings("extractor", on_startup=startup, on_shutdown=shutdown, settings=settings)


WorkerSettings = settings_class("WorkerSettings", worker_options())
