"""What an idle worker costs, and how soon an idle worker starts a job.

    python -m bench.bench_idle [--seconds 30] [--jobs 20] [--gap 0.5]

For each worker (``python -m services.extractor``, ``python -m services.imagegen``), alone: the
worker is started against a redis-server of this run's own (so the commands of everything else on
the machine are not counted), waited for (its first poll and its start-up relay tick), then left
idle for ``--seconds``. Over that window:

- CPU of the worker process (from /proc), in percent of one core;
- Redis commands/s, from ``INFO commandstats`` deltas of the private server (this client's own
  ``INFO`` calls left out), with the busiest commands;
- PostgreSQL transactions/s of the bench database (``pg_stat_database``: commits + rollbacks),
  which is what the periodic relay and reaper tick costs.

Then, on the idle extractor, ``--jobs`` no-op jobs, one every ``--gap`` seconds, each written and
pushed the way the API does it (row, commit, outbox push to Redis): enqueue -> start is
``started_at - created_at`` from the row (``created_at`` is PostgreSQL's ``now()`` when the
writing transaction began, ``started_at`` the worker's clock at the claim; one machine, one clock).
A worker blocks on its queue's wake list between polls, so this should be a few ms, not the
poll delay.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

try:
    import bench  # noqa: F401 - only checking it is importable
except ModuleNotFoundError:  # run as a script: bench/ is sys.path[0], not the repo root
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from redis.asyncio import Redis
from sqlalchemy import select, text

from bench.common import (
    HOST,
    Child,
    CpuMeter,
    arq_health_key,
    bench_settings,
    exclusive_run,
    exit_on_sigterm,
    free_port,
    percentile,
    prepare_database,
    print_table,
    settings_env,
    start_worker,
    wait_arq_ready,
)
from shared.config import Settings
from shared.db import create_engine, create_sessionmaker, session_scope
from shared.jobs.queue import Outbox, arq_client
from shared.jobs.starter import JobStarter
from shared.jobs.tasks import NoopPayload, noop
from shared.logging import configure_logging
from shared.models import TERMINAL_STATUSES, Job


class PrivateRedis:
    """A redis-server of this run's own on a free port, nothing saved to disk."""

    def __init__(self) -> None:
        self.port = free_port()
        argv = ["redis-server", "--port", str(self.port), "--bind", HOST, "--save", "", "--appendonly", "no"]
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection((HOST, self.port), timeout=0.2).close()
                return
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    self.stop()
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


async def _commands(redis: Redis) -> dict[str, int]:
    stats: dict[str, Any] = await redis.info("commandstats")
    return {k.removeprefix("cmdstat_"): int(v["calls"]) for k, v in stats.items() if k != "cmdstat_info"}


async def _transactions(settings: Settings) -> int:
    engine = create_engine(settings, pool_size=1)
    try:
        async with engine.connect() as conn:
            # Statistics are flushed by backends now and then: ask for a fresh snapshot.
            await conn.execute(text("SELECT pg_stat_clear_snapshot()"))
            value = await conn.scalar(
                text(
                    "SELECT xact_commit + xact_rollback FROM pg_stat_database"
                    " WHERE datname = current_database()"
                )
            )
    finally:
        await engine.dispose()
    return int(value or 0)


async def idle_cost(
    settings: Settings, worker_name: str, worker: Child, seconds: float
) -> list[str | int | float | None]:
    if worker_name == "extractor":
        from services.extractor.worker import worker_options
    else:
        from services.imagegen.worker import worker_options
    await wait_arq_ready(settings.redis_url, arq_health_key(worker_options(settings)), worker)
    await asyncio.sleep(2.0)  # past its start-up relay tick
    redis: Redis = Redis.from_url(settings.redis_url)
    try:
        before, xacts = await _commands(redis), await _transactions(settings)
        meter = CpuMeter({"worker": worker.pid})
        meter.start()
        await asyncio.sleep(seconds)
        cpu = meter.stop()
        after, xacts_after = await _commands(redis), await _transactions(settings)
    finally:
        await redis.aclose()
    wall = cpu["wall_s"]
    calls = {name: n - before.get(name, 0) for name, n in after.items() if n > before.get(name, 0)}
    busiest = sorted(calls.items(), key=lambda kv: -kv[1])[:5]
    return [
        worker_name,
        wall,
        f"{cpu['worker_pct']:.2f}",
        sum(calls.values()) / wall,
        ", ".join(f"{name} {n / wall:.1f}" for name, n in busiest),
        # Our own two snapshots count one transaction each.
        max(0, xacts_after - xacts - 2) / wall,
    ]


async def idle_latency(settings: Settings, jobs: int, gap: float) -> list[float]:
    """enqueue -> start (ms) of ``jobs`` no-op jobs sent one at a time to an idle extractor."""
    engine = create_engine(settings, pool_size=2)
    sessions = create_sessionmaker(engine)
    pool = arq_client(settings)
    outboxed = create_sessionmaker(engine, outbox=Outbox(pool, sessions))
    owner = uuid.uuid4()
    ids: list[uuid.UUID] = []
    try:
        for _ in range(jobs):
            async with session_scope(outboxed) as session:
                starter = JobStarter(session, settings=settings, owner_id=owner)
                ids.append((await starter.start(noop, project=None, payload=NoopPayload())).id)
            await asyncio.sleep(gap)
        deadline = time.monotonic() + 30
        while True:
            async with sessions() as session:
                rows = (
                    await session.execute(
                        select(Job.status, Job.created_at, Job.started_at).where(Job.id.in_(ids))
                    )
                ).all()
            if all(r.status in TERMINAL_STATUSES for r in rows) or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.1)
    finally:
        await pool.aclose()
        await engine.dispose()
    return [(r.started_at - r.created_at).total_seconds() * 1000 for r in rows if r.started_at is not None]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--seconds", type=float, default=30.0, help="idle window per worker (30)")
    parser.add_argument("--jobs", type=int, default=20, help="no-op jobs sent to the idle extractor (20)")
    parser.add_argument("--gap", type=float, default=0.5, help="seconds between those jobs (0.5)")
    args = parser.parse_args()
    exit_on_sigterm()
    if shutil.which("redis-server") is None:
        raise SystemExit("redis-server is not installed: this benchmark runs one of its own")

    rows: list[list[str | int | float | None]] = []
    latencies: list[float] = []
    with exclusive_run(), tempfile.TemporaryDirectory(prefix="bench-idle-") as tmp_dir:
        tmp = Path(tmp_dir)
        redis = PrivateRedis()
        try:
            settings = bench_settings(tmp, redis_url=redis.url, image_provider="offline")
            configure_logging(settings, process="bench")  # WARNING: no line per job written here
            asyncio.run(prepare_database(settings))
            print(
                f"one worker at a time, idle for {args.seconds:g}s, on a redis-server of its own; "
                f"poll_delay {settings.worker_poll_delay_s}s, relay/reaper tick every "
                f"{settings.relay_interval_s:g}s, health check every 10s; {os.cpu_count()} CPUs"
            )
            env = settings_env(settings)
            for name in ("extractor", "imagegen"):
                worker = start_worker(name, f"services.{name}", env, tmp)
                try:
                    rows.append(asyncio.run(idle_cost(settings, name, worker, args.seconds)))
                    if name == "extractor":
                        latencies = asyncio.run(idle_latency(settings, args.jobs, args.gap))
                finally:
                    worker.stop()
        finally:
            redis.stop()

    print()
    print_table(["worker", "idle s", "CPU %", "Redis cmd/s", "busiest (cmd/s)", "PG xact/s"], rows, digits=1)
    print()
    if latencies:
        print(
            f"idle extractor, {len(latencies)} no-op jobs one every {args.gap:g}s: enqueue->start "
            f"p50 {percentile(latencies, 50):.1f} ms, p99 {percentile(latencies, 99):.1f} ms, "
            f"max {max(latencies):.1f} ms"
        )
    print(
        "\nCPU %: the worker process, percent of one core. Redis cmd/s: every command the server ran\n"
        "in the window (only this worker was connected). PG xact/s: transactions in the bench database."
    )


if __name__ == "__main__":
    main()
