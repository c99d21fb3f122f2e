"""A scene's asset list: instances made on first read (once, also under concurrency), edits,
use-master-as-is, adding and removing assets."""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import func, select

from shared.models import SceneAssetInstance
from tests.stage8.helpers import Stage8


async def test_first_read_lists_linked_active_and_deferred_assets(s8: Stage8) -> None:
    mara = await s8.asset("Mara")
    ghost = await s8.asset("Ghost ship", "prop", deferred=True)
    await s8.asset("Tom", scenes=(2,))
    ids = await s8.scene_ids()

    items = await s8.instances(ids[1])
    assert {i["name"] for i in items} == {"Mara", "Ghost ship"}  # Tom is not in scene 1
    by_asset = {i["asset_id"]: i for i in items}
    m, g = by_asset[mara], by_asset[ghost]
    assert (m["deferred"], g["deferred"]) == (False, True)
    assert m["scene_id"] == ids[1]
    assert m["scene_number"] == 1
    assert m["visual_state"] == ""
    assert m["use_master_as_is"] is True
    # No master image anywhere yet: nothing to start from, and a request about it still works.
    assert (m["reference"], m["image"], m["attempt_count"]) == (None, None, 0)
    assert m["description"] == "Mara, as written."
    assert m["required"] is False  # a manual character was not marked priority by extraction
    again = await s8.instances(ids[1])
    assert {i["id"] for i in again} == {i["id"] for i in items}  # same instances, not new ones


async def test_parallel_first_reads_create_one_instance_per_asset_and_scene(s8: Stage8) -> None:
    for name in ("Mara", "Tom", "Lamp", "Net"):
        await s8.asset(name)
    ids = await s8.scene_ids()
    results = await asyncio.gather(*(s8.instances(ids[n]) for n in (1, 2, 3) for _ in range(6)))
    for n in (1, 2, 3):
        seen = {frozenset(i["id"] for i in r) for r in results if r[0]["scene_number"] == n}
        assert len(seen) == 1  # every reader of a scene saw the same four instances
    async with s8.sessions() as s:
        assert await s.scalar(select(func.count(SceneAssetInstance.id))) == 12


async def test_patch_instance_fields_and_version(s8: Stage8) -> None:
    mara = await s8.asset("Mara")
    ids = await s8.scene_ids()
    inst = await s8.instance(ids[2], mara)
    url = s8.url(ids[2], inst["id"])
    r = await s8.env.client.patch(
        url,
        json={"visual_state": "Soaked, coat torn", "use_master_as_is": False, "required": True, "version": 1},
        headers=s8.auth,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["visual_state"], body["use_master_as_is"], body["required"], body["version"]) == (
        "Soaked, coat torn",
        False,
        True,
        2,
    )
    stale = await s8.env.client.patch(url, json={"generate_later": True, "version": 1}, headers=s8.auth)
    assert stale.status_code == 409
    assert stale.json()["error"]["code"] == "version_conflict"
    back = await s8.env.client.patch(url, json={"required": None}, headers=s8.auth)
    assert back.json()["required"] is False  # back to the default rule
    assert (await s8.instance(ids[2], mara))["visual_state"] == "Soaked, coat torn"
    other_scene = await s8.env.client.patch(s8.url(ids[1], inst["id"]), json={}, headers=s8.auth)
    assert other_scene.status_code == 404  # an instance is addressed through its own scene


async def test_use_master_in_bulk(s8: Stage8) -> None:
    a, b = await s8.asset("Mara"), await s8.asset("Tom")
    ids = await s8.scene_ids()
    insts = [await s8.instance(ids[1], x) for x in (a, b)]
    for i in insts:
        await s8.env.client.patch(s8.url(ids[1], i["id"]), json={"use_master_as_is": False}, headers=s8.auth)
    bulk = f"{s8.base}/scenes/{ids[1]}/assets/use-master"
    foreign = await s8.env.client.post(
        bulk, json={"instance_ids": [insts[0]["id"], str(uuid.uuid4())]}, headers=s8.auth
    )
    assert foreign.status_code == 404
    assert all(not i["use_master_as_is"] for i in await s8.instances(ids[1]))  # nothing half-done
    r = await s8.env.client.post(bulk, json={"instance_ids": [i["id"] for i in insts]}, headers=s8.auth)
    assert r.status_code == 200, r.text
    assert all(i["use_master_as_is"] for i in r.json()["items"])


async def test_add_existing_deferred_and_new_scene_asset(s8: Stage8) -> None:
    ghost = await s8.asset("Ghost ship", "prop", scenes=(), deferred=True)
    ids = await s8.scene_ids()
    add = f"{s8.base}/scenes/{ids[3]}/assets"
    r = await s8.env.client.post(add, json={"asset_id": ghost}, headers=s8.auth)
    assert r.status_code == 201, r.text
    assert (r.json()["name"], r.json()["deferred"]) == ("Ghost ship", True)
    again = await s8.env.client.post(add, json={"asset_id": ghost}, headers=s8.auth)
    assert again.status_code == 200
    assert again.json()["id"] == r.json()["id"]

    new = await s8.env.client.post(
        add,
        json={"new": {"name": "Broken oar", "type": "prop", "description": "Snapped in two."}},
        headers=s8.auth,
    )
    assert new.status_code == 201, new.text
    oar = new.json()["asset_id"]
    asset = (await s8.env.client.get(f"{s8.base}/assets/{oar}", headers=s8.auth)).json()
    assert (asset["source"], asset["scene_numbers"], asset["description"]) == (
        "manual",
        [3],
        "Snapped in two.",
    )
    ghost_asset = (await s8.env.client.get(f"{s8.base}/assets/{ghost}", headers=s8.auth)).json()
    assert ghost_asset["scene_numbers"] == [3]
    scene3 = next(s for s in await s8.scenes() if s["number"] == 3)
    deps = {d["name"]: d["source"] for d in scene3["dependencies"]["prop"]}
    assert deps == {"Ghost ship": "stage8", "Broken oar": "stage8"}

    both = await s8.env.client.post(
        add, json={"asset_id": ghost, "new": {"name": "x", "type": "prop"}}, headers=s8.auth
    )
    assert both.status_code == 422
    foreign = await s8.env.client.post(add, json={"asset_id": str(uuid.uuid4())}, headers=s8.auth)
    assert foreign.status_code == 404


async def test_remove_from_scene_keeps_asset_and_images(s8: Stage8) -> None:
    mara = await s8.asset("Mara")
    ids = await s8.scene_ids()
    inst = await s8.instance(ids[2], mara)
    attempt = await s8.add_image(inst["id"])
    keys = await s8.env.keys()
    assert len(keys) == 2

    r = await s8.env.client.delete(s8.url(ids[2], inst["id"]), headers=s8.auth)
    assert r.status_code == 204
    assert [i for i in await s8.instances(ids[2]) if i["asset_id"] == mara] == []
    asset = (await s8.env.client.get(f"{s8.base}/assets/{mara}", headers=s8.auth)).json()
    assert asset["scene_numbers"] == [1, 3]  # the global asset stays, out of scene 2 only
    scene2 = next(s for s in await s8.scenes() if s["number"] == 2)
    assert scene2["dependencies"]["character"] == []
    assert await s8.env.keys() == keys  # images kept until the purge
    assert (await s8.env.client.delete(s8.url(ids[2], inst["id"]), headers=s8.auth)).status_code == 404

    back = await s8.env.client.post(
        f"{s8.base}/scenes/{ids[2]}/assets", json={"asset_id": mara}, headers=s8.auth
    )
    assert back.status_code == 201
    assert (back.json()["id"], back.json()["attempt_count"]) == (inst["id"], 1)
    assert back.json()["image"] is not None
    assert back.json()["image"]["attempt_id"] == attempt


async def test_racing_adds_and_removes_never_fail(s8: Stage8) -> None:
    mara = await s8.asset("Mara")
    ids = await s8.scene_ids()
    iid = (await s8.instance(ids[2], mara))["id"]
    add = f"{s8.base}/scenes/{ids[2]}/assets"
    calls = [
        s8.env.client.post(add, json={"asset_id": mara}, headers=s8.auth)
        if n % 2
        else s8.env.client.delete(s8.url(ids[2], iid), headers=s8.auth)
        for n in range(12)
    ]
    results = await asyncio.gather(*calls)
    assert {r.status_code for r in results} <= {200, 201, 204, 404}
    r = await s8.env.client.post(add, json={"asset_id": mara}, headers=s8.auth)
    assert r.json()["id"] == iid  # still the one instance of Mara in scene 2
