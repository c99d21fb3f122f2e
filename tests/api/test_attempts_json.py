"""The carousel (GET .../attempts) is serialised from plain rows, not models: it must read byte for byte
as the ``AttemptList`` model built from the ORM objects (the path select still answers with), stale
marks included, and its signed URLs must work."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import urlsplit

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.attempts import service
from shared.config import Settings
from shared.continuity.stale import accepted_key
from shared.models import AssetAttempt, Project, ProjectAsset
from shared.storage.factory import build_storage
from tests.support.factories import create_asset, create_project

# ``exp`` (and so ``sig``) moves with the clock between the two answers.
_SIGNATURE = re.compile(rb"\?exp=[^\"]*")


async def test_carousel_reads_byte_for_byte_as_the_model(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    pid = (await create_project(client, auth))["id"]
    asset = await create_asset(client, auth, pid, name="Mara", type="character", description="A waitress")
    aid = uuid.UUID(asset["id"])
    other = await create_asset(client, auth, pid, name="Empty", type="prop")
    storage = build_storage(settings)
    base = f"projects/{pid}/assets/{aid}"
    t0 = datetime(2026, 11, 30, 14, 5, 39, 870123, tzinfo=UTC)
    common = {"asset_id": aid, "project_id": uuid.UUID(pid), "width": 1024, "height": 576, "bytes": 412877}
    attempts = [
        # Made from an older description: stale.
        AssetAttempt(
            id=uuid.uuid4(),
            attempt_number=1,
            source="generated",
            selected=False,
            storage_key=f"{base}/attempt #1 ünï.png",
            thumbnail_key=f"{base}/attempt-1.thumb.webp",
            mime="image/png",
            view="front",
            prompt_snapshot='Mara, a "cook". Front view.',
            style_snapshot={"name": "Film noir", "palette": ["#000", 1.5, None], "é": True},
            provider="offline",
            model="offline-pillow-1",
            cost_usd=Decimal("0.040000"),
            created_at=t0,
            **common,
        ),
        # Made from an older description too, but accepted for the current one: not stale.
        AssetAttempt(
            id=uuid.uuid4(),
            attempt_number=2,
            source="generated",
            selected=True,
            storage_key=f"{base}/attempt-2.png",
            thumbnail_key=None,
            mime="image/png",
            prompt_snapshot="Mara, a cook.",
            created_at=t0 + timedelta(seconds=1),
            **common,
        ),
        # An upload: never stale.
        AssetAttempt(
            id=uuid.uuid4(),
            attempt_number=3,
            source="uploaded",
            selected=False,
            storage_key=f"{base}/attempt-3.jpg",
            thumbnail_key=f"{base}/attempt-3.thumb.webp",
            mime="image/jpeg",
            created_at=t0 + timedelta(seconds=2),
            **common,
        ),
    ]
    async with sessions() as s:
        for a in attempts:
            await storage.put(a.storage_key, a.storage_key.encode(), content_type=a.mime)
            s.add(a)
        await s.flush()
        row = await s.get(ProjectAsset, aid)
        assert row is not None
        await s.execute(
            update(AssetAttempt)
            .where(AssetAttempt.id == attempts[1].id)
            .values(accepted_for=accepted_key(row))
        )
        await s.commit()

    got = await client.get(f"/v1/projects/{pid}/assets/{aid}/attempts", headers=auth)
    assert got.status_code == 200, got.text
    async with sessions() as s:
        project = await s.get(Project, uuid.UUID(pid))
        assert project is not None
        model = await service.list_attempts(s, storage, project, aid, cap=settings.attempt_cap)
    want = model.__pydantic_serializer__.to_json(model)
    assert _SIGNATURE.sub(b"", got.content) == _SIGNATURE.sub(b"", want)

    items = got.json()["items"]
    assert [i["attempt_number"] for i in items] == [3, 2, 1]
    assert [i["stale"] for i in items] == [False, False, True]
    assert items[2]["cost_usd"] == 0.04
    assert items[0]["thumbnail_url"] is not None
    assert items[1]["thumbnail_url"] is None
    # The signed URLs fetch the stored bytes, a key URL-quoting must quote included.
    for item, a in zip(items, reversed(attempts), strict=True):
        parts = urlsplit(item["image_url"])
        fetched = await client.get(f"{parts.path}?{parts.query}")
        assert fetched.status_code == 200, (item["image_url"], fetched.text)
        assert fetched.content == a.storage_key.encode()

    # An asset without images, an unknown asset, and another project's asset.
    empty = await client.get(f"/v1/projects/{pid}/assets/{other['id']}/attempts", headers=auth)
    assert empty.status_code == 200
    assert empty.json() == {"items": [], "cap": settings.attempt_cap}
    missing = await client.get(f"/v1/projects/{pid}/assets/{uuid.uuid4()}/attempts", headers=auth)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    pid2 = (await create_project(client, auth))["id"]
    foreign = await client.get(f"/v1/projects/{pid2}/assets/{aid}/attempts", headers=auth)
    assert foreign.status_code == 404
