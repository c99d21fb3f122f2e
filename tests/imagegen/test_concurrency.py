"""The cap and the single selection under real concurrency: twenty generation jobs on one asset,
run by two imagegen worker processes at once, each holding ten jobs in flight."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.config import Settings
from shared.models import AssetAttempt, Job
from shared.storage.sweep import sweep_orphans
from tests.attempts.helpers import Env, attempt_keys, make_env
from tests.conftest import settings_env
from tests.support.workers import WorkerProcess

JOBS = 20


@pytest.fixture
async def env(settings: Settings, clean: None, tmp_path: Path) -> AsyncIterator[Env]:
    # INFO + JSON: each worker's stderr then says which attempts it added (one short line each).
    options = {"imagegen_concurrency": 10, "image_base_side": 512, "log_level": "INFO", "log_json": True}
    async with make_env(settings, tmp_path, overrides=options) as e:
        yield e


async def carousel_state(sessions: async_sessionmaker[AsyncSession]) -> tuple[int, int, int]:
    """(attempts, selected, jobs finished), read in one snapshot."""
    async with sessions() as s:
        row = (
            await s.execute(
                select(
                    select(func.count()).select_from(AssetAttempt).scalar_subquery(),
                    select(func.count()).where(AssetAttempt.selected.is_(True)).scalar_subquery(),
                    select(func.count()).where(Job.status.in_(("succeeded", "failed"))).scalar_subquery(),
                )
            )
        ).one()
    return int(row[0]), int(row[1]), int(row[2])


async def test_twenty_generations_across_two_processes_keep_the_cap(
    env: Env, auth: dict[str, str], sessions: async_sessionmaker[AsyncSession]
) -> None:
    cap = env.settings.attempt_cap
    pid = await env.project(auth)
    aid = await env.asset(auth, pid, name="Mara", type="character")
    await asyncio.gather(*(env.generate(auth, pid, aid) for _ in range(JOBS)))

    # The jobs are queued before either worker exists, so both start into a full queue.
    workers = [WorkerProcess("imagegen", settings_env(env.settings)) for _ in range(2)]
    peak = (0, 0)
    try:
        deadline = time.monotonic() + 90
        while True:
            attempts, chosen, finished = await carousel_state(sessions)
            # At every moment, not just at the end.
            assert attempts <= cap, attempts
            assert chosen <= 1, chosen
            peak = max(peak, (attempts, chosen))
            if finished == JOBS:
                break
            assert time.monotonic() < deadline, f"only {finished} of {JOBS} jobs finished"
            assert all(w.proc.poll() is None for w in workers), "a worker died"
            await asyncio.sleep(0.05)
    finally:
        logs = []
        for w in workers:
            w.stop()
            logs.append(w.log())

    async with sessions() as s:
        statuses = (await s.scalars(select(Job.status).where(Job.kind == "image.generate"))).all()
    assert statuses == ["succeeded"] * JOBS
    items = await env.attempts(auth, pid, aid)
    assert [a["attempt_number"] for a in items] == [20, 19, 18, 17]  # the four newest survive
    assert [a["attempt_number"] for a in items if a["selected"]] == [20]
    assert peak == (cap, 1)
    per_process = [log.count("attempt.add.succeeded") for log in logs]
    assert sum(per_process) == JOBS
    assert all(n > 0 for n in per_process), per_process  # both processes really took part

    async with sessions() as s:
        swept = await sweep_orphans(s, env.storage, min_age_s=0)
    assert swept["deleted"] == 0  # evicted objects were already deleted after each commit
    assert await env.keys() == await attempt_keys(sessions)
    assert len(await env.keys()) == 2 * cap
