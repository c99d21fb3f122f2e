"""An app + storage per test (local directory or a moto S3 bucket), and the steps tests repeat:
a project with a style, an asset, a job run to its end, a signed URL downloaded."""

from __future__ import annotations

import io
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from PIL import Image
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.api.app import create_app
from shared.config import Settings
from shared.models import AssetAttempt
from shared.storage.base import Storage
from tests.support.factories import create_asset, create_project, set_style
from tests.support.moto_server import FAKE_ACCESS_KEY_ID, FAKE_SECRET_ACCESS_KEY, unique_bucket_name
from tests.support.workers import run_burst

# Small images keep generation, background removal and thumbnails to milliseconds per job.
FAST = {"image_base_side": 256, "thumbnail_side": 64}


@dataclass
class Env:
    backend: str
    settings: Settings
    client: httpx.AsyncClient
    storage: Storage

    async def keys(self, prefix: str = "") -> set[str]:
        return {o.key for o in await self.storage.list_objects(prefix)}

    async def download(self, url: str) -> bytes:
        """GET a signed URL the way a browser would: no bearer token."""
        if self.backend == "local":
            r = await self.client.get(url.removeprefix(self.settings.public_base_url))
        else:
            async with httpx.AsyncClient(trust_env=False) as plain:
                r = await plain.get(url)
        assert r.status_code == 200, r.text
        return r.content

    async def run(self, worker: str = "imagegen") -> int:
        return await run_burst(worker, self.settings)

    async def job(self, auth: dict[str, str], job_id: str) -> dict[str, Any]:
        r = await self.client.get(f"/v1/jobs/{job_id}", headers=auth)
        assert r.status_code == 200, r.text
        return dict(r.json())

    async def project(self, auth: dict[str, str], *, style: bool = True, **fields: Any) -> str:
        pid = str((await create_project(self.client, auth, **fields))["id"])
        if style:
            await set_style(self.client, auth, pid)
        return pid

    async def asset(self, auth: dict[str, str], pid: str, **fields: Any) -> str:
        return str((await create_asset(self.client, auth, pid, **fields))["id"])

    async def generate(self, auth: dict[str, str], pid: str, aid: str, **body: Any) -> dict[str, Any]:
        r = await self.client.post(
            f"/v1/projects/{pid}/assets/{aid}/attempts/generate", json=body or None, headers=auth
        )
        assert r.status_code == 202, r.text
        return dict(r.json()["job"])

    async def upload(
        self, auth: dict[str, str], pid: str, aid: str, data: bytes, name: str = "image.png", ctype: str = ""
    ) -> httpx.Response:
        files = {"file": (name, data, ctype or "application/octet-stream")}
        return await self.client.post(
            f"/v1/projects/{pid}/assets/{aid}/attempts/upload", files=files, headers=auth
        )

    async def attempts(self, auth: dict[str, str], pid: str, aid: str) -> list[dict[str, Any]]:
        r = await self.client.get(f"/v1/projects/{pid}/assets/{aid}/attempts", headers=auth)
        assert r.status_code == 200, r.text
        return list(r.json()["items"])


@asynccontextmanager
async def make_env(
    base: Settings,
    tmp: Path,
    *,
    backend: str = "local",
    s3_endpoint: str | None = None,
    overrides: dict[str, Any] | None = None,
) -> AsyncIterator[Env]:
    """A fresh app (through its lifespan) on ``base`` + ``overrides``, with its own storage: a
    directory under ``tmp``, or a new bucket on the moto server at ``s3_endpoint``."""
    overrides = overrides or {}
    update: dict[str, Any] = {
        **FAST,
        "storage_local_dir": tmp / f"storage-{uuid.uuid4().hex[:6]}",
        **overrides,
    }
    if backend == "s3":
        assert s3_endpoint is not None
        update |= {
            "storage_backend": "s3",
            "s3_endpoint_url": s3_endpoint,
            "s3_bucket": unique_bucket_name("attempts"),
            "s3_create_bucket": True,
            "s3_access_key_id": FAKE_ACCESS_KEY_ID,
            "s3_secret_access_key": SecretStr(FAKE_SECRET_ACCESS_KEY),
        }
    settings = base.model_copy(update=update)
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client,
    ):
        yield Env(backend, settings, client, app.state.storage)


def encode(img: Image.Image, fmt: str, **params: Any) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **params)
    return buf.getvalue()


def decode(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


async def attempt_keys(sessions: async_sessionmaker[AsyncSession], *numbers: int) -> set[str]:
    """Storage keys of the attempt rows (all, or those with these attempt numbers)."""
    q = select(AssetAttempt.storage_key, AssetAttempt.thumbnail_key)
    if numbers:
        q = q.where(AssetAttempt.attempt_number.in_(numbers))
    async with sessions() as s:
        return {k for row in (await s.execute(q)).all() for k in row if k}
