"""The reference chain: master first, then earlier scenes in the current script's order; default
to the most recent; pins limited to the chain; a reorder changes what "earlier" means."""

from __future__ import annotations

import uuid
from typing import Any

from tests.stage8.helpers import HARBOUR, LANTERN, STAIRS, Stage8, script
from tests.support.factories import put_script


async def chain(s8: Stage8, sid: str, iid: str, **params: Any) -> dict[str, Any]:
    r = await s8.env.client.get(s8.url(sid, iid, "/reference-chain"), params=params, headers=s8.auth)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def pin(s8: Stage8, sid: str, iid: str, attempt_id: str | None) -> Any:
    return await s8.env.client.put(
        s8.url(sid, iid, "/reference"), json={"attempt_id": attempt_id}, headers=s8.auth
    )


async def test_deferred_asset_across_three_scenes(s8: Stage8) -> None:
    ghost = await s8.asset("Ghost ship", "prop", deferred=True)
    ids = await s8.scene_ids()
    first, second, third = [await s8.instance(ids[n], ghost) for n in (1, 2, 3)]
    # Deferred: no master, so nothing to start from anywhere yet; the list still answers.
    assert [i["reference"] for i in (first, second, third)] == [None, None, None]

    one = await s8.add_image(first["id"], (10, 10, 200))
    second, third = await s8.instance(ids[2], ghost), await s8.instance(ids[3], ghost)
    assert (await s8.instance(ids[1], ghost))["reference"] is None  # its first scene: still nothing before it
    assert second["reference"]["attempt_id"] == one
    assert second["reference"]["kind"] == "instance"
    assert second["reference"]["scene_number"] == 1
    assert second["image"]["attempt_id"] == one  # use-as-is: the effective image is the reference
    assert third["reference"]["attempt_id"] == one

    two = await s8.add_image(second["id"], (10, 200, 10))
    third = await s8.instance(ids[3], ghost)
    assert (third["reference"]["attempt_id"], third["reference"]["scene_number"]) == (
        two,
        2,
    )  # the most recent
    c = await chain(s8, ids[3], third["id"])
    assert [(i["kind"], i["scene_number"], i["attempt_id"]) for i in c["items"]] == [
        ("instance", 1, one),
        ("instance", 2, two),
    ]
    assert [i["default"] for i in c["items"]] == [False, True]
    assert c["items"][0]["heading"] == LANTERN


async def test_master_first_then_scenes_and_rearview_attempts(s8: Stage8) -> None:
    mara = await s8.asset("Mara")
    await s8.env.generate(s8.auth, s8.pid, mara)
    assert await s8.env.run() == 1
    [master] = await s8.env.attempts(s8.auth, s8.pid, mara)
    ids = await s8.scene_ids()
    first = await s8.instance(ids[1], mara)
    assert (first["reference"]["kind"], first["reference"]["attempt_id"]) == ("master", master["id"])
    assert first["image"]["attempt_id"] == master["id"]  # as-is: no generation needed, nothing copied

    kept = await s8.add_image(first["id"], (1, 1, 1))
    chosen = await s8.add_image(first["id"], (2, 2, 2))
    third = await s8.instance(ids[3], mara)
    c = await chain(s8, ids[3], third["id"])
    assert [i["attempt_id"] for i in c["items"]] == [master["id"], chosen]  # scene 2 has no image: skipped
    assert c["default_attempt_id"] == chosen
    assert c["current"]["attempt_id"] == chosen
    rear = await chain(s8, ids[3], third["id"], all_attempts="true")
    assert [(i["attempt_id"], i["selected"]) for i in rear["items"]] == [
        (master["id"], True),
        (chosen, True),
        (kept, False),
    ]

    # Pick the master, then an unselected earlier attempt (the rearview mirror), then the default again.
    r = await pin(s8, ids[3], third["id"], master["id"])
    assert r.status_code == 200, r.text
    assert r.json()["current"]["attempt_id"] == master["id"]
    assert (await s8.instance(ids[3], mara))["reference_pinned"] is True
    r = await pin(s8, ids[3], third["id"], kept)
    assert r.json()["current"]["attempt_id"] == kept
    inst = await s8.instance(ids[3], mara)
    assert (inst["reference"]["attempt_id"], inst["image"]["attempt_id"]) == (kept, kept)
    r = await pin(s8, ids[3], third["id"], None)
    assert r.json()["current"]["attempt_id"] == chosen

    # Promote a scene image: it becomes the asset's new master, under the Stage 5 rules.
    r = await s8.env.client.post(s8.url(ids[1], first["id"], f"/attempts/{kept}/promote"), headers=s8.auth)
    assert r.status_code == 201, r.text
    masters = await s8.env.attempts(s8.auth, s8.pid, mara)
    assert [(a["source"], a["selected"]) for a in masters] == [("cloned", True), ("generated", False)]
    assert (await chain(s8, ids[2], (await s8.instance(ids[2], mara))["id"]))["items"][0][
        "attempt_id"
    ] == r.json()["id"]
    assert await s8.env.download(r.json()["image_url"])


async def test_reference_outside_the_chain_is_refused(s8: Stage8) -> None:
    mara, tom = await s8.asset("Mara"), await s8.asset("Tom")
    ids = await s8.scene_ids()
    m1, m2, m3 = [await s8.instance(ids[n], mara) for n in (1, 2, 3)]
    t1 = await s8.instance(ids[1], tom)
    later = await s8.add_image(m3["id"])
    own = await s8.add_image(m2["id"])
    other_asset = await s8.add_image(t1["id"])
    for attempt_id in (later, own, other_asset, str(uuid.uuid4())):
        r = await pin(s8, ids[2], m2["id"], attempt_id)
        assert r.status_code == 422, (attempt_id, r.text)
        assert r.json()["error"]["code"] == "reference_not_in_chain"
    extra = await s8.env.client.put(
        s8.url(ids[2], m2["id"], "/reference"), json={"attempt_id": None, "scene": 1}, headers=s8.auth
    )
    assert extra.status_code == 422
    assert extra.json()["error"]["code"] == "validation_error"
    assert m1["reference"] is None


async def test_reordered_scenes_change_the_default_reference(s8: Stage8) -> None:
    mara = await s8.asset("Mara")
    ids = await s8.scene_ids()
    lantern, harbour, stairs = [await s8.instance(ids[n], mara) for n in (1, 2, 3)]
    from_lantern = await s8.add_image(lantern["id"], (9, 9, 9))
    from_harbour = await s8.add_image(harbour["id"], (99, 99, 99))
    assert (await s8.instance(ids[3], mara))["reference"]["attempt_id"] == from_harbour
    pinned = await pin(s8, ids[3], stairs["id"], from_harbour)
    assert pinned.status_code == 200

    r = await put_script(s8.env.client, s8.auth, s8.pid, script(LANTERN, STAIRS, HARBOUR))  # stairs moved up
    assert r.status_code == 201, r.text
    # The new version's scenes took the instances over in the same request (re-link + remap).

    new_ids = await s8.scene_ids()
    stairs_now = await s8.instance(new_ids[2], mara)
    assert stairs_now["id"] == stairs["id"]  # the same instance, now scene 2
    assert stairs_now["scene_number"] == 2
    # Harbour is now *after* the stairs: its image left the chain, the pin falls back to the default.
    assert (stairs_now["reference"]["attempt_id"], stairs_now["reference_pinned"]) == (from_lantern, False)
    harbour_now = await s8.instance(new_ids[3], mara)
    assert (harbour_now["id"], harbour_now["image"]["attempt_id"]) == (harbour["id"], from_harbour)
    assert harbour_now["reference"]["attempt_id"] == from_lantern  # stairs has no image of its own
    old_scene = await s8.env.client.get(f"{s8.base}/scenes/{ids[1]}/assets", headers=s8.auth)
    assert old_scene.status_code == 409
    assert old_scene.json()["error"]["code"] == "scene_not_current"


async def test_vanished_scene_leaves_a_stale_instance(s8: Stage8) -> None:
    mara = await s8.asset("Mara")
    ids = await s8.scene_ids()
    lantern, harbour, stairs = [await s8.instance(ids[n], mara) for n in (1, 2, 3)]
    await s8.add_image(harbour["id"])
    r = await put_script(s8.env.client, s8.auth, s8.pid, script(LANTERN, STAIRS))
    assert r.status_code == 201, r.text
    ready = (await s8.env.client.get(f"{s8.base}/stages/8/readiness", headers=s8.auth)).json()
    assert [(x["instance_id"], x["last_heading"], x["attempt_count"]) for x in ready["stale"]] == [
        (harbour["id"], HARBOUR, 1)
    ]
    assert len(await s8.env.keys()) == 2  # its image is kept
    new_ids = await s8.scene_ids()
    assert [(await s8.instance(new_ids[n], mara))["id"] for n in (1, 2)] == [lantern["id"], stairs["id"]]
