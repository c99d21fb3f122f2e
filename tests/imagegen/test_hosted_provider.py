"""Generation jobs through the OpenAI Images provider, against the fake server on loopback:
exact sizes after post-processing, permanent and transient provider errors, and an asset deleted
while its image was being generated."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.config import Settings
from shared.images.sizing import size_for
from shared.models import Job
from tests.attempts.helpers import Env, decode, make_env
from tests.fakes.image_server import FakeImagesServer


@pytest.fixture
async def env(
    settings: Settings, clean: None, tmp_path: Path, fake_images: FakeImagesServer
) -> AsyncIterator[Env]:
    hosted = {
        "image_provider": "openai",
        "image_api_key": SecretStr(fake_images.api_key),
        "image_base_url": fake_images.base_url,
        "image_price_per_image_usd": 0.04,
        # The provider's own backoff starts at 1 s; here the job-level retries are what is tested.
        "image_max_retries": 0,
    }
    async with make_env(settings, tmp_path, overrides=hosted) as e:
        yield e


async def test_hosted_images_are_fitted_to_the_exact_size(
    env: Env, auth: dict[str, str], fake_images: FakeImagesServer
) -> None:
    pid = await env.project(auth)
    mara = await env.asset(auth, pid, name="Mara", type="character")
    quay = await env.asset(auth, pid, name="Quay", type="location")
    jobs = [await env.generate(auth, pid, mara), await env.generate(auth, pid, quay)]
    await env.run()
    for job in jobs:
        done = await env.job(auth, job["id"])
        assert done["status"] == "succeeded", done
        assert done["cost"]["usd"] == pytest.approx(0.04)
    assert sorted(r.body["size"] for r in fake_images.requests if r.body) == ["1024x1536", "1536x1024"]
    # No reference on a first generation: the plain generations endpoint, not edits.
    assert {r.path for r in fake_images.requests} == {"/v1/images/generations"}

    [portrait] = await env.attempts(auth, pid, mara)
    assert (portrait["provider"], portrait["model"], portrait["cost_usd"]) == ("openai", "gpt-image-1", 0.04)
    image = decode(await env.download(portrait["image_url"]))
    assert image.size == (portrait["width"], portrait["height"]) == size_for("character", "16:9", base=256)
    assert image.mode == "RGBA"
    assert image.getpixel((0, 0))[3] == 0  # type: ignore[index]  # the fake's light background, removed
    assert image.getpixel((image.width // 2, image.height // 2))[3] == 255  # type: ignore[index]

    [wide] = await env.attempts(auth, pid, quay)
    image = decode(await env.download(wide["image_url"]))
    # 1536x1024 (3:2) from the API, centre-cropped to 16:9 and resized: no stretching, no alpha.
    assert image.size == size_for("location", "16:9", base=256)
    assert image.mode == "RGB"


async def test_content_policy_refusal_fails_the_job(
    env: Env, auth: dict[str, str], fake_images: FakeImagesServer
) -> None:
    fake_images.block_prompts_containing("harpoon")
    pid = await env.project(auth)
    aid = await env.asset(auth, pid, name="Harpoon", description="A rusty whaling harpoon.")
    job = await env.generate(auth, pid, aid)
    await env.run()
    done = await env.job(auth, job["id"])
    assert (done["status"], done["error"]["code"], done["tries"]) == ("failed", "image_provider_rejected", 1)
    assert "safety system" in done["error"]["message"]
    assert await env.keys() == set()
    assert await env.attempts(auth, pid, aid) == []


async def test_provider_down_is_retried_then_upstream_unavailable(
    env: Env, auth: dict[str, str], fake_images: FakeImagesServer
) -> None:
    fake_images.always_fail(503)
    pid = await env.project(auth)
    aid = await env.asset(auth, pid)
    job = await env.generate(auth, pid, aid)
    await env.run()
    done = await env.job(auth, job["id"])
    retries = env.settings.job_transient_retries
    assert (done["status"], done["error"]["code"]) == ("failed", "upstream_unavailable")
    assert done["tries"] == retries + 1
    assert len(fake_images.requests) == retries + 1
    assert done["cost"]["usd"] == 0  # nothing was generated, nothing billed

    fake_images.recover()  # and once it is back, a new request goes through
    again = await env.generate(auth, pid, aid)
    await env.run()
    assert (await env.job(auth, again["id"]))["status"] == "succeeded"


async def test_asset_deleted_mid_generation_discards_the_image(
    env: Env,
    auth: dict[str, str],
    fake_images: FakeImagesServer,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    fake_images.latency_s = 1.5
    pid = await env.project(auth)
    aid = await env.asset(auth, pid, name="Doomed")
    job = await env.generate(auth, pid, aid)
    worker = asyncio.create_task(env.run())
    deadline = time.monotonic() + 20
    while not fake_images.requests:  # the provider call is under way
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    assert (await env.client.delete(f"/v1/projects/{pid}/assets/{aid}", headers=auth)).status_code == 204
    await worker
    async with sessions() as s:
        row = await s.get(Job, uuid.UUID(job["id"]))
    assert row is not None
    assert row.status == "succeeded"
    assert row.result is not None
    assert (row.result["discarded"], row.result["attempt_id"]) == (True, None)
    assert float(row.cost_usd) == pytest.approx(0.04)  # the image was still paid for
    assert await env.keys() == set()
