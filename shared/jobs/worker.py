"""Our arq workers: options built from the declared job kinds, a typed context built once at
startup, the relay and reaper on every tick, and a worker that rides out Redis restarts.

Run one with ``python -m services.extractor`` or ``python -m services.imagegen``
(``arq --check services.<name>.worker.WorkerSettings`` checks its health).
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
import uvloop
from arq import cron
from arq.connections import create_pool
from arq.constants import in_progress_key_prefix
from arq.utils import timestamp_ms
from arq.worker import Function, Worker, func
from redis.exceptions import RedisError

from shared.config import Settings, get_settings
from shared.db import create_engine, create_sessionmaker
from shared.jobs.context import WorkerContext
from shared.jobs.kinds import Worker as WorkerName
from shared.jobs.queue import Outbox, deserialize, redis_settings, serialize, wake_key
from shared.jobs.registry import JobKind, kinds_for
from shared.jobs.relay import reap_once, relay_once
from shared.jobs.runner import run_job
from shared.logging import configure_logging
from shared.storage.factory import build_storage

log = structlog.get_logger()

Hook = Callable[[WorkerContext], Awaitable[None]]
CONTEXT_KEY = "worker"
ARQ_MAX_DELIVERIES = 1000


def context_of(ctx: dict[str, Any]) -> WorkerContext:
    wc: WorkerContext = ctx[CONTEXT_KEY]
    return wc


def _arq_function(kind: JobKind[Any, Any], settings: Settings) -> Function:
    async def task(ctx: dict[str, Any], job_id: str) -> str:
        return await run_job(context_of(ctx), kind, job_id)

    task.__qualname__ = task.__name__ = kind.name
    timeout = (kind.timeout_s or settings.job_timeout_s) + 5  # our own timeout fires first
    # arq counts every delivery, also a deferral while the database is away (which never claimed
    # the row); the row's own ``tries`` and ``max_tries`` decide when a job has been tried enough.
    return func(task, name=kind.name, timeout=timeout, max_tries=ARQ_MAX_DELIVERIES)


async def _build_context(ctx: dict[str, Any], worker: WorkerName, settings: Settings) -> WorkerContext:
    pool_size = max(2, min(10, _concurrency(worker, settings) + 2))
    # Every job checks out a connection at least twice (claim, outcome): no ping query per checkout.
    engine = create_engine(settings, pool_size=pool_size, socket_ping=True)
    # S3 may create its bucket here, which blocks: build storage in a thread.
    storage = await asyncio.to_thread(build_storage, settings)
    redis = ctx["redis"]
    outbox = Outbox(redis, create_sessionmaker(engine))
    return WorkerContext(
        settings=settings,
        engine=engine,
        sessions=create_sessionmaker(engine, outbox=outbox),
        redis=redis,
        storage=storage,
    )


def _concurrency(worker: WorkerName, settings: Settings) -> int:
    return settings.extractor_concurrency if worker == "extractor" else settings.imagegen_concurrency


def build_worker_settings(
    worker: WorkerName,
    *,
    on_startup: Hook | None = None,
    on_shutdown: Hook | None = None,
    extra_cron: list[Any] | None = None,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """Keyword arguments for ``arq.Worker`` (and the attributes of a ``WorkerSettings`` class)."""
    settings = settings or get_settings()
    queue = settings.extractor_queue if worker == "extractor" else settings.imagegen_queue
    concurrency = _concurrency(worker, settings)

    async def startup(ctx: dict[str, Any]) -> None:
        configure_logging(settings, process=worker)
        wc = ctx[CONTEXT_KEY] = await _build_context(ctx, worker, settings)
        if on_startup:
            await on_startup(wc)
        log.info("worker.startup.succeeded", worker=worker, queue=queue, concurrency=concurrency)

    async def shutdown(ctx: dict[str, Any]) -> None:
        wc: WorkerContext | None = ctx.get(CONTEXT_KEY)
        if wc is None:
            return
        if on_shutdown:
            await on_shutdown(wc)
        await wc.engine.dispose()
        log.info("worker.shutdown.succeeded", worker=worker)

    async def tick(ctx: dict[str, Any]) -> int:
        wc = context_of(ctx)
        recovered = await reap_once(wc.sessions, wc.redis, settings)
        return recovered + await relay_once(wc.sessions, wc.redis, settings)

    every = max(1, int(settings.relay_interval_s))
    return {
        "functions": [_arq_function(k, settings) for k in kinds_for(worker)],
        "cron_jobs": [
            # Named per worker: arq derives the cron job's id from its name, and two workers with
            # one name would share one run per tick (the other's would be skipped as a duplicate).
            # The relay's own timeout must not exceed the jobs' (arq sizes its lease from the max).
            cron(
                tick,
                name=f"relay:{worker}",
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
        # Nothing reads arq's results (the row has the outcome), and a kept result would only make arq
        # refuse a re-push of the id meanwhile.
        "keep_result": 0,
        "max_tries": ARQ_MAX_DELIVERIES,
        "health_check_interval": 10,
        # One key per host, so a pod's probe (``arq --check`` run inside it) sees its own worker,
        # not any healthy worker on the same queue.
        "health_check_key": f"{queue}:health-check:{socket.gethostname()}",
        "job_completion_wait": settings.shutdown_grace_s,
        "job_serializer": serialize,
        "job_deserializer": deserialize,
        # Cancel is the row's status, seen by the job's heartbeat (shared/jobs/runner.py), not
        # arq's abort: its check cost two Redis commands on every poll and one more per job.
        "allow_abort_jobs": False,
        # Between polls a worker waits on its wake list (see ResilientWorker), so new work starts
        # at once; the poll itself only catches deferred retries and missed wake-ups.
        "poll_delay": settings.worker_poll_delay_s,
    }


# A job's lease, as arq's ``start_jobs`` takes it: refused when another worker holds it, or the job
# is no longer queued (finished), or is queued for later; else set for ``lease_ms``. Returns the
# job's score, or nil. KEYS: in-progress key, queue; ARGV: job id, now (ms), lease (ms).
_LEASE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return nil end
local score = redis.call('ZSCORE', KEYS[2], ARGV[1])
if not score or tonumber(score) > tonumber(ARGV[2]) then return nil end
redis.call('PSETEX', KEYS[1], ARGV[3], '1')
return score
"""


class ResilientWorker(Worker):
    """An arq worker that waits for Redis instead of exiting when it is away (at startup, or when
    it restarts under a running worker): jobs in flight finish against PostgreSQL, polling resumes
    with backoff, and the relay re-pushes whatever a restarted Redis lost.

    Between polls it blocks on its queue's wake list (``BLPOP``, see ``queue.wake_key``) for at most
    ``poll_delay``: an idle worker starts a new job as soon as it is enqueued, and costs one
    blocking call per ``poll_delay`` while idle instead of a poll every 0.1 s."""

    _backoff = 0.0
    _read = 0  # job ids the last poll read from the queue

    async def start_jobs(self, job_ids: list[bytes]) -> None:
        """arq's ``start_jobs``, with its lease taken in one round trip instead of four (WATCH,
        EXISTS, ZSCORE, then MULTI/PSETEX/EXEC): the same checks and the same lease, atomic in a
        script. A job stays on the queue until it finishes, so every poll also reads again the
        jobs this worker is running: those are skipped without asking Redis at all (they hold
        their lease until they are done)."""
        self._read = len(job_ids)
        lease_ms = str(int(self.in_progress_timeout_s * 1000))
        for job_id_b in job_ids:
            job_id = job_id_b.decode()
            running = self.tasks.get(job_id)
            if running is not None and not running.done():
                continue
            await self.sem.acquire()
            if self.job_counter >= self.max_jobs:
                self.sem.release()
                return
            self.job_counter = self.job_counter + 1
            now = str(timestamp_ms())
            keys = (in_progress_key_prefix + job_id, self.queue_name)
            redis: Any = self.pool  # redis-py's stubs type ``eval`` for the sync client too
            score = await redis.eval(_LEASE, 2, *keys, job_id, now, lease_ms)
            if score is None:
                # Already running elsewhere, finished and removed, or re-queued for later.
                self.job_counter = self.job_counter - 1
                self.sem.release()
                continue
            task = self.loop.create_task(self.run_job(job_id, int(float(score))))
            task.add_done_callback(lambda _: self._release_sem_dec_counter_on_complete())
            self.tasks[job_id] = task

    async def main(self) -> None:
        delay = 0.5
        while self._pool is None:
            try:
                self._pool = await create_pool(
                    self.redis_settings,
                    job_deserializer=self.job_deserializer,
                    job_serializer=self.job_serializer,
                    default_queue_name=self.queue_name,
                    expires_extra_ms=self.expires_extra_ms,
                )
            except (TimeoutError, RedisError, OSError) as exc:
                log.warning("worker.redis.unavailable", error=repr(exc), retry_in_s=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
        if self.burst:
            await super().main()  # tests: arq's own loop, which knows when the queue is empty
            return
        self.ctx["redis"] = self.pool
        if self.on_startup:
            await self.on_startup(self.ctx)
        wake = wake_key(self.queue_name)
        while True:
            self._read = 0
            await self._poll_iteration()
            if self._read >= self.queue_read_limit and self.job_counter < self.max_jobs:
                continue  # it read a full page of ready jobs and has room: there may be more
            # Otherwise it has seen every job that was ready; one enqueued since comes with a
            # wake-up, so an immediate second poll would only find nothing.
            await self._idle(wake)

    async def _idle(self, wake: str) -> None:
        if self._backoff:
            return  # _poll_iteration already slept
        try:
            if self.job_counter < self.max_jobs:
                # Redis takes a fractional timeout; redis-py's stubs only admit whole seconds.
                redis: Any = self.pool
                await redis.blpop([wake], timeout=self.poll_delay_s)
                return
            # Every slot busy: wait for the first job to finish, not a whole poll interval.
            running = [t for t in self.tasks.values() if not t.done()]
            if running:
                await asyncio.wait(running, timeout=self.poll_delay_s, return_when=asyncio.FIRST_COMPLETED)
            else:
                await asyncio.sleep(self.poll_delay_s)
        except (TimeoutError, RedisError, OSError):
            await asyncio.sleep(self.poll_delay_s)

    async def _poll_iteration(self) -> None:
        try:
            await super()._poll_iteration()
        except (TimeoutError, RedisError, OSError) as exc:
            if not self._backoff:
                log.warning("worker.redis.lost", error=repr(exc))
            self._backoff = min(max(self._backoff * 2, 0.2), 5.0)
            await asyncio.sleep(self._backoff)
            return
        if self._backoff:
            log.info("worker.redis.recovered")
            self._backoff = 0.0


def settings_class(name: str, values: dict[str, Any]) -> type:
    """arq's CLI (``arq --check``) wants a class whose attributes are the worker options."""
    return type(name, (), values)


PROFILE_ENV = "FILMASSETS_WORKER_PROFILE"


def run(options: dict[str, Any]) -> None:
    """Run a worker process until SIGTERM/SIGINT (graceful: running jobs get the grace period).

    With ``FILMASSETS_WORKER_PROFILE=<path>`` (benchmarks only) the whole run is under cProfile and
    its stats are written to ``<path>`` when the worker stops."""
    # On uvloop: a worker is mostly event-loop work around Redis and PostgreSQL round trips (several
    # per job, a wake-up and a poll per job when jobs arrive one by one); measured ~10% less CPU per
    # no-op job. arq's Worker takes the loop that is set when it is built.
    asyncio.set_event_loop(uvloop.new_event_loop())
    worker = ResilientWorker(**options)
    out = os.environ.get(PROFILE_ENV)
    if not out:
        worker.run()
        return
    import cProfile
    import time

    profiler = cProfile.Profile(time.process_time)  # CPU, not wall time: the machine is shared
    try:
        profiler.runcall(worker.run)
    finally:
        profiler.dump_stats(out)
