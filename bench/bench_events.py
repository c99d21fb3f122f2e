"""How many events per second the project-wide stream (GET /v1/projects/{pid}/events) carries.

    python -m bench.bench_events [--jobs 300] [--events 5000] [--clients 1,10]

The real API (uvicorn, one process) serves the stream; K clients in this process (httpx, one
connection each) open it, wait for its ``ready`` event, then count the ``job`` events they get.
For each K in ``--clients``:

1. real jobs: ``--jobs`` noop jobs of one project (``hold_ms=40``: queued, running, four progress
   reports and succeeded, 7 events each) started in one transaction (pushed after the commit, as
   the API does) and run by the real extractor worker (``python -m services.extractor``, started
   once and ready before the first run). Figures: events/s each client received, between the
   start of the transaction and its last event, and the rate the jobs produced them (events /
   (last ``finished_at`` - start)): the floor, clients that keep up receive at about that rate.
2. capacity: this process publishes ``--events`` job events as fast as it can with
   ``shared.jobs.events.publish_jobs`` (four publishers, pipelines of 100, as the workers and the
   API publish them) on a fresh project. Figures: events/s published and received per client,
   and ``reset`` events (a client that falls more than ~1000 events behind the capped stream is
   told to refetch and misses events). Next to it, the floor: one bare Redis ``XREAD`` reader in
   this process (the same batch size as the route), no API, no SSE.

CPU over each run, in percent of one core (a 2-core machine tops out at 200): the API process,
the worker, this process (the clients, and the publishers of the capacity runs) and everything
else (PostgreSQL, Redis, other work on the machine). They all share the machine's cores: with
many clients, this process's parsing or a saturated machine can be what limits the per-client
rate rather than the API.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from redis.asyncio import Redis
from sqlalchemy import func, select

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
    prepare_database,
    print_table,
    settings_env,
    start_server,
    start_worker,
    try_uvloop,
    wait_arq_ready,
)
from services.api.routers.events import READ_BATCH
from services.extractor.worker import worker_options
from shared.auth import make_token
from shared.config import Settings
from shared.db import create_engine, create_sessionmaker, session_scope
from shared.jobs import events
from shared.jobs.queue import Outbox, arq_client
from shared.jobs.starter import JobStarter
from shared.jobs.tasks import NoopPayload, noop
from shared.logging import configure_logging
from shared.models import Job, Project

HOLD_MS = 40
EVENTS_PER_JOB = 7  # queued, running, 4 progress reports, succeeded
PUBLISHERS = 4
PIPELINE = 100
GRACE_S = 5.0  # how long clients may lag once every job has finished
QUIET_S = 1.0  # a client that got nothing for this long after the last publish is done


@dataclass(slots=True)
class Client:
    """What one SSE client received."""

    want: int
    received: int = 0
    resets: int = 0
    last_at: float = math.nan
    ready: asyncio.Event = field(default_factory=asyncio.Event)


async def follow(http: httpx.AsyncClient, url: str, client: Client) -> None:
    """Read the stream until ``client.want`` job events (or until cancelled: a client that missed
    events never gets there)."""
    async with http.stream("GET", url) as r:
        if r.status_code != 200:
            raise RuntimeError(f"GET {url}: {r.status_code} {(await r.aread())[:300]!r}")
        event = ""
        async for line in r.aiter_lines():
            if line.startswith("event:"):
                event = line[6:].strip()
                if event == "ready":
                    client.ready.set()
            elif line.startswith("data:"):
                if event == "reset":
                    client.resets += 1
                elif event in ("job", "attempt"):
                    client.received += 1
                    client.last_at = time.time()
                    if client.received >= client.want:
                        return


@dataclass(slots=True)
class Clients:
    """K clients following one project's stream, each on its own connection."""

    clients: list[Client]
    tasks: list[asyncio.Task[None]]
    https: list[httpx.AsyncClient]

    @classmethod
    async def open(cls, base_url: str, token: str, pid: str, k: int, want: int) -> Clients:
        clients = [Client(want) for _ in range(k)]
        https = [
            httpx.AsyncClient(
                base_url=base_url,
                headers={"Authorization": f"Bearer {token}"},
                timeout=httpx.Timeout(10, read=60),
                trust_env=False,
            )
            for _ in range(k)
        ]
        url = f"/v1/projects/{pid}/events"
        tasks = [asyncio.create_task(follow(h, url, c)) for h, c in zip(https, clients, strict=True)]
        opened = cls(clients, tasks, https)
        ready: asyncio.Future[Any] = asyncio.gather(*(c.ready.wait() for c in clients))
        waiting: list[asyncio.Future[Any]] = [ready, *tasks]
        done, _ = await asyncio.wait(waiting, timeout=30, return_when=asyncio.FIRST_COMPLETED)
        if ready not in done:
            await opened.close()
            ready.cancel()
            for t in done:
                t.result()  # a client that failed raises here
            raise TimeoutError("the clients did not get their ready event within 30 s")
        return opened

    def all_done(self) -> bool:
        return all(t.done() for t in self.tasks)

    async def wait(self, within_s: float) -> None:
        await asyncio.wait(self.tasks, timeout=within_s)

    async def settle(self, since: float, quiet_s: float, within_s: float) -> None:
        """Once nothing more is coming (from ``since``, a ``time.time()``): wait until every client
        has all its events, or until none got anything for ``quiet_s`` (those that missed events,
        after a reset, stop there)."""
        deadline = time.monotonic() + within_s
        while not self.all_done() and time.monotonic() < deadline:
            await self.wait(0.1)
            latest = max([since, *(c.last_at for c in self.clients if not math.isnan(c.last_at))])
            if time.time() - latest > quiet_s:
                return

    async def close(self) -> None:
        for t in self.tasks:
            t.cancel()
        results = await asyncio.gather(*self.tasks, return_exceptions=True)
        for h in self.https:
            await h.aclose()
        for res in results:
            if isinstance(res, Exception):
                raise res


@dataclass(slots=True)
class Row:
    phase: str
    k: int
    events: int
    clients: list[Client]
    span_s: float  # start to the last client's last event
    rates: list[float]  # events/s per client
    produced_per_s: float
    cpu: dict[str, float]

    def cells(self) -> list[Cell]:
        got = [c.received for c in self.clients]
        return [
            self.phase,
            self.k,
            self.events,
            f"{min(got):,}..{max(got):,}" if min(got) != max(got) else f"{got[0]:,}",
            sum(c.resets for c in self.clients),
            f"{self.span_s:.2f}",
            min(self.rates),
            sum(got) / self.span_s,
            self.produced_per_s,
            self.cpu.get("api_pct"),
            self.cpu.get("worker_pct"),
            self.cpu["clients_pct"],
            self.cpu["other_pct"],
        ]


HEADERS = [
    "phase",
    "clients",
    "events",
    "received",
    "resets",
    "s",
    "ev/s per client (min)",
    "ev/s in all",
    "produced ev/s",
    "api %",
    "worker %",
    "clients %",
    "other %",
]


async def new_project(http: httpx.AsyncClient, title: str) -> str:
    r = await http.post("/v1/projects", json={"title": title})
    if r.status_code != 201:
        raise RuntimeError(f"POST /v1/projects: {r.status_code} {r.text[:300]}")
    pid: str = r.json()["id"]
    return pid


def _rate(count: int, start: float, end: float) -> float:
    return count / (end - start) if end > start else math.nan


# --- 1. real jobs through the real worker


async def real_jobs(
    settings: Settings, api: Server, pids: dict[str, int], token: str, pid: str, n: int, k: int
) -> Row:
    want = n * EVENTS_PER_JOB
    engine = create_engine(settings)
    pool = arq_client(settings)
    sessions = create_sessionmaker(engine, outbox=Outbox(pool, create_sessionmaker(engine)))
    clients = await Clients.open(api.base_url, token, pid, k, want)
    meter = CpuMeter(pids)
    try:
        meter.start()
        t0 = time.time()
        async with session_scope(sessions) as s:
            project = await s.get_one(Project, uuid.UUID(pid))
            starter = JobStarter(s, settings=settings, owner_id=project.owner_id)
            for _ in range(n):
                await starter.start(noop, project=project, payload=NoopPayload(hold_ms=HOLD_MS))
        finished_seen: float | None = None
        deadline = time.monotonic() + 120 + n * 0.1
        while not clients.all_done() and time.monotonic() < deadline:
            await clients.wait(0.5)
            if finished_seen is None:
                async with sessions() as s:
                    left = await s.scalar(
                        select(func.count()).where(Job.project_id == project.id, Job.finished_at.is_(None))
                    )
                if left == 0:
                    finished_seen = time.monotonic()
            elif time.monotonic() - finished_seen > GRACE_S:
                break  # a client missed events (reset) and will never get all of them
        cpu = meter.stop()
        async with sessions() as s:
            last_finish = await s.scalar(
                select(func.max(Job.finished_at)).where(Job.project_id == project.id)
            )
    finally:
        await clients.close()
        await pool.aclose()
        await engine.dispose()
    if finished_seen is None:
        raise TimeoutError(f"the {n} jobs did not finish; is the worker running?")
    end = last_finish.timestamp() if last_finish is not None else math.nan
    cs = clients.clients
    return Row(
        phase=f"real jobs ({n} x {EVENTS_PER_JOB})",
        k=k,
        events=want,
        clients=cs,
        span_s=max(c.last_at for c in cs) - t0,
        rates=[_rate(c.received, t0, c.last_at) for c in cs],
        produced_per_s=_rate(want, t0, end),
        cpu=cpu,
    )


# --- 2. capacity: events published as fast as they go


def capacity_batch(pid: str, start: int, m: int) -> list[dict[str, Any]]:
    return [
        {
            "id": str(uuid.uuid4()),
            "kind": "noop",
            "project_id": pid,
            "status": "running",
            "progress": i / m,
            "message": f"step {i}",
        }
        for i in range(start, min(m, start + PIPELINE))
    ]


async def publish(redis: Redis, pid: str, m: int) -> float:
    """``m`` events on the project's stream by ``PUBLISHERS`` concurrent publishers; when done."""

    async def publisher(part: int) -> None:
        for start in range(part * PIPELINE, m, PUBLISHERS * PIPELINE):
            await events.publish_jobs(redis, capacity_batch(pid, start, m))

    await asyncio.gather(*(publisher(p) for p in range(PUBLISHERS)))
    return time.time()


async def capacity(
    settings: Settings, api: Server, pids: dict[str, int], token: str, pid: str, m: int, k: int
) -> Row:
    redis = arq_client(settings)
    clients = await Clients.open(api.base_url, token, pid, k, m)
    meter = CpuMeter(pids)
    try:
        meter.start()
        t0 = time.time()
        published_at = await publish(redis, pid, m)
        await clients.settle(published_at, QUIET_S, 60)
        cpu = meter.stop()
    finally:
        await clients.close()
        await redis.aclose()
    cs = clients.clients
    return Row(
        phase=f"capacity ({m:,} events)",
        k=k,
        events=m,
        clients=cs,
        span_s=max(c.last_at for c in cs) - t0,
        rates=[_rate(c.received, t0, c.last_at) for c in cs],
        produced_per_s=_rate(m, t0, published_at),
        cpu=cpu,
    )


async def raw_xread(settings: Settings, pid: str, m: int) -> Row:
    """The floor: one bare ``XREAD`` loop on the stream while the same events are published."""
    redis = arq_client(settings)
    reader: Redis = Redis.from_url(settings.redis_url)
    key = events.project_stream(pid)
    client = Client(m)

    async def read() -> None:
        cursor = "0-0"
        while client.received < m:
            got = await reader.xread({key: cursor}, count=READ_BATCH, block=2000)
            if not got:
                return
            entries = got[0][1]
            cursor = entries[-1][0]
            client.received += len(entries)
            client.last_at = time.time()

    meter = CpuMeter({"clients": os.getpid()})
    try:
        task = asyncio.create_task(read())
        meter.start()
        t0 = time.time()
        published_at = await publish(redis, pid, m)
        await asyncio.wait_for(task, 60)
        cpu = meter.stop()
    finally:
        await reader.aclose()
        await redis.aclose()
    return Row(
        phase="  floor: bare XREAD",
        k=1,
        events=m,
        clients=[client],
        span_s=client.last_at - t0,
        rates=[_rate(client.received, t0, client.last_at)],
        produced_per_s=_rate(m, t0, published_at),
        cpu=cpu,
    )


async def run(settings: Settings, api: Server, worker: Child, args: argparse.Namespace) -> list[Row]:
    token = make_token(settings, sub=uuid.uuid4())
    pids = {"api": api.pid, "worker": worker.pid, "clients": os.getpid()}
    rows: list[Row] = []
    async with httpx.AsyncClient(
        base_url=api.base_url, headers={"Authorization": f"Bearer {token}"}, trust_env=False
    ) as http:
        # Warm-up: a few jobs so the API, the worker and the database connections are open.
        await real_jobs(settings, api, pids, token, await new_project(http, "warm-up"), 10, 1)
        for k in args.clients:
            pid = await new_project(http, "jobs")
            rows.append(await real_jobs(settings, api, pids, token, pid, args.jobs, k))
        for k in args.clients:
            pid = await new_project(http, "capacity")
            rows.append(await capacity(settings, api, pids, token, pid, args.events, k))
        rows.append(await raw_xread(settings, str(uuid.uuid4()), args.events))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=300, help="noop jobs per real-jobs run (300)")
    parser.add_argument("--events", type=int, default=5000, help="events per capacity run (5000)")
    parser.add_argument(
        "--clients",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[1, 10],
        help="comma-separated numbers of clients, one run each (1,10)",
    )
    args = parser.parse_args()
    exit_on_sigterm()
    loop = try_uvloop()
    configure_logging(Settings(log_level="WARNING"), process="bench")  # this process starts jobs

    with exclusive_run(), tempfile.TemporaryDirectory(prefix="bench-events-") as tmp_dir:
        tmp = Path(tmp_dir)
        settings = bench_settings(tmp)
        env = settings_env(settings)
        asyncio.run(prepare_database(settings))
        asyncio.run(flush_redis(settings))
        options = worker_options(settings)
        print(
            f"project event stream; noop jobs hold_ms={HOLD_MS} on one extractor worker (max_jobs="
            f"{options['max_jobs']}); clients {args.clients} in this process ({loop}); "
            f"{os.cpu_count()} CPUs shared by clients, API, worker, PostgreSQL and Redis"
        )
        api = start_server("api", "services.api.main:app", env, tmp)
        try:
            worker = start_worker("extractor", "services.extractor", env, tmp)
            try:
                asyncio.run(wait_arq_ready(settings.redis_url, arq_health_key(options), worker))
                rows = asyncio.run(run(settings, api, worker, args))
            finally:
                worker.stop()
        finally:
            api.stop()

    print()
    print_table(HEADERS, [r.cells() for r in rows], digits=0)
    print(
        "\nreceived: job events per client (min..max). s: start (the jobs' transaction, or the first\n"
        "publish) to the last event any client got. ev/s per client: the slowest client's events / its\n"
        "own span; in all: every client's events / s. produced ev/s: events / (last job finished -\n"
        "start) for real jobs, the publishing rate for capacity. resets: 'fell behind' events, summed."
    )


if __name__ == "__main__":
    main()
