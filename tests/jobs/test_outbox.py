"""The outbox push: every job a commit starts reaches its queue in one go, announced on the
project's event stream, and a row pushed again (the relay, a retried push) still runs once."""

from __future__ import annotations

import asyncio
import json
import uuid

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared.config import Settings
from shared.db import create_sessionmaker, session_scope
from shared.jobs import events
from shared.jobs.queue import Outbox, arq_client, enqueue
from shared.jobs.starter import JobStarter
from shared.jobs.tasks import NoopPayload, noop
from shared.models import Project
from tests.support.jobs import job_row
from tests.support.workers import run_burst


async def _project(sessions: async_sessionmaker[AsyncSession], title: str) -> Project:
    async with session_scope(sessions) as session:
        project = Project(id=uuid.uuid4(), owner_id=uuid.uuid4(), title=title, aspect_ratio="16:9")
        session.add(project)
    return project


async def _start_in_one_commit(
    settings: Settings,
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    project: Project,
    n: int,
) -> list[str]:
    """``n`` noop jobs of ``project`` started in one transaction, pushed by its outbox on commit."""
    pool = arq_client(settings)
    try:
        outboxed = create_sessionmaker(engine, outbox=Outbox(pool, sessions))
        async with session_scope(outboxed) as session:
            jobs = JobStarter(session, settings=settings, owner_id=project.owner_id)
            started = [await jobs.start(noop, project=project, payload=NoopPayload()) for _ in range(n)]
    finally:
        await pool.aclose()
    return [str(job.id) for job in started]


async def test_one_commits_jobs_all_run_once_even_when_pushed_again(
    settings: Settings,
    clean: None,
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    redis: Redis,
) -> None:
    project = await _project(sessions, "Outbox")
    ids = await _start_in_one_commit(settings, engine, sessions, project, 3)
    pool = arq_client(settings)
    try:
        # All three are on the queue, and the project's stream announced each as queued.
        assert await redis.zcard(settings.extractor_queue) == 3
        stream = await redis.xrange(events.project_stream(project.id))
        queued = [json.loads(fields[b"data"]) for _, fields in stream]
        assert [(e["id"], e["status"]) for e in queued] == [(i, "queued") for i in ids]

        # Pushed again (as the relay would): arq still holds one job per row.
        assert await enqueue(pool, uuid.UUID(ids[0]), "noop", settings.extractor_queue, again=True)
        assert await redis.zcard(settings.extractor_queue) == 3
    finally:
        await pool.aclose()

    assert await run_burst("extractor", settings) == 3
    for job_id in ids:
        row = await job_row(sessions, job_id)
        assert (row.status, row.tries, row.result) == ("succeeded", 1, {"pong": True, "held_ms": 0})
    assert await redis.zcard(settings.extractor_queue) == 0


async def test_pushes_that_meet_are_sent_together_and_none_is_lost(
    settings: Settings,
    clean: None,
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    redis: Redis,
) -> None:
    """Two dozen commits at once share one outbox (as a burst of requests shares the API's): the
    pushes that arrive while one is on its way go together after it; every job is queued once,
    announced once, stamped (none left for the relay) and runs once."""
    project = await _project(sessions, "Burst")
    owner = project.owner_id
    pool = arq_client(settings)
    try:
        outboxed = create_sessionmaker(engine, outbox=Outbox(pool, sessions))

        async def start_one() -> str:
            async with session_scope(outboxed) as session:
                jobs = JobStarter(session, settings=settings, owner_id=owner)
                return str((await jobs.start(noop, project=project, payload=NoopPayload())).id)

        ids = await asyncio.gather(*(start_one() for _ in range(24)))
        assert await redis.zcard(settings.extractor_queue) == 24
        stream = await redis.xrange(events.project_stream(project.id))
        announced = [json.loads(fields[b"data"])["id"] for _, fields in stream]
        assert sorted(announced) == sorted(ids)
    finally:
        await pool.aclose()

    assert await run_burst("extractor", settings) == 24
    for job_id in ids:
        row = await job_row(sessions, job_id)
        assert row.enqueued_at is not None
        assert (row.status, row.tries) == ("succeeded", 1)


async def test_a_worker_running_jobs_at_once_tells_each_ones_story_in_order(
    settings: Settings,
    clean: None,
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    redis: Redis,
) -> None:
    """A worker running eight jobs at once sends their events together when they meet (one round
    trip for several jobs' 'running' or 'succeeded'): an open page still sees every job queued,
    running, then succeeded, each once and in that order."""
    project = await _project(sessions, "Events")
    ids = await _start_in_one_commit(settings, engine, sessions, project, 24)
    assert await run_burst("extractor", settings, max_jobs=8) == 24
    stream = await redis.xrange(events.project_stream(project.id))
    told: dict[str, list[str]] = {job_id: [] for job_id in ids}
    for _, fields in stream:
        event = json.loads(fields[b"data"])
        told[event["id"]].append(event["status"])
    assert told == {job_id: ["queued", "running", "succeeded"] for job_id in ids}
