"""The asset list is serialised from plain rows (no ORM objects, no models per item): each item must
still read exactly as the asset's own GET, which is built as a model, and its image URLs must work."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.config import Settings
from shared.models import AssetAttempt, ProjectAsset
from shared.storage.factory import build_storage
from tests.support.factories import create_asset, create_project, put_script


def _without_signatures(item: dict[str, Any]) -> dict[str, Any]:
    """The item with its image URLs cut to their path: ``exp`` (and so ``sig``) moves with the clock."""
    image = item["image"]
    if image is None:
        return item
    cut = {k: urlsplit(image[k]).path if image[k] else None for k in ("image_url", "thumbnail_url")}
    return {**item, "image": {**image, **cut}}


async def test_each_list_item_reads_as_the_assets_own_get(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    pid = (await create_project(client, auth))["id"]
    await put_script(client, auth, pid)
    plain = await create_asset(client, auth, pid, name="Mara", type="character", scene_numbers=[3, 1])
    framed = await create_asset(
        client,
        auth,
        pid,
        name="Brass telescope",
        type="prop",
        aliases=["spyglass", "glass"],
        scene_numbers=[2],
    )
    odd = await create_asset(client, auth, pid, name='Ünïcode "quoted" name', type="location")
    storage = build_storage(settings)
    # Selected images: one key that URL-quoting leaves alone, one it must quote (a space, a '#').
    keys = {
        framed["id"]: f"projects/{pid}/assets/{framed['id']}/attempt-1",
        odd["id"]: f"projects/{pid}/assets/{odd['id']}/attempt #1 ünï",
    }
    async with sessions() as s:
        for n, (aid, key) in enumerate(keys.items()):
            for suffix in (".jpg", ".thumb.webp"):
                await storage.put(key + suffix, f"{key}{suffix}".encode(), content_type="image/jpeg")
            s.add(
                AssetAttempt(
                    id=uuid.uuid4(),
                    asset_id=uuid.UUID(aid),
                    project_id=uuid.UUID(pid),
                    attempt_number=1,
                    source="generated",
                    selected=True,
                    storage_key=f"{key}.jpg",
                    thumbnail_key=f"{key}.thumb.webp" if n == 0 else None,
                    width=1024,
                    height=768,
                    mime="image/jpeg",
                    bytes=100,
                )
            )
        await s.execute(
            update(ProjectAsset)
            .where(ProjectAsset.id == uuid.UUID(odd["id"]))
            .values(meta={"nested": {"list": [1, 2.5, None, "é"]}, "flag": True})
        )
        await s.commit()

    listed = await client.get(f"/v1/projects/{pid}/assets", headers=auth)
    assert listed.status_code == 200, listed.text
    page = listed.json()
    assert (page["total"], page["limit"], page["offset"]) == (3, settings.page_size_default, 0)
    assert [i["id"] for i in page["items"]] == [plain["id"], odd["id"], framed["id"]]  # by type, then name
    for item in page["items"]:
        own = (await client.get(f"/v1/projects/{pid}/assets/{item['id']}", headers=auth)).json()
        assert _without_signatures(item) == _without_signatures(own)
        assert list(item) == list(own)  # same fields, same order
    by_id = {i["id"]: i for i in page["items"]}
    assert by_id[odd["id"]]["metadata"] == {"nested": {"list": [1, 2.5, None, "é"]}, "flag": True}
    assert by_id[framed["id"]]["aliases"] == ["spyglass", "glass"]
    assert by_id[plain["id"]]["scene_numbers"] == [1, 3]
    assert by_id[plain["id"]]["image"] is None
    assert by_id[odd["id"]]["image"]["thumbnail_url"] is None
    # The list's signed URLs fetch the stored bytes, quoted key included.
    for aid, key in keys.items():
        image = by_id[aid]["image"]
        for url, suffix in ((image["image_url"], ".jpg"), (image["thumbnail_url"], ".thumb.webp")):
            if url is None:
                continue
            parts = urlsplit(url)
            got = await client.get(f"{parts.path}?{parts.query}")
            assert got.status_code == 200, (url, got.text)
            assert got.content == f"{key}{suffix}".encode()
