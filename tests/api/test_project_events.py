"""Live progress from a browser: the project-wide event stream (jobs and carousel changes), its
resume with Last-Event-ID, and the short-lived tokens an EventSource opens streams with."""

from __future__ import annotations

import asyncio
import json
import socket
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

from shared.config import Settings
from shared.jobs import tokens
from tests.api.live import open_stream, serve
from tests.attempts.helpers import FAST
from tests.conftest import ROOT, auth_for, settings_env
from tests.support.factories import create_asset, create_project, set_style
from tests.support.workers import run_burst


def _fast(settings: Settings, tmp: Path) -> Settings:
    return settings.model_copy(update={**FAST, "storage_local_dir": tmp / "storage"})


async def _project_with_asset(client: httpx.AsyncClient, auth: dict[str, str]) -> tuple[str, str]:
    pid = str((await create_project(client, auth))["id"])
    await set_style(client, auth, pid)
    aid = str((await create_asset(client, auth, pid))["id"])
    return pid, aid


async def test_project_stream_carries_job_progress_and_carousel_changes_and_resumes(
    settings: Settings, clean: None, tmp_path: Path, auth: dict[str, str]
) -> None:
    s = _fast(settings, tmp_path)
    async with serve(s) as base, httpx.AsyncClient(base_url=base) as client:
        pid, aid = await _project_with_asset(client, auth)
        grant = (await client.post(f"/v1/projects/{pid}/events/token", headers=auth)).json()
        assert grant["url"].startswith(f"/v1/projects/{pid}/events?token=")
        # Opened the way an EventSource opens it: the token in the URL, no Authorization header.
        async with open_stream(client, grant["url"]) as stream:
            ready = await stream.next()
            assert (ready.event, ready.data) == ("ready", {"project_id": pid, "resumed": False})
            r = await client.post(f"/v1/projects/{pid}/assets/{aid}/attempts/generate", headers=auth)
            jid = r.json()["job"]["id"]
            queued = await stream.next()  # a new job shows up at once, before any worker takes it
            assert (queued.event, queued.data["id"], queued.data["status"]) == ("job", jid, "queued")
            worker = asyncio.create_task(run_burst("imagegen", s))
            added = await stream.until(lambda e: e.event == "attempt")
            done = await stream.until(lambda e: e.event == "job" and e.data["status"] == "succeeded")
            await worker
        running = [e.data for e in stream.seen if e.event == "job" and e.data["status"] == "running"]
        assert running
        assert all(e["id"] == jid for e in running)
        assert "Drawing the image" in [e.get("message") for e in running]
        attempts = (await client.get(f"/v1/projects/{pid}/assets/{aid}/attempts", headers=auth)).json()
        assert added.data == {
            "change": "added",
            "project_id": pid,
            "asset_id": aid,
            "attempt_id": attempts["items"][0]["id"],
            "attempt_number": 1,
            "evicted": [],
            "job_id": jid,
        }
        assert done.data["result"]["attempt_id"] == attempts["items"][0]["id"]
        ids = [e.id or "" for e in stream.seen[1:]]
        assert all(ids)
        assert ids == sorted(ids, key=lambda i: tuple(map(int, i.split("-"))))

        # Closed meanwhile: the image is deleted. A reconnect with Last-Event-ID gets what it missed.
        tid = attempts["items"][0]["id"]
        assert (
            await client.delete(f"/v1/projects/{pid}/assets/{aid}/attempts/{tid}", headers=auth)
        ).status_code == 204
        async with open_stream(client, grant["url"], headers={"Last-Event-ID": added.id or ""}) as again:
            assert (await again.next()).data == {"project_id": pid, "resumed": True}
            missed = await again.next()
            assert (missed.event, missed.id, missed.data["status"]) == ("job", done.id, "succeeded")
            deleted = await again.next()
        assert (deleted.event, deleted.data["change"], deleted.data["attempt_id"]) == (
            "attempt",
            "deleted",
            tid,
        )

        # A new page resumes with ?last_event_id= (EventSource cannot set the header itself).
        async with open_stream(client, f"{grant['url']}&last_event_id={done.id}") as page:
            assert (await page.next()).data["resumed"] is True
            assert (await page.next()).id == deleted.id

        # Resuming from an id the buffer no longer holds: told to refetch, then live again.
        async with open_stream(client, grant["url"], headers={"Last-Event-ID": "1-0"}) as old:
            first, second = await old.next(), await old.next()
        assert (first.event, first.data["resumed"], first.id) == ("ready", False, deleted.id)
        assert second.event == "reset"

        r = await client.get(f"/v1/projects/{pid}/events", params={"last_event_id": "x"}, headers=auth)
        assert (r.status_code, r.json()["error"]["code"]) == (422, "invalid_last_event_id")


async def test_carousel_selection_reaches_the_project_stream(
    settings: Settings, clean: None, tmp_path: Path, auth: dict[str, str]
) -> None:
    s = _fast(settings, tmp_path)
    async with serve(s) as base, httpx.AsyncClient(base_url=base) as client:
        pid, aid = await _project_with_asset(client, auth)
        for _ in range(2):
            await client.post(f"/v1/projects/{pid}/assets/{aid}/attempts/generate", headers=auth)
        await run_burst("imagegen", s)
        items = (await client.get(f"/v1/projects/{pid}/assets/{aid}/attempts", headers=auth)).json()["items"]
        older = next(i for i in items if not i["selected"])
        async with open_stream(client, f"/v1/projects/{pid}/events", headers=auth) as stream:
            await stream.next()  # ready
            url = f"/v1/projects/{pid}/assets/{aid}/attempts/{older['id']}/select"
            assert (await client.post(url, headers=auth)).status_code == 200
            picked = await stream.until(lambda e: e.event == "attempt")
        assert (picked.data["change"], picked.data["attempt_id"]) == ("selected", older["id"])


async def test_events_tokens_are_scoped_short_lived_and_never_bearer_tokens(
    client: httpx.AsyncClient, settings: Settings, auth: dict[str, str], user: uuid.UUID
) -> None:
    pid = (await create_project(client, auth))["id"]
    other_pid = (await create_project(client, auth))["id"]
    project_token = (await client.post(f"/v1/projects/{pid}/events/token", headers=auth)).json()["token"]
    ping = (await client.post("/v1/jobs/ping", headers=auth)).json()["job"]["id"]
    other_ping = (await client.post("/v1/jobs/ping", headers=auth)).json()["job"]["id"]
    await run_burst("extractor", settings)
    grant = (await client.post(f"/v1/jobs/{ping}/events/token", headers=auth)).json()
    assert grant["url"] == f"/v1/jobs/{ping}/events?token={grant['token']}"

    # The job token opens its job's stream (a finished job: its final state, then the end)...
    r = await client.get(grant["url"], timeout=10)
    assert r.status_code == 200, r.text
    data = [json.loads(line[5:]) for line in r.text.splitlines() if line.startswith("data:")]
    assert [d["status"] for d in data] == ["succeeded"]
    # ...and nothing else: another job, or a project's stream.
    for url in (f"/v1/jobs/{other_ping}/events", f"/v1/projects/{pid}/events"):
        r = await client.get(url, params={"token": grant["token"]})
        assert (r.status_code, r.json()["error"]["code"]) == (404, "not_found"), url
    # A project token does not open another project's stream.
    r = await client.get(f"/v1/projects/{other_pid}/events", params={"token": project_token})
    assert r.status_code == 404

    # The long-lived bearer token is never accepted in a URL...
    bearer = auth["Authorization"].removeprefix("Bearer ")
    r = await client.get(f"/v1/jobs/{ping}/events", params={"token": bearer})
    assert (r.status_code, r.json()["error"]["code"]) == (401, "invalid_events_token")
    # ...and an events token is no bearer token.
    r = await client.get(f"/v1/projects/{pid}", headers={"Authorization": f"Bearer {grant['token']}"})
    assert (r.status_code, r.json()["error"]["code"]) == (401, "invalid_token")
    # Expired: 401 with its own code, so the page knows to ask for a new one.
    stale = tokens.issue(
        settings.model_copy(update={"events_token_ttl_s": -5}),
        owner_id=user,
        scope="job",
        target=uuid.UUID(ping),
    )
    r = await client.get(f"/v1/jobs/{ping}/events", params={"token": stale.token})
    assert (r.status_code, r.json()["error"]["code"]) == (401, "events_token_expired")
    r = await client.get(f"/v1/projects/{pid}/events")
    assert r.status_code == 401
    # Another user cannot get a token for this project or job.
    intruder = auth_for(settings, uuid.uuid4())
    assert (await client.post(f"/v1/projects/{pid}/events/token", headers=intruder)).status_code == 404
    assert (await client.post(f"/v1/jobs/{ping}/events/token", headers=intruder)).status_code == 404


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
async def test_the_served_apis_logs_never_print_an_events_token(
    settings: Settings, clean: None, auth: dict[str, str]
) -> None:
    """``python -m services.api`` as deployed, logging at DEBUG: the token in ?token= is nowhere."""
    port = _free_port()
    env = settings_env(settings) | {
        "FILMASSETS_API_PORT": str(port),
        "FILMASSETS_LOG_LEVEL": "DEBUG",
        "FILMASSETS_PUBLIC_BASE_URL": "",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.api",
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if (await client.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "the API did not start"
                await asyncio.sleep(0.2)
            pid = (await create_project(client, auth))["id"]
            grant = (await client.post(f"/v1/projects/{pid}/events/token", headers=auth)).json()
            async with open_stream(client, grant["url"]) as stream:
                assert (await stream.next()).event == "ready"
            r = await client.get(f"/v1/jobs/{uuid.uuid4()}/events", params={"token": grant["token"]})
            assert r.status_code == 404
    finally:
        if proc.returncode is None:
            proc.terminate()
        out, _ = await asyncio.wait_for(proc.communicate(), 30)
    log = out.decode(errors="replace")
    assert "/v1/projects/{pid}/events" in log  # requests were logged, by route template
    assert grant["token"] not in log
    assert "token=" not in log


async def test_without_redis_the_stream_answers_503_not_500(
    settings: Settings, clean: None, tmp_path: Path, auth: dict[str, str]
) -> None:
    async with (
        serve(_fast(settings, tmp_path).model_copy(update={"redis_url": "redis://127.0.0.1:9/0"})) as base,
        httpx.AsyncClient(base_url=base) as client,
    ):
        pid = (await create_project(client, auth))["id"]
        r = await client.get(f"/v1/projects/{pid}/events", headers=auth, timeout=30)
    assert (r.status_code, r.json()["error"]["code"]) == (503, "events_unavailable")
