"""The job path end to end: API row -> Redis -> real arq worker -> row, with cancel, idempotency,
second deliveries and Server-Sent Events."""

from __future__ import annotations

import asyncio
import json
import uuid

import httpx
from arq.connections import ArqRedis
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.api.app import create_app
from shared.config import Settings
from shared.jobs.queue import arq_client
from shared.models import Job, Scene
from tests.support.factories import create_project, put_script
from tests.support.workers import run_burst


async def test_script_parse_runs_as_a_job(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    pid = (await create_project(client, auth))["id"]
    await put_script(client, auth, pid)
    r = await client.post(f"/v1/projects/{pid}/script/reparse", headers=auth)
    assert r.status_code == 202
    assert r.headers["location"] == f"/v1/jobs/{r.json()['job']['id']}"
    job = r.json()["job"]
    assert job["status"] == "queued"
    assert job["kind"] == "script.parse"

    assert await run_burst("extractor", settings) == 1
    done = (await client.get(f"/v1/jobs/{job['id']}", headers=auth)).json()
    assert done["status"] == "succeeded"
    assert done["result"] == {"script_id": r.json()["script"]["id"], "version": 1, "scene_count": 3}
    async with sessions() as s:  # rewritten, not appended
        assert await s.scalar(select(func.count()).select_from(Scene)) == 3


async def test_big_script_is_parsed_by_the_worker(
    settings: Settings, clean: None, auth: dict[str, str]
) -> None:
    small_inline = settings.model_copy(update={"inline_parse_max_bytes": 100})
    app = create_app(small_inline)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c,
    ):
        pid = (await create_project(c, auth))["id"]
        r = await put_script(c, auth, pid)
        assert r.status_code == 202
        assert r.json()["script"]["scene_count"] == 0
        await run_burst("extractor", small_inline)
        assert (await c.get(f"/v1/jobs/{r.json()['job']['id']}", headers=auth)).json()[
            "status"
        ] == "succeeded"
        scenes = (await c.get(f"/v1/projects/{pid}/scenes", headers=auth)).json()["items"]
        assert next(s["heading"] for s in scenes) == "INT. LIGHTHOUSE - LANTERN ROOM - NIGHT"


async def test_cancel_queued_job_never_runs(
    client: httpx.AsyncClient, auth: dict[str, str], settings: Settings
) -> None:
    job = (await client.post("/v1/jobs/ping", headers=auth)).json()["job"]
    r = await client.post(f"/v1/jobs/{job['id']}/cancel", headers=auth)
    assert r.json()["status"] == "cancelled"
    await run_burst("extractor", settings)
    after = (await client.get(f"/v1/jobs/{job['id']}", headers=auth)).json()
    assert after["status"] == "cancelled"
    assert after["tries"] == 0
    assert after["result"] is None


async def test_idempotency_key_returns_the_same_job(
    client: httpx.AsyncClient, auth: dict[str, str], sessions: async_sessionmaker[AsyncSession]
) -> None:
    key = {"Idempotency-Key": f"k-{uuid.uuid4()}"}
    a = (await client.post("/v1/jobs/ping", headers={**auth, **key})).json()["job"]
    b = (await client.post("/v1/jobs/ping", headers={**auth, **key})).json()["job"]
    assert a["id"] == b["id"]
    async with sessions() as s:
        assert await s.scalar(select(func.count()).select_from(Job)) == 1


async def test_second_delivery_of_finished_job_is_a_noop(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    job = (await client.post("/v1/jobs/ping", headers=auth)).json()["job"]
    await run_burst("extractor", settings)
    first = (await client.get(f"/v1/jobs/{job['id']}", headers=auth)).json()
    assert first["status"] == "succeeded"
    assert first["tries"] == 1
    pool: ArqRedis = arq_client(settings)
    try:  # the same row delivered again under another arq id (e.g. a relay racing a slow enqueue)
        await pool.enqueue_job(
            "noop", job["id"], _job_id=f"dup-{uuid.uuid4()}", _queue_name=settings.extractor_queue
        )
    finally:
        await pool.aclose()
    assert await run_burst("extractor", settings) == 1
    again = (await client.get(f"/v1/jobs/{job['id']}", headers=auth)).json()
    assert again == first


async def test_sse_streams_progress_until_the_job_ends(
    client: httpx.AsyncClient, auth: dict[str, str], settings: Settings
) -> None:
    job = (await client.post("/v1/jobs/ping", json={"hold_ms": 400}, headers=auth)).json()["job"]
    worker = asyncio.create_task(run_burst("extractor", settings))
    r = await client.get(f"/v1/jobs/{job['id']}/events", headers=auth, timeout=30)
    await worker
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/event-stream")
    events = [json.loads(line[5:]) for line in r.text.splitlines() if line.startswith("data:")]
    statuses = [e["status"] for e in events]
    assert statuses[-1] == "succeeded"
    progress = [e["progress"] for e in events if e["status"] == "running" and e.get("progress")]
    assert progress == sorted(progress)
    assert progress[-1] == 1.0
    assert len(progress) >= 2


async def test_sse_of_finished_job_sends_final_state_and_ends(
    client: httpx.AsyncClient, auth: dict[str, str], settings: Settings
) -> None:
    job = (await client.post("/v1/jobs/ping", headers=auth)).json()["job"]
    await run_burst("extractor", settings)
    r = await client.get(f"/v1/jobs/{job['id']}/events", headers=auth, timeout=10)
    data = [json.loads(line[5:]) for line in r.text.splitlines() if line.startswith("data:")]
    assert [d["status"] for d in data] == ["succeeded"]


async def test_metrics_count_jobs_by_kind_and_status(
    client: httpx.AsyncClient, auth: dict[str, str], settings: Settings
) -> None:
    await client.post("/v1/jobs/ping", headers=auth)
    await run_burst("extractor", settings)
    await client.post("/v1/jobs/ping", headers=auth)
    text = (await client.get("/metrics")).text
    assert 'filmassets_jobs{kind="noop",status="succeeded"} 1.0' in text
    assert 'filmassets_jobs{kind="noop",status="queued"} 1.0' in text
    assert "filmassets_http_requests_total" in text
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "redis": "ok"}
