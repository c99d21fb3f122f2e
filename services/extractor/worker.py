"""The extractor worker: ``arq services.extractor.worker.WorkerSettings``."""

from __future__ import annotations

from typing import Any

from services.extractor.tasks import HANDLERS
from shared.config import Settings
from shared.jobs.worker import build_worker_settings, settings_class


def worker_options(settings: Settings | None = None) -> dict[str, Any]:
    return build_worker_settings("extractor", HANDLERS, settings=settings)


WorkerSettings = settings_class("WorkerSettings", worker_options())
