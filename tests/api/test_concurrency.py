"""Races that used to answer 500 (issue 12, points 3 and 5): script versions numbered without a
lock, and the deadlock between extract/confirm and image jobs adding attempts."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.attempts.repository import lock_asset
from shared.config import Settings
from shared.models import Job, Script
from shared.projects.locks import lock_project_for_confirm, share_project_key
from tests.attempts.helpers import make_env
from tests.conftest import settings_env
from tests.support.factories import SMALL_SCRIPT, create_project, put_script
from tests.support.workers import WorkerProcess, run_burst


async def test_parallel_script_puts_get_consecutive_versions(
    client: httpx.AsyncClient, auth: dict[str, str], sessions: async_sessionmaker[AsyncSession]
) -> None:
    pid = (await create_project(client, auth))["id"]
    texts = [f"{SMALL_SCRIPT}\nINT. ROOM {i} - DAY\n\nA chair.\n" for i in range(8)]
    # Bounded: before the fix the losers of the race could also hang on the unique index.
    answers = await asyncio.wait_for(
        asyncio.gather(*(put_script(client, auth, pid, text=t) for t in texts)), timeout=30
    )
    assert [r.status_code for r in answers] == [201] * 8, [r.text for r in answers if r.status_code != 201]
    assert sorted(r.json()["version"] for r in answers) == list(range(1, 9))
    async with sessions() as s:
        stored = (await s.execute(select(Script.version, Script.text).where(Script.project_id == pid))).all()
    assert sorted(v for v, _ in stored) == list(range(1, 9))
    assert {t for _, t in stored} == set(texts)
    current = (await client.get(f"/v1/projects/{pid}/script", headers=auth)).json()
    assert current["version"] == 8


async def _wait_jobs_done(
    sessions: async_sessionmaker[AsyncSession], kind: str, project_id: str, within_s: float
) -> list[Job]:
    deadline = time.monotonic() + within_s
    while True:
        async with sessions() as s:
            jobs = list(await s.scalars(select(Job).where(Job.kind == kind, Job.project_id == project_id)))
        if all(j.status in ("succeeded", "failed", "cancelled") for j in jobs) or time.monotonic() > deadline:
            return jobs
        await asyncio.sleep(0.2)


async def test_confirms_and_generations_in_a_loop_never_deadlock(
    settings: Settings,
    clean: None,
    tmp_path: Path,
    auth: dict[str, str],
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Three generation loops and two confirm loops on one project for a few seconds, with a real
    imagegen worker process adding attempts while confirms lock the project and its assets."""
    async with make_env(settings, tmp_path, overrides={"imagegen_concurrency": 4}) as env:
        pid = await env.project(auth)
        assert (await put_script(env.client, auth, pid)).status_code == 201
        r = await env.client.post(f"/v1/projects/{pid}/extract/preview", headers=auth)
        assert r.status_code == 202, r.text
        await run_burst("extractor", env.settings)
        first = await env.client.post(f"/v1/projects/{pid}/extract/confirm", json={}, headers=auth)
        assert first.status_code in (200, 202), first.text
        assets = (await env.client.get(f"/v1/projects/{pid}/assets?limit=200", headers=auth)).json()["items"]
        targets = [a["id"] for a in assets[:3]]
        assert len(targets) == 3

        statuses: list[tuple[str, int, Any]] = []
        stop = time.monotonic() + 8.0

        async def generate(aid: str) -> None:
            while time.monotonic() < stop:
                r = await env.client.post(f"/v1/projects/{pid}/assets/{aid}/attempts/generate", headers=auth)
                statuses.append(("generate", r.status_code, r.text if r.status_code >= 500 else None))
                await asyncio.sleep(0.05)

        async def confirm() -> None:
            while time.monotonic() < stop:
                r = await env.client.post(f"/v1/projects/{pid}/extract/confirm", json={}, headers=auth)
                statuses.append(("confirm", r.status_code, r.text if r.status_code >= 500 else None))

        with WorkerProcess("imagegen", settings_env(env.settings)):
            await asyncio.gather(*(generate(t) for t in targets), confirm(), confirm())
            jobs = await _wait_jobs_done(sessions, "image.generate", pid, within_s=60)

        errors = [s for s in statuses if s[1] >= 500]
        assert not errors, errors[:3]
        assert {code for kind, code, _ in statuses if kind == "confirm"} <= {200, 202}
        confirms = sum(1 for kind, _, _ in statuses if kind == "confirm")
        generations = sum(1 for kind, _, _ in statuses if kind == "generate")
        assert confirms >= 10, confirms
        assert generations >= 10, generations
        failed = [(j.id, j.error) for j in jobs if j.status != "succeeded"]
        assert not failed, failed[:3]
        assert len(jobs) == generations


@pytest.mark.parametrize("key_share_first", [True, False])
async def test_confirm_lock_lets_an_image_job_finish_its_insert(
    settings: Settings,
    clean: None,
    tmp_path: Path,
    auth: dict[str, str],
    sessions: async_sessionmaker[AsyncSession],
    key_share_first: bool,
) -> None:
    """The exact interleaving of the deadlock, step by step: an image job holds its asset and has
    yet to insert the attempt when a confirm locks the project and waits for that asset. The
    insert (a key-share on the project) must go through; with confirm's former FOR UPDATE on the
    project it waited on confirm, which waited on the asset: ``deadlock detected``. Both with the
    writer taking the project's key-share first (``add_attempt`` now) and without (any writer that
    does not: confirm's own lock must be enough)."""
    async with make_env(settings, tmp_path) as env:
        project_id = await env.project(auth)
        pid, aid = uuid.UUID(project_id), uuid.UUID(await env.asset(auth, project_id))
    async with sessions() as job, sessions() as confirm:
        await job.begin()
        if key_share_first:
            assert await share_project_key(job, pid)
        assert await lock_asset(job, asset_id=aid) is not None

        await confirm.begin()
        confirming = asyncio.create_task(lock_project_for_confirm(confirm, pid))
        await asyncio.sleep(0.5)
        assert not confirming.done()  # waiting for the asset the job holds

        insert = job.execute(
            text(
                "INSERT INTO asset_attempts (id, asset_id, project_id, attempt_number, source, selected,"
                " storage_key, width, height, mime, bytes, cost_usd)"
                " VALUES (:id, :aid, :pid, 1, 'generated', true, 'k', 1, 1, 'image/png', 1, 0)"
            ),
            {"id": uuid.uuid4(), "aid": aid, "pid": pid},
        )
        await asyncio.wait_for(insert, timeout=5)  # PostgreSQL reports a deadlock after 1 s
        await job.commit()
        await asyncio.wait_for(confirming, timeout=5)
        await confirm.commit()
