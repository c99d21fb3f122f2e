from __future__ import annotations

from datetime import UTC, datetime

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.models import Project
from tests.support.factories import create_asset, create_project, put_script


async def test_manual_asset_lifecycle(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    pid = (await create_project(client, auth))["id"]
    assert (await put_script(client, auth, pid)).status_code == 201
    a = await create_asset(
        client, auth, pid, name="Brass telescope", type="prop", scene_numbers=[2, 3], aliases=["spyglass"]
    )
    assert a["source"] == "manual"
    assert a["scene_numbers"] == [2, 3]
    assert a["image"] is None
    assert a["attempt_count"] == 0
    assert a["described"] is True

    r = await client.patch(
        f"/v1/projects/{pid}/assets/{a['id']}",
        json={"description": "Polished brass.", "scene_numbers": [1], "version": a["version"]},
        headers=auth,
    )
    assert r.status_code == 200, r.text
    assert r.json()["description"] == "Polished brass."
    assert r.json()["scene_numbers"] == [1]
    assert r.json()["version"] == a["version"] + 1

    stale = await client.patch(
        f"/v1/projects/{pid}/assets/{a['id']}",
        json={"name": "Old edit", "version": a["version"]},
        headers=auth,
    )
    assert stale.status_code == 409
    assert stale.json()["error"]["code"] == "version_conflict"

    r = await client.patch(f"/v1/projects/{pid}/assets/{a['id']}", json={"scene_numbers": [99]}, headers=auth)
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "unknown_scene"

    assert (await client.delete(f"/v1/projects/{pid}/assets/{a['id']}", headers=auth)).status_code == 204
    assert (await client.get(f"/v1/projects/{pid}/assets/{a['id']}", headers=auth)).status_code == 404


async def test_defer_restore_and_filters(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    pid = (await create_project(client, auth))["id"]
    await put_script(client, auth, pid)
    mara = await create_asset(client, auth, pid, name="Mara", type="character", scene_numbers=[1, 3])
    lamp = await create_asset(client, auth, pid, name="Great lamp", type="prop", scene_numbers=[1])
    await create_asset(client, auth, pid, name="Lighthouse", type="location", scene_numbers=[1, 3])

    r = await client.post(f"/v1/projects/{pid}/assets/{lamp['id']}/defer", headers=auth)
    assert r.json()["deferred"] is True
    assert r.json()["scene_numbers"] == [1]  # scene info kept while deferred

    def names(resp: httpx.Response) -> list[str]:
        return [x["name"] for x in resp.json()["items"]]

    assert names(await client.get(f"/v1/projects/{pid}/assets", headers=auth)) == ["Mara", "Lighthouse"]
    assert names(await client.get(f"/v1/projects/{pid}/assets?status=deferred", headers=auth)) == [
        "Great lamp"
    ]
    assert len(names(await client.get(f"/v1/projects/{pid}/assets?status=all", headers=auth))) == 3
    assert names(await client.get(f"/v1/projects/{pid}/assets?type=character", headers=auth)) == ["Mara"]

    r = await client.post(f"/v1/projects/{pid}/assets/{lamp['id']}/restore", headers=auth)
    assert r.json()["asset"]["deferred"] is False
    assert r.json()["job"] is None  # written by hand, so there is no description pass to run
    assert "Great lamp" in names(await client.get(f"/v1/projects/{pid}/assets", headers=auth))

    scenes = (await client.get(f"/v1/projects/{pid}/scenes", headers=auth)).json()["items"]
    first = scenes[0]["dependencies"]
    assert [d["name"] for d in first["character"]] == ["Mara"]
    assert [d["name"] for d in first["location"]] == ["Lighthouse"]
    assert [d["name"] for d in first["prop"]] == ["Great lamp"]
    assert scenes[1]["dependencies"]["character"] == []
    assert mara["id"] in [d["asset_id"] for d in scenes[2]["dependencies"]["character"]]


async def test_stage_lock_blocks_asset_writes(
    client: httpx.AsyncClient, auth: dict[str, str], sessions: async_sessionmaker[AsyncSession]
) -> None:
    pid = (await create_project(client, auth))["id"]
    a = await create_asset(client, auth, pid)
    async with sessions() as s:
        await s.execute(update(Project).where(Project.id == pid).values(stage5_locked_at=datetime.now(UTC)))
        await s.commit()
    for method, path, body in [
        ("POST", f"/v1/projects/{pid}/assets", {"name": "New", "type": "prop"}),
        ("PATCH", f"/v1/projects/{pid}/assets/{a['id']}", {"name": "Renamed"}),
        ("DELETE", f"/v1/projects/{pid}/assets/{a['id']}", None),
        ("POST", f"/v1/projects/{pid}/assets/{a['id']}/defer", None),
    ]:
        r = await client.request(method, path, json=body, headers=auth)
        assert r.status_code == 409, (method, path)
        assert r.json()["error"]["code"] == "stage_locked"
    assert (await client.get(f"/v1/projects/{pid}/assets/{a['id']}", headers=auth)).json()["name"] == a[
        "name"
    ]


async def test_manual_links_survive_a_new_script_version(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    pid = (await create_project(client, auth))["id"]
    await put_script(client, auth, pid)
    a = await create_asset(client, auth, pid, scene_numbers=[2])
    from tests.support.factories import SMALL_SCRIPT

    r = await put_script(client, auth, pid, SMALL_SCRIPT + "\nEXT. CLIFF - NIGHT\n\nWind howls.\n")
    assert r.status_code == 201
    assert r.json()["version"] == 2
    assert r.json()["scene_count"] == 4
    got = (await client.get(f"/v1/projects/{pid}/assets/{a['id']}", headers=auth)).json()
    assert got["scene_numbers"] == [2]
