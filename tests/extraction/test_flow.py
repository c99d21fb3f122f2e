"""Stage 5 extraction through the API and the real extractor worker (offline engine)."""

from __future__ import annotations

import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.config import Settings
from shared.models import AssetAttempt
from tests.support.factories import SMALL_SCRIPT, create_asset, create_project, put_script, set_style
from tests.support.workers import run_burst


async def preview(
    client: httpx.AsyncClient, auth: dict[str, str], pid: str, settings: Settings
) -> dict[str, Any]:
    r = await client.post(f"/v1/projects/{pid}/extract/preview", headers=auth)
    assert r.status_code == 202, r.text
    await run_burst("extractor", settings)
    job = (await client.get(f"/v1/jobs/{r.json()['job']['id']}", headers=auth)).json()
    assert job["status"] == "succeeded", job
    return dict((await client.get(f"/v1/projects/{pid}/extract/preview", headers=auth)).json())


async def confirm(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    pid: str,
    settings: Settings,
    decisions: list[dict[str, Any]],
) -> dict[str, Any]:
    r = await client.post(f"/v1/projects/{pid}/extract/confirm", json={"decisions": decisions}, headers=auth)
    assert r.status_code in (200, 202), r.text
    await run_burst("extractor", settings)
    if r.json()["job"]:
        job = (await client.get(f"/v1/jobs/{r.json()['job']['id']}", headers=auth)).json()
        assert job["status"] == "succeeded", job
    return dict(r.json())


async def assets_by_name(
    client: httpx.AsyncClient, auth: dict[str, str], pid: str
) -> dict[str, dict[str, Any]]:
    items = (await client.get(f"/v1/projects/{pid}/assets?status=all&limit=200", headers=auth)).json()[
        "items"
    ]
    return {a["name"]: a for a in items}


def key_of(pv: dict[str, Any], name: str) -> str:
    return str(next(e["key"] for e in pv["entities"] if e["name"] == name))


async def test_preview_and_confirm_need_a_style(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    pid = (await create_project(client, auth))["id"]
    await put_script(client, auth, pid)
    for path in ("extract/preview", "extract/confirm"):
        r = await client.post(f"/v1/projects/{pid}/{path}", json={}, headers=auth)
        assert r.status_code == 409
        assert r.json()["error"]["code"] == "style_required"


async def test_offline_preview_of_a_sample(
    client: httpx.AsyncClient, auth: dict[str, str], settings: Settings, samples_dir: Path
) -> None:
    pid = (await create_project(client, auth))["id"]
    await set_style(client, auth, pid)
    await put_script(client, auth, pid, (samples_dir / "brick-and-steel.fountain").read_text())
    pv = await preview(client, auth, pid, settings)
    names = {(e["type"], e["name"]) for e in pv["entities"]}
    assert {("character", "Brick Braddock"), ("character", "Dick Steel")} <= names
    assert any(t == "location" for t, _ in names)
    assert pv["script_version"] == pv["current_script_version"] == 1
    assert not pv["outdated"]
    brick = next(e for e in pv["entities"] if e["name"] == "Brick Braddock")
    assert brick["key"] == "character:brick-braddock"
    assert brick["existing_asset_id"] is None
    assert brick["mentions"]
    assert len({e["key"] for e in pv["entities"]}) == len(pv["entities"])  # keys are unique


async def test_confirm_keep_defer_delete(
    client: httpx.AsyncClient, auth: dict[str, str], settings: Settings
) -> None:
    pid = (await create_project(client, auth))["id"]
    await set_style(client, auth, pid)
    await put_script(client, auth, pid)
    pv = await preview(client, auth, pid, settings)
    entity_names = {e["name"] for e in pv["entities"]}
    assert {"Mara", "Tom"} <= entity_names
    out = await confirm(
        client,
        auth,
        pid,
        settings,
        [
            {"key": key_of(pv, "Tom"), "decision": "defer"},
            {"key": key_of(pv, "Mara"), "decision": "keep", "name": "Mara Quinn"},
            *[
                {"key": e["key"], "decision": "delete"}
                for e in pv["entities"]
                if e["type"] == "extra_archetype"
            ],
        ],
    )
    assets = await assets_by_name(client, auth, pid)
    assert "Mara" not in assets
    assert assets["Mara Quinn"]["aliases"][0] == "Mara"
    mara = assets["Mara Quinn"]
    assert mara["source"] == "extracted"
    assert mara["described"]
    assert mara["description"]
    assert mara["scene_numbers"] == [1, 3]
    assert assets["Tom"]["deferred"]
    assert not assets["Tom"]["described"]
    assert assets["Tom"]["description"] == ""
    assert not any(a["type"] == "extra_archetype" for a in assets.values())
    assert out["summary"]["deferred"] == 1
    assert out["summary"]["to_describe"] == len(assets) - 1

    # Deleted entities stay out on the next preview's defaults; kept ones now match their assets.
    pv2 = await preview(client, auth, pid, settings)
    by_key = {e["key"]: e for e in pv2["entities"]}
    assert by_key[key_of(pv, "Mara")]["existing_asset_id"] == mara["id"]
    assert all(e["dismissed"] for e in pv2["entities"] if e["type"] == "extra_archetype")
    await confirm(client, auth, pid, settings, [])
    assert not any(a["type"] == "extra_archetype" for a in (await assets_by_name(client, auth, pid)).values())

    scenes = (await client.get(f"/v1/projects/{pid}/scenes", headers=auth)).json()["items"]
    assert "Mara Quinn" in [d["name"] for d in scenes[0]["dependencies"]["character"]]


async def test_restoring_a_never_described_asset_starts_its_pass(
    client: httpx.AsyncClient, auth: dict[str, str], settings: Settings
) -> None:
    pid = (await create_project(client, auth))["id"]
    await set_style(client, auth, pid)
    await put_script(client, auth, pid)
    pv = await preview(client, auth, pid, settings)
    await confirm(client, auth, pid, settings, [{"key": key_of(pv, "Tom"), "decision": "defer"}])
    tom = (await assets_by_name(client, auth, pid))["Tom"]
    r = await client.post(f"/v1/projects/{pid}/assets/{tom['id']}/restore", headers=auth)
    assert r.status_code == 200
    assert r.json()["job"]["kind"] == "asset.describe"
    await run_burst("extractor", settings)
    tom = (await client.get(f"/v1/projects/{pid}/assets/{tom['id']}", headers=auth)).json()
    assert tom["described"]
    assert "Tom" in tom["description"]
    assert not tom["deferred"]
    # A described asset restored again costs nothing more.
    await client.post(f"/v1/projects/{pid}/assets/{tom['id']}/defer", headers=auth)
    r = await client.post(f"/v1/projects/{pid}/assets/{tom['id']}/restore", headers=auth)
    assert r.json()["job"] is None


async def test_reextraction_keeps_user_work_and_marks_vanished_stale(
    client: httpx.AsyncClient, auth: dict[str, str], settings: Settings
) -> None:
    pid = (await create_project(client, auth))["id"]
    await set_style(client, auth, pid)
    await put_script(client, auth, pid)
    pv = await preview(client, auth, pid, settings)
    await confirm(client, auth, pid, settings, [])
    before = await assets_by_name(client, auth, pid)
    manual = await create_asset(client, auth, pid, name="Fog horn", type="prop", scene_numbers=[1])
    mara = before["Mara"]
    r = await client.patch(
        f"/v1/projects/{pid}/assets/{mara['id']}", json={"description": "My own words."}, headers=auth
    )
    assert r.status_code == 200

    # Tom vanishes from the new version; Mara moves to scenes 1 and 2.
    edited = SMALL_SCRIPT.replace(
        "TOM (20s) runs along the quay holding a BRASS TELESCOPE.", "MARA watches from the quay."
    ).replace("TOM (O.S.)\nMara! A ship!", "MARA\nA ship.")
    assert (await put_script(client, auth, pid, edited)).json()["version"] == 2
    pv2 = await preview(client, auth, pid, settings)
    assert "Tom" not in {e["name"] for e in pv2["entities"]}
    out = await confirm(client, auth, pid, settings, [])
    after = await assets_by_name(client, auth, pid)
    assert after["Mara"]["id"] == mara["id"]
    assert after["Mara"]["description"] == "My own words."
    assert after["Mara"]["scene_numbers"] == [1, 2, 3]
    assert after["Tom"]["stale"] is True
    assert after["Tom"]["id"] == before["Tom"]["id"]
    assert after["Fog horn"]["id"] == manual["id"]
    assert after["Fog horn"]["scene_numbers"] == [1]
    assert after["Fog horn"]["source"] == "manual"
    assert not after["Fog horn"]["stale"]
    assert out["summary"]["stale"] >= 1
    assert pv != pv2


async def test_merge_unites_aliases_scenes_and_images(
    client: httpx.AsyncClient, auth: dict[str, str], sessions: async_sessionmaker[AsyncSession]
) -> None:
    pid = (await create_project(client, auth))["id"]
    await put_script(client, auth, pid)
    src = await create_asset(client, auth, pid, name="The Keeper", type="character", scene_numbers=[2])
    dst = await create_asset(client, auth, pid, name="Mara", type="character", scene_numbers=[1])
    async with sessions() as s:
        for asset_id, n, selected in ((src["id"], 1, True), (dst["id"], 1, True)):
            s.add(
                AssetAttempt(
                    id=uuid.uuid4(),
                    asset_id=asset_id,
                    project_id=pid,
                    attempt_number=n,
                    source="uploaded",
                    selected=selected,
                    storage_key=f"k/{uuid.uuid4()}.png",
                    width=10,
                    height=10,
                    mime="image/png",
                    bytes=1,
                    cost_usd=Decimal(0),
                )
            )
        await s.commit()
    r = await client.post(
        f"/v1/projects/{pid}/assets/merge",
        json={"source_id": src["id"], "target_id": dst["id"]},
        headers=auth,
    )
    assert r.status_code == 200, r.text
    merged = r.json()
    assert merged["id"] == dst["id"]
    assert "The Keeper" in merged["aliases"]
    assert merged["scene_numbers"] == [1, 2]
    assert merged["attempt_count"] == 2
    assert merged["image"] is not None
    assert (await client.get(f"/v1/projects/{pid}/assets/{src['id']}", headers=auth)).status_code == 404
    r = await client.post(
        f"/v1/projects/{pid}/assets/merge",
        json={"source_id": dst["id"], "target_id": dst["id"]},
        headers=auth,
    )
    assert r.status_code == 422


async def test_promote_then_clone_into_another_project(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    a = (await create_project(client, auth, title="A"))["id"]
    b = (await create_project(client, auth, title="B"))["id"]
    asset = await create_asset(client, auth, a, name="Red balloon", type="prop", description="A red balloon.")
    r = await client.post(f"/v1/projects/{a}/assets/{asset['id']}/promote", headers=auth)
    assert r.status_code == 201
    gid = r.json()["id"]
    library = (await client.get("/v1/library", headers=auth)).json()
    assert [g["name"] for g in library["items"]] == ["Red balloon"]
    r = await client.post(f"/v1/projects/{b}/assets/clone", json={"global_asset_id": gid}, headers=auth)
    assert r.status_code == 201
    assert r.json()["source"] == "cloned"
    assert r.json()["description"] == "A red balloon."
    assert (await client.delete(f"/v1/library/{gid}", headers=auth)).status_code == 204
    assert (await client.get(f"/v1/projects/{b}/assets/{r.json()['id']}", headers=auth)).status_code == 200


async def test_stage5_lock_and_unlock(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    pid = (await create_project(client, auth))["id"]
    r = await client.post(f"/v1/projects/{pid}/stages/5/lock", headers=auth)
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "style_required"
    await set_style(client, auth, pid)
    r = await client.post(f"/v1/projects/{pid}/stages/5/lock", headers=auth)
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "no_active_assets"
    asset = await create_asset(client, auth, pid)
    r = await client.post(f"/v1/projects/{pid}/stages/5/lock", headers=auth)
    assert r.status_code == 200
    assert r.json()["locked_at"]
    assert [x["id"] for x in r.json()["imageless_assets"]] == [asset["id"]]
    r = await client.patch(f"/v1/projects/{pid}/assets/{asset['id']}", json={"name": "x"}, headers=auth)
    assert r.json()["error"]["code"] == "stage_locked"
    r = await client.post(f"/v1/projects/{pid}/stages/5/unlock", headers=auth)
    assert r.status_code == 200
    assert r.json()["locked_at"] is None
    assert (
        await client.patch(f"/v1/projects/{pid}/assets/{asset['id']}", json={"name": "x"}, headers=auth)
    ).status_code == 200


async def test_style_change_after_images_needs_confirmation(
    client: httpx.AsyncClient, auth: dict[str, str], sessions: async_sessionmaker[AsyncSession]
) -> None:
    pid = (await create_project(client, auth))["id"]
    await set_style(client, auth, pid, "noir")
    asset = await create_asset(client, auth, pid)
    async with sessions() as s:
        s.add(
            AssetAttempt(
                id=uuid.uuid4(),
                asset_id=asset["id"],
                project_id=pid,
                attempt_number=1,
                source="generated",
                selected=True,
                storage_key="k/x.png",
                width=1,
                height=1,
                mime="image/png",
                bytes=1,
                cost_usd=Decimal(0),
            )
        )
        await s.commit()
    tone = {"manual_tone": {"preset": "anime", "text": "bright"}}
    r = await client.put(f"/v1/projects/{pid}/style", json=tone, headers=auth)
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "style_change_needs_confirmation"
    assert r.json()["error"]["details"] == {"attempts": 1, "assets": 1}
    r = await client.put(f"/v1/projects/{pid}/style", json={**tone, "confirm_impact": True}, headers=auth)
    assert r.status_code == 200
    assert r.json()["style"]["manual_tone"]["preset"] == "anime"
