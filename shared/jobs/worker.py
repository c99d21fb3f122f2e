"""Building arq ``WorkerSettings`` for our two workers: JSON serialization, per-function timeouts
and tries from the kinds table, concurrency and grace period from settings, health checks, and the
outbox relay as a periodic task on each worker's own queue."""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import structlog
from arq import cron
from arq.worker import Function, func

from shared.config import Settings, get_settings
from shared.db import create_engine, create_sessionmaker
from shared.jobs.kinds import JobKind, Worker, kinds_for
from shared.jobs.queue import deserialize, redis_settings, serialize
from shared.jobs.relay import relay_once
from shared.jobs.runner import Handler, run_job
from shared.logging import configure_logging

log = structlog.get_logger()

Hook = Callable[[dict[str, Any]], Awaitable[None]]


def _arq_function(kind: JobKind, handler: Handler, settings: Settings) -> Function:
    async def task(ctx: dict[str, Any], job_id: str) -> str:
        return await run_job(ctx, job_id, handler)

    task.__name__ = kind.function
    timeout = (kind.timeout_s or settings.job_timeout_s) + 5  # our own timeout fires first
    return func(task, name=kind.function, timeout=timeout, max_tries=settings.job_max_tries + 2)


def build_worker_settings(
    worker: Worker,
    handlers: Mapping[str, Handler],
    *,
    on_startup: Hook | None = None,
    on_shutdown: Hook | None = None,
    extra_cron: list[Any] | None = None,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """Keyword arguments for ``arq.Worker`` (and the attributes of a ``WorkerSettings`` class)."""
    settings = settings or get_settings()
    kinds = kinds_for(worker)
    missing = {k.name for k in kinds} - handlers.keys()
    if missing:
        raise RuntimeError(f"{worker} worker has no handler for {sorted(missing)}")
    queue = settings.extractor_queue if worker == "extractor" else settings.imagegen_queue

    async def startup(ctx: dict[str, Any]) -> None:
        configure_logging(settings, process=worker)
        engine = create_engine(settings, pool_size=max(2, min(10, concurrency)))
        ctx.update(settings=settings, engine=engine, sessions=create_sessionmaker(engine))
        if on_startup:
            await on_startup(ctx)
        log.info("worker.startup.succeeded", worker=worker, queue=queue, concurrency=concurrency)

    async def shutdown(ctx: dict[str, Any]) -> None:
        if on_shutdown:
            await on_shutdown(ctx)
        if "engine" in ctx:
            await ctx["engine"].dispose()
        log.info("worker.shutdown.succeeded", worker=worker)

    async def relay(ctx: dict[str, Any]) -> int:
        return await relay_once(ctx["sessions"], ctx["redis"], settings, queue=queue)

    every = max(1, int(settings.relay_interval_s))
    concurrency = settings.extractor_concurrency if worker == "extractor" else settings.imagegen_concurrency
    relay.__name__ = f"relay_{worker}"
    return {
        "functions": [_arq_function(k, handlers[k.name], settings) for k in kinds],
        "cron_jobs": [
            # arq sizes its redelivery lease from the largest timeout of any function, so the
            # relay's own timeout must not exceed the jobs'.
            cron(
                relay,
                second=set(range(0, 60, every)),
                run_at_startup=True,
                timeout=min(30, settings.job_timeout_s + 5),
                keep_result=0,
                max_tries=1,
            ),
            *(extra_cron or []),
        ],
        "queue_name": queue,
        "redis_settings": redis_settings(settings),
        "on_startup": startup,
        "on_shutdown": shutdown,
        "max_jobs": concurrency,
        "job_timeout": settings.job_timeout_s + 5,
        "keep_result": 60,
        "max_tries": settings.job_max_tries + 2,
        "health_check_interval": 10,
        # One key per host, so a pod's probe (``arq --check`` run inside it) sees its own worker,
        # not any healthy worker on the same queue.
        "health_check_key": f"{queue}:health-check:{socket.gethostname()}",
        "job_completion_wait": settings.shutdown_grace_s,
        "job_serializer": serialize,
        "job_deserializer": deserialize,
        "allow_abort_jobs": True,
        "poll_delay": 0.1,
    }


def settings_class(name: str, values: dict[str, Any]) -> type:
    """arq's CLI wants a class whose attributes are the worker options."""
    return type(name, (), values)
