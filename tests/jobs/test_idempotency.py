"""``Idempotency-Key``: race-free, validated, scoped to the request, and a repeat replays the first
answer without doing the work again."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.config import Settings
from shared.models import Job
from tests.attempts.helpers import encode, make_env
from tests.support.factories import create_asset, create_project, put_script, set_style


async def _jobs(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(Job)) or 0)


async def test_parallel_repeats_make_one_job_and_all_get_the_first_answer(
    client: httpx.AsyncClient, auth: dict[str, str], sessions: async_sessionmaker[AsyncSession]
) -> None:
    headers = {**auth, "Idempotency-Key": "ping-42"}
    answers = await asyncio.gather(*(client.post("/v1/jobs/ping", headers=headers) for _ in range(12)))
    assert [r.status_code for r in answers] == [202] * 12
    assert len({r.json()["job"]["id"] for r in answers}) == 1
    assert len({r.headers["location"] for r in answers}) == 1
    assert sum(r.headers.get("idempotent-replayed") == "true" for r in answers) == 11
    assert await _jobs(sessions) == 1


async def test_empty_or_malformed_keys_are_refused(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    raw = [(k.encode(), v.encode()) for k, v in auth.items()]
    for key in (b"", b" ", b"a b", b"x" * 201, "caf\u00e9".encode()):
        r = await client.post("/v1/jobs/ping", headers=[*raw, (b"Idempotency-Key", key)])
        assert r.status_code == 422, (key, r.text)
        assert r.json()["error"]["code"] == "invalid_idempotency_key"
    # ...and a refused key reserved nothing: the same request without a key still works.
    assert (await client.post("/v1/jobs/ping", headers=auth)).status_code == 202


async def test_a_key_belongs_to_one_request_path(
    client: httpx.AsyncClient, auth: dict[str, str], sessions: async_sessionmaker[AsyncSession]
) -> None:
    pid = (await create_project(client, auth))["id"]
    await set_style(client, auth, pid)
    a = await create_asset(client, auth, pid, name="Lamp")
    b = await create_asset(client, auth, pid, name="Rope")
    headers = {**auth, "Idempotency-Key": "k" * 200}
    first = await client.post(f"/v1/projects/{pid}/assets/{a['id']}/attempts/generate", headers=headers)
    other = await client.post(f"/v1/projects/{pid}/assets/{b['id']}/attempts/generate", headers=headers)
    ping = await client.post("/v1/jobs/ping", headers=headers)
    assert [first.status_code, other.status_code, ping.status_code] == [202, 202, 202]
    kinds = [r.json()["job"]["kind"] for r in (first, other, ping)]
    assert kinds == ["image.generate", "image.generate", "noop"]
    assert len({r.json()["job"]["id"] for r in (first, other, ping)}) == 3
    # The same key on confirm is simply a new request there (no preview yet: its own 404).
    confirm = await client.post(f"/v1/projects/{pid}/extract/confirm", json={}, headers=headers)
    assert confirm.status_code == 404, confirm.text
    assert confirm.json()["error"]["code"] in ("script_missing", "preview_missing")


async def test_generate_all_repeat_returns_the_same_jobs(
    client: httpx.AsyncClient, auth: dict[str, str], sessions: async_sessionmaker[AsyncSession]
) -> None:
    pid = (await create_project(client, auth))["id"]
    await set_style(client, auth, pid)
    for name in ("Lamp", "Rope", "Anchor"):
        await create_asset(client, auth, pid, name=name)
    headers = {**auth, "Idempotency-Key": "g" * 200}  # long keys fit: no per-asset suffix any more
    first = await client.post(f"/v1/projects/{pid}/assets/generate-all", json={}, headers=headers)
    again = await client.post(f"/v1/projects/{pid}/assets/generate-all", json={}, headers=headers)
    assert (first.status_code, again.status_code) == (202, 202)
    assert first.json()["batch"]["total"] == 3  # one batch since issue 9
    assert again.json() == first.json()
    assert await _jobs(sessions) == 3


async def test_a_failed_request_does_not_keep_its_key(
    client: httpx.AsyncClient, auth: dict[str, str], sessions: async_sessionmaker[AsyncSession]
) -> None:
    pid = (await create_project(client, auth))["id"]
    await put_script(client, auth, pid)
    headers = {**auth, "Idempotency-Key": "preview-1"}
    refused = await client.post(f"/v1/projects/{pid}/extract/preview", headers=headers)
    assert refused.json()["error"]["code"] == "style_required"
    await set_style(client, auth, pid)
    ok = await client.post(f"/v1/projects/{pid}/extract/preview", headers=headers)
    assert ok.status_code == 202, ok.text  # the 409 was not stored as the key's answer
    assert await _jobs(sessions) == 1


async def test_replayed_upload_parks_nothing_twice(
    settings: Settings, clean: None, tmp_path: Path, auth: dict[str, str]
) -> None:
    png = encode(Image.new("RGB", (64, 64), "teal"), "PNG")
    async with make_env(settings, tmp_path) as env:
        pid = await env.project(auth)
        aid = await env.asset(auth, pid)
        headers = {**auth, "Idempotency-Key": "upload-1"}
        answers = [await env.upload(auth | headers, pid, aid, png) for _ in range(3)]
        assert [r.status_code for r in answers] == [202] * 3
        assert len({r.json()["job"]["id"] for r in answers}) == 1
        assert len(await env.keys("staging/")) == 1
