"""No-op jobs through the full job path, next to raw arq on the same Redis, in the same run.

    python -m bench.bench_queue [--jobs 500] [--concurrency 16] [--paced-jobs 200] [--rate 25]

Full path: the real API (uvicorn) and the real extractor worker (``python -m
services.extractor``). The client (aiohttp, cheap enough not to starve the server on shared cores)
POSTs /v1/jobs/ping without a body: the API writes the job row (``enqueued_at`` stamped), commits,
and pushes it to arq with ``_job_id`` = row id (the outbox). It runs twice: as deployed (the ping
answered by the API's lean lane: one INSERT on the driver connection, then the push), and with lean
paths off ("full, FastAPI": FastAPI's handler, dependencies, session and ORM flush, the way every
route that starts domain work goes; burst only). The worker
claims the row (guarded UPDATE), runs the no-op handler and writes ``succeeded`` in its own
transaction. Latency is ``started_at - created_at`` from the rows: ``created_at`` is PostgreSQL's
``now()`` when the API's transaction began, ``started_at`` the worker's clock at the claim (one
machine, one clock). jobs/s is jobs / (last ``finished_at`` - first ``created_at``).

Raw arq: ``arq bench.bench_queue.RawWorkerSettings``, a worker whose one function does nothing, on
its own queue in the same Redis database, with the project's JSON serializer and the same
``max_jobs`` as the extractor worker; it runs twice: at arq's tuned poll delay (``--raw-poll``,
0.1 s, where plain arq is fastest: it only finds work by polling) and at our worker's
``poll_delay`` (which our worker can afford because an enqueue wakes it). The client calls ``enqueue_job``;
latency is arq's own ``start_time - enqueue_time`` (millisecond resolution), jobs/s is jobs /
(last ``finish_time`` - first ``enqueue_time``).

Each path runs twice:
- burst: ``--jobs`` submitted by ``--concurrency`` concurrent clients as fast as they go: jobs/s is
  the throughput; latency includes the time jobs wait behind each other.
- paced: ``--paced-jobs`` submitted at ``--rate`` per second (below either path's capacity): latency
  is what one job waits on an idle-ish system, dominated by the worker's poll delay.

Both workers are separate processes on the same cores as the API, PostgreSQL and this client.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
from arq.connections import ArqRedis, create_pool
from arq.constants import result_key_prefix
from arq.jobs import Job as ArqJob
from arq.worker import func

try:
    import bench  # noqa: F401 - only checking it is importable
except ModuleNotFoundError:  # run as a script: bench/ is sys.path[0], not the repo root
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (
    Cell,
    Child,
    CpuMeter,
    Server,
    arq_health_key,
    bench_settings,
    exclusive_run,
    exit_on_sigterm,
    flush_redis,
    percentile,
    prepare_database,
    print_table,
    redis_pid,
    settings_env,
    start_arq_worker,
    start_server,
    start_worker,
    try_uvloop,
    wait_arq_ready,
)
from services.extractor.worker import worker_options
from shared.auth import make_token
from shared.config import Settings
from shared.jobs.queue import deserialize, redis_settings, serialize
from shared.jobs.worker import PROFILE_ENV, settings_class

RAW_QUEUE_ENV = "FILMASSETS_BENCH_RAW_QUEUE"
RAW_POLL_ENV = "FILMASSETS_BENCH_RAW_POLL"
RAW_FUNCTION = "raw_noop"
FULL = "full path"
FULL_FASTAPI = "full, FastAPI"
WARMUP_JOBS = 20


# --- the raw arq worker (``python -m arq bench.bench_queue.RawWorkerSettings``)


async def raw_noop(ctx: dict[str, Any]) -> None:
    """Nothing: arq records its own enqueue, start and finish times in the result."""


def raw_worker_options(settings: Settings | None = None, queue: str | None = None) -> dict[str, Any]:
    """Plain arq with the extractor worker's concurrency, poll delay, Redis and serializer. The
    worker subprocess reads its settings and queue from the environment."""
    settings = settings or Settings()
    project = worker_options(settings)
    return {
        "functions": [func(raw_noop, name=RAW_FUNCTION)],
        "queue_name": queue or os.environ.get(RAW_QUEUE_ENV, "bench:raw"),
        "redis_settings": project["redis_settings"],
        "max_jobs": project["max_jobs"],
        "poll_delay": float(os.environ.get(RAW_POLL_ENV, project["poll_delay"])),
        "job_serializer": serialize,
        "job_deserializer": deserialize,
        "keep_result": 600,
    }


RawWorkerSettings = settings_class("RawWorkerSettings", raw_worker_options())


# --- submitting jobs


async def submit_burst(count: int, concurrency: int, submit: Callable[[], Awaitable[str]]) -> list[str]:
    """``count`` submissions by ``concurrency`` clients, each sending one after the other."""
    ids: list[str] = []
    remaining = count

    async def client() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            ids.append(await submit())

    await asyncio.gather(*(client() for _ in range(concurrency)))
    return ids


async def submit_paced(count: int, rate: float, submit: Callable[[], Coroutine[Any, Any, str]]) -> list[str]:
    """``count`` submissions started at ``rate`` per second, whether or not earlier ones returned."""
    start = time.perf_counter()
    tasks: list[asyncio.Task[str]] = []
    for i in range(count):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(submit()))
    return list(await asyncio.gather(*tasks))


@dataclass(slots=True)
class Timing:
    """One job: when it was submitted, started and finished (seconds, one clock)."""

    created: float
    started: float
    finished: float
    ok: bool


@dataclass(slots=True)
class Outcome:
    path: str
    mode: str
    timings: list[Timing]
    submit_s: float
    cpu: dict[str, float]

    def row(self) -> list[str | int | float | None]:
        t = self.timings
        latencies = [(x.started - x.created) * 1000 for x in t]
        span = max(x.finished for x in t) - min(x.created for x in t)
        n = len(t)
        return [
            self.path,
            self.mode,
            n,
            sum(x.ok for x in t),
            n / self.submit_s,
            n / span,
            percentile(latencies, 50),
            percentile(latencies, 99),
            f"{self.cpu['worker_cpu_s'] * 1000 / n:.2f}",
            f"{self.cpu['api_cpu_s'] * 1000 / n:.2f}" if "api_cpu_s" in self.cpu else None,
            f"{self.cpu['postgres_cpu_s'] * 1000 / n:.2f}",
            f"{self.cpu['redis_cpu_s'] * 1000 / n:.2f}",
            f"{self.cpu['client_cpu_s'] * 1000 / n:.2f}",
            self.cpu["other_pct"],
        ]


HEADERS = [
    "path",
    "mode",
    "jobs",
    "ok",
    "submit/s",
    "jobs/s",
    "enq->start p50 ms",
    "p99 ms",
    "worker ms/job",
    "api ms/job",
    "pg ms/job",
    "redis ms/job",
    "client ms/job",
    "other %",
]


# --- full path: API -> row -> Redis -> worker -> row


async def full_path(
    settings: Settings, api: Server, worker: Child, args: argparse.Namespace, *, name: str, paced: bool
) -> list[Outcome]:
    from sqlalchemy import func as sql_func
    from sqlalchemy import select

    from shared.db import create_engine
    from shared.models import TERMINAL_STATUSES, Job

    await wait_arq_ready(settings.redis_url, arq_health_key(worker_options(settings)), worker)
    redis = await redis_pid(settings)
    engine = create_engine(settings, pool_size=2)
    headers = {"Authorization": f"Bearer {make_token(settings, sub=uuid.uuid4())}"}
    # aiohttp, not httpx: see pyproject.toml (the load generator must not eat the cores it measures).
    client = aiohttp.ClientSession(
        api.base_url,
        headers=headers,
        connector=aiohttp.TCPConnector(limit=args.concurrency),
        timeout=aiohttp.ClientTimeout(total=30.0),
    )

    async def ping() -> str:
        async with client.post("/v1/jobs/ping") as r:
            r.raise_for_status()
            job_id: str = (await r.json())["job"]["id"]
        return job_id

    async def finished(ids: list[str]) -> list[Timing]:
        wanted = [uuid.UUID(i) for i in ids]
        deadline = time.monotonic() + args.wait_s
        async with engine.connect() as conn:
            while True:
                done = await conn.scalar(
                    select(sql_func.count())
                    .select_from(Job)
                    .where(Job.id.in_(wanted), Job.status.in_(TERMINAL_STATUSES))
                )
                await conn.rollback()  # a fresh snapshot for the next look
                if done == len(ids):
                    break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{len(ids) - (done or 0)} of {len(ids)} jobs unfinished after wait")
                if not worker.alive():
                    raise RuntimeError(f"the extractor worker exited:\n{worker.log_tail()}")
                await asyncio.sleep(0.05)
            rows = (
                await conn.execute(
                    select(Job.status, Job.created_at, Job.started_at, Job.finished_at).where(
                        Job.id.in_(wanted)
                    )
                )
            ).all()
        return [
            Timing(_ts(r.created_at), _ts(r.started_at), _ts(r.finished_at), r.status == "succeeded")
            for r in rows
        ]

    outcomes: list[Outcome] = []
    try:
        await finished(await submit_burst(WARMUP_JOBS, args.concurrency, ping))
        for mode, submit in _modes(args, ping)[: 2 if paced else 1]:
            meter = CpuMeter({"api": api.pid, "worker": worker.pid, "redis": redis, "client": os.getpid()})
            meter.start()
            t0 = time.perf_counter()
            ids = await submit()
            submit_s = time.perf_counter() - t0
            timings = await finished(ids)
            outcomes.append(Outcome(name, mode, timings, submit_s, meter.stop()))
    finally:
        await client.close()
        await engine.dispose()
    return outcomes


def _ts(value: datetime | None) -> float:
    return value.timestamp() if value else float("nan")


def _modes(
    args: argparse.Namespace, submit_one: Callable[[], Coroutine[Any, Any, str]]
) -> list[tuple[str, Callable[[], Awaitable[list[str]]]]]:
    return [
        (f"burst x{args.concurrency}", lambda: submit_burst(args.jobs, args.concurrency, submit_one)),
        (f"paced {args.rate:g}/s", lambda: submit_paced(args.paced_jobs, args.rate, submit_one)),
    ]


# --- raw arq on the same Redis


async def raw_arq(
    settings: Settings,
    worker: Child,
    queue: str,
    poll: float,
    args: argparse.Namespace,
    *,
    paced: bool = True,
) -> list[Outcome]:
    await wait_arq_ready(settings.redis_url, arq_health_key(raw_worker_options(settings, queue)), worker)
    redis = await redis_pid(settings)
    pool: ArqRedis = await create_pool(
        redis_settings(settings),
        job_serializer=serialize,
        job_deserializer=deserialize,
        default_queue_name=queue,
    )

    async def enqueue() -> str:
        job = await pool.enqueue_job(RAW_FUNCTION, _queue_name=queue)
        if job is None:
            raise RuntimeError("arq refused a job id it already holds")
        return job.job_id

    async def finished(ids: list[str]) -> list[Timing]:
        deadline = time.monotonic() + args.wait_s
        while await pool.exists(*(result_key_prefix + i for i in ids)) < len(ids):
            if time.monotonic() > deadline:
                raise TimeoutError(f"raw arq jobs unfinished after {args.wait_s:.0f}s")
            if not worker.alive():
                raise RuntimeError(f"the raw arq worker exited:\n{worker.log_tail()}")
            await asyncio.sleep(0.05)
        infos = await asyncio.gather(
            *(ArqJob(i, pool, _queue_name=queue, _deserializer=deserialize).result_info() for i in ids)
        )
        return [
            Timing(r.enqueue_time.timestamp(), r.start_time.timestamp(), r.finish_time.timestamp(), r.success)
            for r in infos
            if r is not None
        ]

    outcomes: list[Outcome] = []
    try:
        await finished(await submit_burst(WARMUP_JOBS, args.concurrency, enqueue))
        for mode, submit in _modes(args, enqueue)[: 2 if paced else 1]:
            meter = CpuMeter({"worker": worker.pid, "redis": redis, "client": os.getpid()})
            meter.start()
            t0 = time.perf_counter()
            ids = await submit()
            submit_s = time.perf_counter() - t0
            timings = await finished(ids)
            outcomes.append(Outcome(f"raw arq p{poll:g}", mode, timings, submit_s, meter.stop()))
    finally:
        await pool.aclose()
    return outcomes


# --- the run


# --- a bulk action's jobs (generate-all): one transaction, one statement or one per job


async def bulk_start(settings: Settings, count: int, rounds: int = 5) -> list[list[Cell]]:
    """CPU of this process to write ``count`` queued jobs in one transaction, the way a bulk action
    does (``JobStarter.start_many``: one INSERT) and one ``start`` per job (one flush each), best
    of ``rounds``; rolled back, so nothing is pushed. Only warnings are logged: the per-job line is
    the same either way."""
    from shared.db import create_engine, create_sessionmaker
    from shared.jobs.starter import JobStarter
    from shared.jobs.tasks import NoopPayload, noop
    from shared.logging import configure_logging

    configure_logging(settings.model_copy(update={"log_level": "WARNING"}), process="bench")
    engine = create_engine(settings, pool_size=1)
    sessions = create_sessionmaker(engine)
    best: dict[str, tuple[float, float]] = {}
    try:
        for _ in range(rounds):
            for how in ("start_many", "start per job"):
                async with sessions() as session:
                    jobs = JobStarter(session, settings=settings, owner_id=uuid.uuid4())
                    cpu, wall = time.process_time(), time.perf_counter()
                    if how == "start_many":
                        payloads = [NoopPayload() for _ in range(count)]
                        await jobs.start_many(noop, project=None, payloads=payloads)
                    else:
                        for _ in range(count):
                            await jobs.start(noop, project=None, payload=NoopPayload())
                    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
                    await session.rollback()
                best[how] = min(best.get(how, (cpu, wall)), (cpu, wall))
    finally:
        await engine.dispose()
    return [[how, count, cpu * 1000, wall * 1000] for how, (cpu, wall) in best.items()]


async def _prepare(settings: Settings) -> None:
    await prepare_database(settings)
    await flush_redis(settings)


async def _bounded(coro: Awaitable[list[Outcome]], seconds: float) -> list[Outcome]:
    async with asyncio.timeout(seconds):
        return await coro


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--jobs", type=int, default=500, help="jobs in the burst (500)")
    parser.add_argument("--concurrency", type=int, default=16, help="concurrent submitters in the burst (16)")
    parser.add_argument("--paced-jobs", type=int, default=200, help="jobs in the paced run (200)")
    parser.add_argument("--rate", type=float, default=25.0, help="paced submissions per second (25)")
    parser.add_argument("--wait-s", type=float, default=60.0, help="max wait for jobs to finish (60)")
    parser.add_argument("--phase-timeout", type=float, default=180.0, help="hard limit per path (180)")
    parser.add_argument("--bulk", type=int, default=300, help="jobs of the bulk start (300)")
    parser.add_argument("--raw-poll", type=float, default=0.1, help="raw arq's tuned poll delay, s (0.1)")
    parser.add_argument(
        "--rounds", type=int, default=3, help="bursts of the full path and tuned raw arq, alternating (3)"
    )
    parser.add_argument(
        "--profile",
        type=Path,
        help="directory: run the API and the worker of the full path under cProfile and write\n"
        "api.prof and worker.prof there (figures of that run are inflated by the profiler)",
    )
    args = parser.parse_args()
    exit_on_sigterm()
    try_uvloop()  # the submitting client's loop, for both paths

    with exclusive_run(), tempfile.TemporaryDirectory(prefix="bench-queue-") as tmp_dir:
        tmp = Path(tmp_dir)
        settings = bench_settings(tmp)
        raw_queue = f"{settings.extractor_queue}:raw"
        env = settings_env(settings, **{RAW_QUEUE_ENV: raw_queue})
        full_env = dict(env)
        if args.profile:
            args.profile.mkdir(parents=True, exist_ok=True)
            full_env[PROFILE_ENV] = str(args.profile.resolve() / "worker.prof")
        options = worker_options(settings)
        asyncio.run(_prepare(settings))
        print(
            f"no-op jobs; worker max_jobs={options['max_jobs']} for both paths, poll_delay "
            f"{options['poll_delay']}s (ours; raw arq at {args.raw_poll:g}s too); burst {args.jobs} jobs by "
            f"{args.concurrency} clients, paced {args.paced_jobs} jobs at "
            f"{args.rate:g}/s; warm-up {WARMUP_JOBS} jobs each; {os.cpu_count()} CPUs shared by client, "
            "API, worker, PostgreSQL and Redis"
        )

        def ours(name: str, lean: str, *, paced: bool) -> list[Outcome]:
            children: list[Child] = []
            try:
                profile = args.profile.resolve() / f"api-{lean}.prof" if args.profile else None
                api_env = {**env, "FILMASSETS_LEAN_READS": lean}
                api = start_server("api", "services.api.main:app", api_env, tmp, profile=profile)
                children.append(api)
                worker = start_worker("extractor", "services.extractor", full_env, tmp)
                children.append(worker)
                run = full_path(settings, api, worker, args, name=name, paced=paced)
                return asyncio.run(_bounded(run, args.phase_timeout))
            finally:
                for child in children:
                    child.stop()

        def raw(poll: float, *, paced: bool) -> list[Outcome]:
            child = None
            try:
                raw_env = {**env, RAW_POLL_ENV: str(poll)}
                child = start_arq_worker(f"raw-{poll:g}", "bench.bench_queue.RawWorkerSettings", raw_env, tmp)
                run = raw_arq(settings, child, raw_queue, poll, args, paced=paced)
                return asyncio.run(_bounded(run, args.phase_timeout))
            finally:
                if child is not None:
                    child.stop()

        # The probe as a monitor sends it (no body: the lean lane), then the same burst through
        # FastAPI's full handler, which every route that starts domain work takes.
        outcomes = ours(FULL, "true", paced=True) + ours(FULL_FASTAPI, "false", paced=False)
        polls = sorted({args.raw_poll, float(options["poll_delay"])})
        for poll in polls:
            outcomes += raw(poll, paced=True)
        # More bursts of the full path and tuned raw arq, one after the other: the machine is
        # shared and its speed drifts within a minute, so one pair of runs can land on either side.
        tuned = f"raw arq p{args.raw_poll:g}"
        rounds = [(_burst(outcomes, FULL), _burst(outcomes, tuned))]
        more: list[Outcome] = []
        for n in range(2, args.rounds + 1):
            pair = ours(FULL, "true", paced=False) + raw(args.raw_poll, paced=False)
            rounds.append((_burst(pair, FULL), _burst(pair, tuned)))
            more += [replace(o, mode=f"{o.mode} #{n}") for o in pair]
        bulk = asyncio.run(bulk_start(settings, args.bulk))

    print()
    print_table(HEADERS, [o.row() for o in outcomes + more])
    by = {(o.path, o.mode.split()[0]): o.row() for o in outcomes}
    print()
    print_table(
        ["ratio to raw arq", "mode", "raw poll", "jobs/s", "p50", "p99"],
        [
            [
                path,
                mode,
                f"{poll:g} s" + (" (ours)" if poll == options["poll_delay"] else " (tuned)"),
                # paced jobs/s is the offered rate for both paths: no ratio to read there
                f"{_f(full[5]) / _f(raw_row[5]):.2f}x" if mode == "burst" else None,
                f"{_f(full[6]) / _f(raw_row[6]):.2f}x",
                f"{_f(full[7]) / _f(raw_row[7]):.2f}x",
            ]
            for path, mode in ((FULL, "burst"), (FULL_FASTAPI, "burst"), (FULL, "paced"))
            for poll in polls
            for full, raw_row in [(by[(path, mode)], by[(f"raw arq p{poll:g}", mode)])]
        ],
    )
    print(
        f"\n{FULL}: POST /v1/jobs/ping without a body, as a monitor sends it: the API's lean lane (one\n"
        f"INSERT, then the outbox push). {FULL_FASTAPI}: the same burst with lean paths off, through\n"
        "FastAPI's handler, its dependencies and a session, as every route that starts domain work.\n"
        "submit/s: how fast the client got its submissions accepted (POST /v1/jobs/ping or enqueue_job).\n"
        "jobs/s: jobs / (last finish - first submission). enq->start: submission to the worker starting\n"
        "the job. ms/job: CPU per job of the worker, the API, PostgreSQL, Redis and this client (the\n"
        "submitting side: aiohttp for the full path, arq's enqueue_job for raw arq) during the run.\n"
        "other %: CPU of everything else on the machine, in percent of one core."
    )
    print()
    ratios = [full / raw_jobs for full, raw_jobs in rounds]
    round_rows: list[list[Cell]] = [
        [i + 1, full, raw_jobs, f"{full / raw_jobs:.2f}x"] for i, (full, raw_jobs) in enumerate(rounds)
    ]
    print_table(
        ["burst round", f"{FULL} jobs/s", f"raw arq p{args.raw_poll:g} jobs/s", "ratio"],
        [*round_rows, ["median", None, None, f"{statistics.median(ratios):.2f}x"]],
    )
    print(
        f"{len(rounds)} bursts of each, alternating (#n in the first table): the machine is shared and\n"
        "its speed drifts, so the median of the rounds is the figure to read against the 0.5x floor."
    )
    print()
    print_table(["bulk start (one transaction)", "jobs", "CPU ms", "wall ms"], bulk)
    print(
        "start_many: how generate-all and generate-views write their jobs (one INSERT); start per job:\n"
        "one flush per job, as they did before. CPU of this process, best of 5, rolled back."
    )


def _burst(outcomes: list[Outcome], path: str) -> float:
    """jobs/s of ``path``'s burst among ``outcomes``."""
    (row,) = [o.row() for o in outcomes if o.mode.startswith("burst") and o.path == path]
    return _f(row[5])


def _f(value: object) -> float:
    return float(value) if isinstance(value, int | float | str) else float("nan")


if __name__ == "__main__":
    main()
