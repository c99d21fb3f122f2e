"""The Stage 8 gate: readiness per scene, lock refused with blockers or while Stage 5 is unlocked,
instance writes refused while locked, unlock always works."""

from __future__ import annotations

from typing import Any

from tests.stage8.helpers import Stage8


async def readiness(s8: Stage8) -> dict[str, Any]:
    r = await s8.env.client.get(f"{s8.base}/stages/8/readiness", headers=s8.auth)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_priority_characters_block_until_they_have_an_image(s8: Stage8) -> None:
    mara = await s8.asset("Mara")
    await s8.set_priority(mara)
    await s8.asset("Tom", scenes=(2,))  # a character, but not priority: optional
    lamp = await s8.asset("Lamp", "prop", scenes=(1,))
    await s8.set_priority(lamp)  # a priority prop is still optional by default
    ids = await s8.scene_ids()

    state = await readiness(s8)  # counts every linked instance, even of scenes never opened
    assert (state["instances"], state["required"], state["blocking"], state["ready"]) == (5, 3, 3, False)
    assert [(s["number"], [b["name"] for b in s["blockers"]]) for s in state["scenes"]] == [
        (1, ["Mara"]),
        (2, ["Mara"]),
        (3, ["Mara"]),
    ]
    lock = await s8.env.client.post(f"{s8.base}/stages/8/lock", headers=s8.auth)
    assert lock.status_code == 409
    assert lock.json()["error"]["code"] == "stage5_unlocked"
    assert (await s8.env.client.post(f"{s8.base}/stages/5/lock", headers=s8.auth)).status_code == 200
    lock = await s8.env.client.post(f"{s8.base}/stages/8/lock", headers=s8.auth)
    assert lock.status_code == 409
    assert lock.json()["error"]["code"] == "stage8_blocked"
    assert lock.json()["error"]["details"]["blocking"] == 3

    # An image in scene 1 is the default reference of scenes 2 and 3 (used as-is): all three clear.
    first = await s8.instance(ids[1], mara)
    await s8.add_image(first["id"])
    assert (await readiness(s8))["blocking"] == 0
    # Scene 3 wants its own image and has none: it blocks again, until marked generate-later.
    third = await s8.instance(ids[3], mara)
    await s8.env.client.patch(s8.url(ids[3], third["id"]), json={"use_master_as_is": False}, headers=s8.auth)
    state = await readiness(s8)
    assert [(s["number"], s["blockers"][0]["instance_id"]) for s in state["scenes"]] == [(3, third["id"])]
    await s8.env.client.patch(s8.url(ids[3], third["id"]), json={"generate_later": True}, headers=s8.auth)
    assert (await readiness(s8))["ready"] is True

    lock = await s8.env.client.post(f"{s8.base}/stages/8/lock", headers=s8.auth)
    assert lock.status_code == 200, lock.text
    assert lock.json()["locked_at"] is not None
    writes = [
        ("patch", s8.url(ids[1], first["id"]), {"visual_state": "x"}),
        ("delete", s8.url(ids[1], first["id"]), None),
        ("post", f"{s8.base}/scenes/{ids[1]}/assets", {"new": {"name": "Oar", "type": "prop"}}),
        ("post", f"{s8.base}/scenes/{ids[1]}/assets/use-master", {"instance_ids": [first["id"]]}),
        ("put", s8.url(ids[3], third["id"], "/reference"), {"attempt_id": None}),
    ]
    for method, url, body in writes:
        r = await s8.env.client.request(method, url, json=body, headers=s8.auth)
        assert (r.status_code, r.json()["error"]["code"]) == (409, "stage_locked"), (method, url)
    attempt = (await s8.instance(ids[1], mara))["image"]["attempt_id"]
    for method, tail in (("post", "/select"), ("delete", "")):
        r = await s8.env.client.request(
            method, s8.url(ids[1], first["id"], f"/attempts/{attempt}{tail}"), headers=s8.auth
        )
        assert r.status_code == 409
        assert r.json()["error"]["code"] == "stage_locked"
    assert len(await s8.instances(ids[1])) == 2  # reads still work

    r = await s8.env.client.post(f"{s8.base}/stages/8/unlock", headers=s8.auth)
    assert (r.status_code, r.json()["locked_at"]) == (200, None)
    r = await s8.env.client.patch(s8.url(ids[1], first["id"]), json={"visual_state": "x"}, headers=s8.auth)
    assert r.status_code == 200


async def test_required_override_and_deferred_first_scene(s8: Stage8) -> None:
    ghost = await s8.asset("Ghost ship", "prop", deferred=True)
    ids = await s8.scene_ids()
    first = await s8.instance(ids[1], ghost)
    r = await s8.env.client.patch(s8.url(ids[1], first["id"]), json={"required": True}, headers=s8.auth)
    assert r.json()["required"] is True
    state = await readiness(s8)
    assert [(s["number"], s["blockers"][0]["name"]) for s in state["scenes"]] == [(1, "Ghost ship")]
    assert state["stale"] == []
