"""An idle worker starts a new job as soon as it is pushed, not at its next poll: every push also
wakes the queue's idle workers (the enqueue script pushes a token on the wake list they block on).
The worker here polls every 5 s; each job must start well within that."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.config import Settings
from tests.conftest import settings_env
from tests.support.factories import create_project, put_script
from tests.support.jobs import wait_for_status
from tests.support.workers import WorkerProcess

POLL_S = 5.0


async def test_an_idle_worker_starts_each_new_job_at_once(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    pid = (await create_project(client, auth))["id"]
    assert (await put_script(client, auth, pid)).status_code < 300
    env = settings_env(settings.model_copy(update={"worker_poll_delay_s": POLL_S}))
    with WorkerProcess("extractor", env):
        # Up once it has run a first job (it polls at startup); then idle on its wake list.
        first = (await client.post("/v1/jobs/ping", headers=auth)).json()["job"]["id"]
        assert (await wait_for_status(sessions, first, {"succeeded"}, within=30)).status == "succeeded"
        pushes: dict[str, Callable[[], Awaitable[httpx.Response]]] = {
            # the API's lean lane: the push alone, one command
            "ping": lambda: client.post("/v1/jobs/ping", headers=auth),
            # FastAPI's handler after its commit, same command
            "ping with a body": lambda: client.post("/v1/jobs/ping", json={"hold_ms": 0}, headers=auth),
            # a project's job: pushed with its project's queued event, in one pipeline
            "a script's parse": lambda: client.post(f"/v1/projects/{pid}/script/reparse", headers=auth),
        }
        for name, push in pushes.items():
            await asyncio.sleep(0.5)  # let the worker go back to waiting
            answer = await push()
            assert answer.status_code == 202, (name, answer.text)
            job_id = answer.json()["job"]["id"]
            row = await wait_for_status(sessions, job_id, {"succeeded", "failed"}, within=POLL_S * 3)
            assert row.status == "succeeded", name
            assert row.started_at is not None, name
            # Woken: well under the 5 s poll, with room for a loaded CI machine.
            assert row.started_at - row.created_at < timedelta(seconds=2), name
