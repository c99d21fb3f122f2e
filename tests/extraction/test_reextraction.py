"""Re-extraction after the user reshaped the manifest (issue 8, point 1): never a 500, never a
duplicate link; and the preview of a new version says what changed."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.config import Settings
from shared.models import AssetSceneLink, ProjectAsset, Scene
from tests.extraction.test_flow import assets_by_name, confirm, key_of, preview
from tests.support.factories import SMALL_SCRIPT, create_asset, create_project, put_script, set_style

PETER_AND_DYLE = """Title: The Office

INT. OFFICE - DAY

PETER sits at his desk. DYLE leans on the door frame, holding a STAPLER.

PETER
You took my stapler.

DYLE
Borrowed.

EXT. CAR PARK - NIGHT

PETER walks to his car alone.
"""


async def duplicate_links(sessions: async_sessionmaker[AsyncSession], pid: str) -> int:
    async with sessions() as s:
        pairs = (
            select(AssetSceneLink.asset_id, AssetSceneLink.scene_id)
            .join(Scene, Scene.id == AssetSceneLink.scene_id)
            .where(Scene.project_id == uuid.UUID(pid))
            .group_by(AssetSceneLink.asset_id, AssetSceneLink.scene_id)
            .having(func.count() > 1)
        )
        return len((await s.execute(pairs)).all())


async def test_reconfirm_after_a_merge_answers_and_links_once(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """The issue's sequence, which answered ``500 internal_error`` every time."""
    pid = str((await create_project(client, auth))["id"])
    await set_style(client, auth, pid)
    await put_script(client, auth, pid, PETER_AND_DYLE)
    await preview(client, auth, pid, settings)
    await confirm(client, auth, pid, settings, [])
    assets = await assets_by_name(client, auth, pid)
    r = await client.post(
        f"/v1/projects/{pid}/assets/merge",
        json={"source_id": assets["Dyle"]["id"], "target_id": assets["Peter"]["id"]},
        headers=auth,
    )
    assert r.status_code == 200, r.text
    assert (await put_script(client, auth, pid, PETER_AND_DYLE + "\n")).status_code == 201
    pv = await preview(client, auth, pid, settings)
    both = [e for e in pv["entities"] if e["name"] in {"Peter", "Dyle"}]
    assert {e["existing_asset_id"] for e in both} == {assets["Peter"]["id"]}
    assert {e["change"] for e in both} == {"unchanged"}
    r = await client.post(f"/v1/projects/{pid}/extract/confirm", json={"decisions": []}, headers=auth)
    assert r.status_code in (200, 202), r.text
    assert r.json()["summary"]["created"] == 0
    peter = (await assets_by_name(client, auth, pid))["Peter"]
    assert peter["scene_numbers"] == [1, 2]
    assert "Dyle" in peter["aliases"]
    assert await duplicate_links(sessions, pid) == 0


async def test_merge_keeps_the_sources_manual_placement_over_a_removed_link(
    client: httpx.AsyncClient, auth: dict[str, str], settings: Settings
) -> None:
    pid = str((await create_project(client, auth))["id"])
    await set_style(client, auth, pid)
    await put_script(client, auth, pid)
    await preview(client, auth, pid, settings)
    await confirm(client, auth, pid, settings, [])
    mara = (await assets_by_name(client, auth, pid))["Mara"]
    # The user takes Mara out of scene 3, then adds "The Keeper" there by hand and merges it in.
    await client.patch(f"/v1/projects/{pid}/assets/{mara['id']}", json={"scene_numbers": [1]}, headers=auth)
    keeper = await create_asset(client, auth, pid, name="The Keeper", type="character", scene_numbers=[3])
    r = await client.post(
        f"/v1/projects/{pid}/assets/merge",
        json={"source_id": keeper["id"], "target_id": mara["id"]},
        headers=auth,
    )
    assert r.status_code == 200, r.text
    assert r.json()["scene_numbers"] == [1, 3]


async def test_preview_of_a_revision_says_what_is_new_renamed_and_vanished(
    client: httpx.AsyncClient, auth: dict[str, str], settings: Settings
) -> None:
    pid = str((await create_project(client, auth))["id"])
    await set_style(client, auth, pid)
    await put_script(client, auth, pid)
    await preview(client, auth, pid, settings)
    await confirm(client, auth, pid, settings, [])
    before = await assets_by_name(client, auth, pid)
    # Tom is called Ned now, the telescope is gone, and a satchel appears.
    revised = (
        SMALL_SCRIPT.replace("TOM (20s)", "NED (20s)")
        .replace("TOM (O.S.)", "NED (O.S.)")
        .replace(" holding a BRASS TELESCOPE.", ". He drops a LEATHER SATCHEL.")
    )
    assert (await put_script(client, auth, pid, revised)).status_code == 201
    pv = await preview(client, auth, pid, settings)
    by_name = {e["name"]: e for e in pv["entities"]}
    assert by_name["Ned"]["change"] == "renamed"
    assert by_name["Ned"]["previous_name"] == "Tom"
    assert by_name["Ned"]["existing_asset_id"] == before["Tom"]["id"]
    assert by_name["Mara"]["change"] == "unchanged"
    assert by_name["Mara"]["previous_name"] is None
    assert by_name["Leather Satchel"]["change"] == "new"
    assert [v["name"] for v in pv["vanished"]] == ["Brass Telescope"]
    assert pv["vanished"][0]["stale"] is True

    out = await confirm(client, auth, pid, settings, [])
    assert out["summary"]["renamed"] == 1
    after = await assets_by_name(client, auth, pid)
    assert "Tom" not in after
    assert after["Ned"]["id"] == before["Tom"]["id"]  # same asset: images and description kept
    assert "tom" in {a.lower() for a in after["Ned"]["aliases"]}
    assert after["Ned"]["scene_numbers"] == [2]
    assert not after["Ned"]["stale"]
    assert after["Brass Telescope"]["stale"]
    # The next preview knows Ned by name.
    pv = await preview(client, auth, pid, settings)
    assert {e["change"] for e in pv["entities"] if e["name"] in {"Ned", "Leather Satchel"}} == {"unchanged"}
    assert key_of(pv, "Ned")


async def test_an_asset_the_extractor_misses_but_the_text_names_is_not_stale(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """An earlier extraction (an LLM run, say) found "the great LAMP"; the offline pass does not. The
    lamp is still in the script, so neither the re-link nor a confirm may call it stale."""
    pid = str((await create_project(client, auth))["id"])
    await set_style(client, auth, pid)
    await put_script(client, auth, pid)
    async with sessions() as s:
        s.add(
            ProjectAsset(
                id=uuid.uuid4(),
                project_id=uuid.UUID(pid),
                name="Great Lamp",
                aliases=["Lamp"],
                type="prop",
                source="extracted",
                entity_key="prop:great-lamp",
                meta={},
            )
        )
        await s.commit()
    # A changed lantern-room scene: the re-link reads it again and finds the lamp there.
    revised = SMALL_SCRIPT.replace("Storm's coming.", "A storm is coming.")
    assert (await put_script(client, auth, pid, revised)).status_code == 201
    lamp = (await assets_by_name(client, auth, pid))["Great Lamp"]
    assert lamp["scene_numbers"] == [1]
    assert not lamp["stale"]
    pv = await preview(client, auth, pid, settings)
    assert "Great Lamp" not in {e["name"] for e in pv["entities"]}
    assert pv["vanished"] == []
    out = await confirm(client, auth, pid, settings, [])
    assert out["summary"]["stale"] == 0
    lamp = (await assets_by_name(client, auth, pid))["Great Lamp"]
    assert not lamp["stale"]
    assert lamp["scene_numbers"] == [1]
