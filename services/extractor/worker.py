"""The extractor worker: ``arq services.extractor.worker.WorkerSettings``."""

from __future__ import annotations

from typing import Any

from services.extractor.handlers import HANDLERS
from shared.config import Settings
from shared.jobs.worker import build_worker_settings, settings_class
from shared.llm.client import LLMClient


async def startup(ctx: dict[str, Any]) -> None:
    settings: Settings = ctx["settings"]
    # No key configured: the offline extractor does both passes.
    ctx["llm"] = None if settings.llm_offline else LLMClient.from_settings(settings)


async def shutdown(ctx: dict[str, Any]) -> None:
    if ctx.get("llm") is not None:
        await ctx["llm"].aclose()


def worker_options(settings: Settings | None = None) -> dict[str, Any]:
    return build_worker_settings(
        "extractor", HANDLERS, on_startup=startup, on_shutdown=shutdown, settings=settings
    )


WorkerSettings = settings_class("WorkerSettings", worker_options())
