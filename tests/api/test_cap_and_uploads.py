"""No surprises at the cap (the 202 says which image goes; on_cap=refuse says no instead), uploads
refused at the door from their header, and conditional asset edits with ETag / If-Match."""

from __future__ import annotations

import struct
import uuid
import zlib
from pathlib import Path
from typing import Any

from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.config import Settings
from shared.jobs.queue import arq_client
from shared.models import AssetAttempt, Job
from tests.attempts.helpers import Env, encode, make_env
from tests.support.workers import run_burst


def png(size: tuple[int, int] = (40, 30)) -> bytes:
    return encode(Image.new("RGB", size, (200, 40, 40)), "PNG")


def png_claiming(width: int, height: int) -> bytes:
    """A tiny valid PNG whose header declares ``width`` x ``height`` (CRC fixed up)."""
    data = bytearray(png((10, 10)))
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


async def _generate(env: Env, auth: dict[str, str], pid: str, aid: str, **kw: Any) -> Any:
    params = {"on_cap": kw.pop("on_cap")} if "on_cap" in kw else None
    return await env.client.post(
        f"/v1/projects/{pid}/assets/{aid}/attempts/generate", json=kw or None, params=params, headers=auth
    )


async def test_the_202_says_which_image_goes_and_the_worker_evicts_that_one(
    settings: Settings, clean: None, tmp_path: Path, auth: dict[str, str]
) -> None:
    async with make_env(settings, tmp_path, overrides={"attempt_cap": 2}) as env:
        pid = await env.project(auth)
        aid = await env.asset(auth, pid)
        r = await _generate(env, auth, pid, aid)
        assert r.json()["eviction"] == {"cap": 2, "attempts": 0, "pending": 0, "evicts": []}
        await env.run()
        first = (await env.attempts(auth, pid, aid))[0]

        r = await _generate(env, auth, pid, aid)  # 1 image, room for one more
        assert r.json()["eviction"]["evicts"] == []
        # A third while the second is still queued: the first image will go, and the 202 says so.
        r = await _generate(env, auth, pid, aid)
        assert r.status_code == 202
        assert r.json()["eviction"] == {
            "cap": 2,
            "attempts": 1,
            "pending": 1,
            "evicts": [{"attempt_id": first["id"], "attempt_number": 1, "selected": False}],
        }
        await env.run()
        carousel = await env.client.get(f"/v1/projects/{pid}/assets/{aid}/attempts", headers=auth)
        assert carousel.json()["cap"] == 2
        kept = [a["attempt_number"] for a in carousel.json()["items"]]
        assert kept == [3, 2]  # the one announced is the one evicted

        # Full now: the next one would evict #2 (the oldest unselected), and refuse says no instead.
        r = await _generate(env, auth, pid, aid)
        assert [e["attempt_number"] for e in r.json()["eviction"]["evicts"]] == [2]
        await env.client.post(f"/v1/jobs/{r.json()['job']['id']}/cancel", headers=auth)
        for refuse in ({"on_cap": "refuse"}, {"view": None, "on_cap": "refuse"}):
            r = await _generate(env, auth, pid, aid, **refuse)
            assert (r.status_code, r.json()["error"]["code"]) == (409, "attempt_cap_reached"), refuse
            assert r.json()["error"]["details"] == {"cap": 2, "attempts": 2, "pending": 0}
        files = {"file": ("a.png", png(), "image/png")}
        url = f"/v1/projects/{pid}/assets/{aid}/attempts/upload"
        r = await env.client.post(url, files=files, params={"on_cap": "refuse"}, headers=auth)
        assert (r.status_code, r.json()["error"]["code"]) == (409, "attempt_cap_reached")
        assert await env.keys("staging/") == set()
        r = await env.client.post(url, files=files, headers=auth)  # evicting is still the default
        assert r.status_code == 202
        assert [e["attempt_number"] for e in r.json()["eviction"]["evicts"]] == [2]


async def test_a_refusing_job_fails_if_the_carousel_filled_up_meanwhile(
    settings: Settings,
    clean: None,
    tmp_path: Path,
    auth: dict[str, str],
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with make_env(settings, tmp_path, overrides={"attempt_cap": 1}) as env:
        pid = await env.project(auth)
        aid = await env.asset(auth, pid)
        r = await _generate(env, auth, pid, aid, on_cap="refuse")
        assert r.status_code == 202  # room now
        # Another tab's upload lands first.
        files = {"file": ("a.png", png(), "image/png")}
        url = f"/v1/projects/{pid}/assets/{aid}/attempts/upload"
        async with sessions() as s:
            job = await s.get(Job, uuid.UUID(r.json()["job"]["id"]))
            assert job is not None
            job.status = "cancelled"  # held back while the upload runs
            await s.commit()
        assert (await env.client.post(url, files=files, headers=auth)).status_code == 202
        await env.run()
        async with sessions() as s:
            job = await s.get(Job, uuid.UUID(r.json()["job"]["id"]))
            assert job is not None
            job.status = "queued"
            await s.commit()
        # Released: queued again and delivered (under a fresh arq id, as the relay would).
        pool = arq_client(env.settings)
        try:
            await pool.enqueue_job(
                "image.generate",
                str(job.id),
                _job_id=f"again-{uuid.uuid4()}",
                _queue_name=env.settings.imagegen_queue,
            )
        finally:
            await pool.aclose()
        await run_burst("imagegen", env.settings)
        done = await env.job(auth, str(job.id))
        assert (done["status"], done["error"]["code"]) == ("failed", "attempt_cap_reached")
        items = await env.attempts(auth, pid, aid)
        assert [a["source"] for a in items] == ["uploaded"]  # kept, not evicted
        async with sessions() as s:
            assert await s.scalar(select(func.count()).select_from(AssetAttempt)) == 1
        held = {items[0]["image_url"], items[0]["thumbnail_url"]}
        assert len(await env.keys()) == len(held)  # the refused image left nothing behind


async def test_uploads_are_refused_at_the_door_from_their_header(
    settings: Settings,
    clean: None,
    tmp_path: Path,
    auth: dict[str, str],
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with make_env(settings, tmp_path, overrides={"upload_max_pixels": 4_000_000}) as env:
        pid = await env.project(auth)
        aid = await env.asset(auth, pid)
        cases = [
            # Over our limit but under Pillow's own bomb guard: our check, with the numbers.
            (png_claiming(3000, 2000), 413, "decompression_bomb"),
            # Far over: Pillow's guard fires while reading the header.
            (png_claiming(30_000, 30_000), 413, "decompression_bomb"),
            (encode(Image.new("RGB", (8, 8)), "GIF"), 415, "unsupported_image"),
            (b"\x89PNG\r\n\x1a\n" + b"\0" * 40, 422, "corrupt_image"),
        ]
        for data, status, code in cases:
            r = await env.upload(auth, pid, aid, data)
            assert (r.status_code, r.json()["error"]["code"]) == (status, code), r.text
        r = await env.upload(auth, pid, aid, png_claiming(3000, 2000))
        assert r.json()["error"]["details"] == {"width": 3000, "height": 2000, "max_pixels": 4_000_000}
        assert await env.keys() == set()  # nothing stored
        async with sessions() as s:
            assert await s.scalar(select(func.count()).select_from(Job)) == 0  # no job either
        assert (await env.upload(auth, pid, aid, png((2000, 2000)))).status_code == 202  # at the limit: fine


async def test_asset_etag_and_if_match(
    settings: Settings, clean: None, tmp_path: Path, auth: dict[str, str]
) -> None:
    async with make_env(settings, tmp_path) as env:
        pid = await env.project(auth)
        r = await env.client.post(
            f"/v1/projects/{pid}/assets",
            json={"name": "Lamp", "type": "prop", "description": "A lamp."},
            headers=auth,
        )
        url = f"/v1/projects/{pid}/assets/{r.json()['id']}"
        assert r.headers["ETag"] == '"1"'
        read = await env.client.get(url, headers=auth)
        assert (read.headers["ETag"], read.json()["version"]) == ('"1"', 1)

        mine = await env.client.patch(
            url, json={"description": "A brass lamp."}, headers={**auth, "If-Match": '"1"'}
        )
        assert mine.status_code == 200, mine.text
        assert mine.headers["ETag"] == '"2"'
        # A second tab still holding version 1 is refused, and the first tab's edit stands.
        stale = await env.client.patch(
            url, json={"description": "A red lamp."}, headers={**auth, "If-Match": '"1"'}
        )
        assert (stale.status_code, stale.json()["error"]["code"]) == (412, "precondition_failed")
        assert stale.json()["error"]["details"] == {"current_version": 2, "etag": '"2"'}
        assert (await env.client.get(url, headers=auth)).json()["description"] == "A brass lamp."
        anyone = await env.client.patch(
            url, json={"description": "Any lamp."}, headers={**auth, "If-Match": "*"}
        )
        assert (anyone.status_code, anyone.headers["ETag"]) == (200, '"3"')
        listed = await env.client.patch(
            url, json={"name": "Lamp 2"}, headers={**auth, "If-Match": '"7", "3"'}
        )
        assert listed.status_code == 200
