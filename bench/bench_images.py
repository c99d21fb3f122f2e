"""Image generation jobs/s with the offline provider, on 1, 2 and 4 imagegen processes, with lost
and duplicated jobs counted; and the offline renderer alone, in milliseconds per image.

    python -m bench.bench_images [--jobs 300] [--assets N] [--processes 1 2 4] [--concurrency 1]
    python -m bench.bench_images --render-only [--renders 20]

The renderer table comes first: ``render_placeholder`` called in this process, one thread, for
each kind of placeholder at its real size (``image_base_side`` 1024, a 16:9 project), median and
95th percentile over ``--renders`` calls with a new seed each (a seed moves the pose, not the work).
The edit row renders from a reference (the character's own placeholder, cut out to a transparent
PNG as a previous attempt would be).

Each job is the real ``image.generate`` path: claim the row, render with the offline Pillow
provider at the real sizes (``image_base_side`` 1024: characters and extras 1024x1536, props
1024x1024, the location 1824x1024 in a 16:9 project), remove the background (not for the
location), encode PNG + WebP thumbnail, write both to local storage, then one transaction that
locks the asset, inserts the attempt under the cap (evicting, deleting evicted files after commit)
and marks the job succeeded.

For each ``imagegen_concurrency`` (jobs in flight per process) and process count, the workers
(``python -m services.imagegen``) are started and warmed up first (one job per
slot, to pay lazy imports and font loading outside the window); then ``--jobs`` rows spread
round-robin over ``--assets`` assets are written in one transaction and enqueued. jobs/s is
jobs / (last ``finished_at`` - first ``created_at``) from the rows. Several jobs per asset on
purpose: they serialize on the asset row lock for their short final transaction, which is the
contention the cap rule costs. By default there are just enough assets that no attempt is evicted
(``--jobs`` / ``attempt_cap``), so every job's effect stays countable:

- lost: a job not ``succeeded`` when the batch was waited for (``--wait-s``), or succeeded without
  its attempt row;
- duplicated: a job with more than one attempt row (its effect applied twice);
- retried: jobs delivered more than once (``tries`` > 1): allowed, as long as nothing is duplicated.

With ``--assets`` below that, attempts get evicted and lost/duplicated are not checked.

Rendering and image processing are Pillow C code that releases the GIL, and jobs run it in
threads, so one process with 4 jobs in flight already uses most of a 2-core machine: two
processes can only add the cores one leaves idle. With 1 job per process, a process uses about one
core, which shows how throughput scales with processes when cores are there to take.

CPU is from /proc over the window: ``worker ms/job`` is the workers' CPU per job, ``pg`` and
``other`` are PostgreSQL and everything else, in percent of one core.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import io
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

try:
    import bench  # noqa: F401 - only checking it is importable
except ModuleNotFoundError:  # run as a script: bench/ is sys.path[0], not the repo root
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (
    Child,
    CpuMeter,
    arq_health_key,
    bench_settings,
    exit_on_sigterm,
    flush_redis,
    prepare_database,
    print_table,
    settings_env,
    start_worker,
    wait_arq_ready,
)
from services.imagegen.worker import worker_options
from shared.attempts.tasks import GeneratePayload, image_generate
from shared.config import Settings
from shared.db import create_engine, create_sessionmaker, session_scope
from shared.images.background import remove_background
from shared.images.providers.base import ImageRequest
from shared.images.render import render_placeholder
from shared.images.sizing import size_for
from shared.jobs.queue import Outbox, arq_client
from shared.jobs.starter import JobStarter
from shared.logging import configure_logging
from shared.models import TERMINAL_STATUSES, AssetAttempt, Job, Project, ProjectAsset, StyleCapsule

TYPES = ("character", "prop", "location", "extra_archetype")
HEADERS = [
    "processes",
    "jobs",
    "ok",
    "lost",
    "dup",
    "retried",
    "wall s",
    "jobs/s",
    "worker ms/job",
    "worker %",
    "pg %",
    "other %",
]


async def seed(
    sessions: async_sessionmaker[AsyncSession], assets: int, project: Project | None = None
) -> tuple[Project, list[uuid.UUID]]:
    """``assets`` assets of the four types in turn, in ``project`` or in a new project in the noir
    preset style."""
    async with session_scope(sessions) as session:
        if project is None:
            capsule = await session.scalar(select(StyleCapsule.id).where(StyleCapsule.slug == "noir"))
            project = Project(
                id=uuid.uuid4(),
                owner_id=uuid.uuid4(),
                title="Bench",
                aspect_ratio="16:9",
                style_capsule_id=capsule,
            )
            session.add(project)
            await session.flush()
        rows = [
            ProjectAsset(
                id=uuid.uuid4(),
                project_id=project.id,
                name=f"Asset {i}",
                type=TYPES[i % len(TYPES)],
                description="A weathered figure in a yellow oilskin coat by a brass lamp.",
                source="manual",
            )
            for i in range(assets)
        ]
        session.add_all(rows)
    return project, [a.id for a in rows]


async def submit(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    project: Project,
    assets: list[uuid.UUID],
    count: int,
) -> list[uuid.UUID]:
    pool = arq_client(settings)
    outboxed = create_sessionmaker(sessions.kw["bind"], outbox=Outbox(pool, sessions))
    try:
        async with session_scope(outboxed) as session:
            starter = JobStarter(session, settings=settings, owner_id=project.owner_id)
            jobs = [
                await starter.start(
                    image_generate,
                    project=project,
                    payload=GeneratePayload(asset_id=assets[i % len(assets)]),
                )
                for i in range(count)
            ]
    finally:
        await pool.aclose()
    return [j.id for j in jobs]


async def wait_done(
    sessions: async_sessionmaker[AsyncSession], ids: list[uuid.UUID], within_s: float
) -> bool:
    """Wait until every job of ``ids`` has finished; False if some had not within ``within_s``."""
    deadline = time.monotonic() + within_s
    while True:
        async with sessions() as session:
            done = await session.scalar(
                select(func.count()).where(Job.id.in_(ids), Job.status.in_(TERMINAL_STATUSES))
            )
        if done == len(ids):
            return True
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)


async def measure(
    settings: Settings, workers: list[Child], args: argparse.Namespace
) -> list[str | int | float | None]:
    engine = create_engine(settings, pool_size=2)
    sessions = create_sessionmaker(engine)
    try:
        health = arq_health_key(worker_options(settings))
        for w in workers:
            await wait_arq_ready(settings.redis_url, health, w)
        # Every process writes the same health key, so that only proves the first one is up; they
        # were started together and boot alike, and a second more covers the slower one.
        await asyncio.sleep(1.0)
        project, assets = await seed(sessions, args.assets or -(-args.jobs // settings.attempt_cap))
        # Warm-up: every slot of every process runs one job (imports, fonts, connection pools).
        # Its own assets, so its attempts do not count against the measured jobs' cap.
        _, warm_assets = await seed(sessions, len(workers), project)
        warm = await submit(
            settings, sessions, project, warm_assets, settings.imagegen_concurrency * len(workers)
        )
        if not await wait_done(sessions, warm, args.wait_s):
            raise TimeoutError(f"warm-up jobs unfinished after {args.wait_s:.0f}s")
        meter = CpuMeter({f"w{i}": w.pid for i, w in enumerate(workers)})
        meter.start()
        ids = await submit(settings, sessions, project, assets, args.jobs)
        await wait_done(sessions, ids, args.wait_s)
        cpu = meter.stop()
        async with sessions() as session:
            rows = (
                await session.execute(
                    select(Job.id, Job.status, Job.tries, Job.created_at, Job.finished_at).where(
                        Job.id.in_(ids)
                    )
                )
            ).all()
            attempts = dict(
                (
                    await session.execute(
                        select(AssetAttempt.job_id, func.count())
                        .where(AssetAttempt.job_id.in_(ids))
                        .group_by(AssetAttempt.job_id)
                    )
                ).all()
            )
    finally:
        await engine.dispose()
    ok = sum(r.status == "succeeded" for r in rows)
    countable = args.jobs <= len(assets) * settings.attempt_cap  # no attempt evicted
    lost = sum(r.status != "succeeded" or (countable and not attempts.get(r.id)) for r in rows)
    duplicated = sum(n > 1 for n in attempts.values()) if countable else None
    finished = [r.finished_at for r in rows if r.finished_at is not None]
    span = (max(finished) - min(r.created_at for r in rows)).total_seconds()
    worker_s = sum(cpu[f"w{i}_cpu_s"] for i in range(len(workers)))
    return [
        len(workers),
        len(rows),
        ok,
        lost,
        duplicated,
        sum(r.tries > 1 for r in rows),
        span,
        len(rows) / span,
        f"{worker_s * 1000 / len(rows):.0f}",
        sum(cpu[f"w{i}_pct"] for i in range(len(workers))),
        cpu["postgres_pct"],
        cpu["other_pct"],
    ]


NOIR = ["#1b1b2f", "#e43f5a", "#f7d08a", "#3a506b"]
RENDER_CASES = (
    ("character, front", "character", "Mara Quinn", "Long red hair, a yellow oilskin coat, glasses."),
    (
        "character, side",
        "character",
        "Mara Quinn",
        "Long red hair, a yellow oilskin coat.\nSide view, in profile.",
    ),
    ("prop (phone)", "prop", "Phone", "A cracked smartphone."),
    ("location (harbour)", "location", "Harbour", "Fishing boats at dawn."),
    ("extras (group)", "extra_archetype", "Dock workers", "Dock workers in orange overalls."),
)


def render_timings(renders: int) -> list[list[str | int | float | None]]:
    """Milliseconds per ``render_placeholder`` call, by kind of placeholder, at the real sizes."""
    rows: list[list[str | int | float | None]] = []
    edit_of: ImageRequest | None = None
    for label, asset_type, name, description in RENDER_CASES:
        width, height = size_for(asset_type, "16:9")
        request = ImageRequest(
            prompt=f"{name}.\n{description}\nVisual style: neo noir.",
            width=width,
            height=height,
            asset_name=name,
            asset_type=asset_type,
            style_name="Neo noir",
            style_palette=NOIR,
        )
        rows.append([label, f"{width}x{height}", *_time_renders(request, renders)])
        edit_of = edit_of or request
    assert edit_of is not None
    cut = remove_background(Image.open(io.BytesIO(render_placeholder(edit_of))))
    buf = io.BytesIO()
    cut.save(buf, "PNG")
    edit = dataclasses.replace(edit_of, prompt="Mara Quinn.\nSoaked by rain.", reference=buf.getvalue())
    rows.append(["edit of a reference", f"{edit.width}x{edit.height}", *_time_renders(edit, renders)])
    return rows


def _time_renders(request: ImageRequest, renders: int) -> list[float]:
    render_placeholder(request)  # warm-up: font bytes, imports
    times = []
    for seed in range(renders):
        started = time.perf_counter()
        render_placeholder(dataclasses.replace(request, seed=seed))
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return [statistics.median(times), times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--jobs", type=int, default=300, help="generation jobs per run (300)")
    parser.add_argument(
        "--assets",
        type=int,
        default=0,
        help="assets the jobs are spread over (default: jobs / attempt_cap, so none is evicted)",
    )
    parser.add_argument(
        "--processes", type=int, nargs="+", default=[1, 2, 4], help="imagegen processes (1 2 4)"
    )
    parser.add_argument(
        "--concurrency", type=int, nargs="+", default=[1], help="imagegen_concurrency per process (1)"
    )
    parser.add_argument("--wait-s", type=float, default=300.0, help="max wait for a batch (300)")
    parser.add_argument("--renders", type=int, default=20, help="renderer calls per kind (20)")
    parser.add_argument("--render-only", action="store_true", help="only the in-process renderer table")
    args = parser.parse_args()
    exit_on_sigterm()

    print(f"offline renderer in-process, one thread, {args.renders} renders per kind")
    print_table(["placeholder", "size", "median ms", "p95 ms"], render_timings(args.renders), digits=1)
    print()
    if args.render_only:
        return

    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-images-") as tmp_dir:
        tmp = Path(tmp_dir)
        base = bench_settings(tmp, image_provider="offline")
        configure_logging(base, process="bench")  # WARNING: no line per job row written here
        asyncio.run(prepare_database(base))
        assets = args.assets or -(-args.jobs // base.attempt_cap)
        print(
            f"offline provider, image_base_side {base.image_base_side}, {args.jobs} image.generate jobs "
            f"over {assets} assets (cap {base.attempt_cap}); {os.cpu_count()} CPUs shared by the "
            "workers, PostgreSQL, Redis and this client"
        )
        for concurrency in args.concurrency:
            settings = base.model_copy(update={"imagegen_concurrency": concurrency})
            for count in args.processes:
                asyncio.run(flush_redis(settings))
                env = settings_env(settings)
                workers: list[Child] = []
                try:
                    for i in range(count):
                        name = f"imagegen-c{concurrency}-p{count}-{i}"
                        workers.append(start_worker(name, "services.imagegen", env, tmp))
                    rows.append([concurrency, *asyncio.run(measure(settings, workers, args))])
                finally:
                    for w in workers:
                        w.stop()

    print()
    print_table(["jobs/process", *HEADERS], rows, digits=1)
    print()
    jobs_s = {(int(str(r[0])), int(str(r[1]))): float(str(r[8])) for r in rows}
    for concurrency in args.concurrency:
        one = jobs_s.get((concurrency, 1))
        for count in args.processes:
            many = jobs_s.get((concurrency, count))
            if one and many and count > 1:
                ratio = f"{count} processes / 1 process = {many / one:.2f}x jobs/s"
                print(f"{concurrency} job(s) per process: {ratio}")
    print(
        "\nlost: not succeeded, or succeeded without its attempt row; dup: jobs with more than one attempt\n"
        "row (both must be 0; '-' when attempts were evicted and cannot be counted); retried: delivered\n"
        "more than once. worker %, pg %, other %: CPU in percent of one core over the window."
    )
    if any(r[4] or r[5] for r in rows):
        sys.exit(1)


if __name__ == "__main__":
    main()
