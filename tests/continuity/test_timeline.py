"""The asset timeline: the asset across a 300-scene script in one request (statements independent
of the number of scenes), where each scene's image comes from, and the repair of broken links."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete

from shared.db import session_scope
from shared.models import SceneInstanceAttempt
from shared.stage8.remap import remap_instances
from tests.continuity.conftest import StatementCounter
from tests.stage8.helpers import Stage8, script


def long_script(n: int) -> str:
    return script(*(f"{'INT' if i % 2 else 'EXT'}. PLACE {i} - DAY" for i in range(1, n + 1)))


async def timeline(s8: Stage8, aid: str) -> dict[str, Any]:
    r = await s8.env.client.get(f"{s8.base}/assets/{aid}/timeline", headers=s8.auth)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_timeline_of_300_scenes_in_order_with_sources_in_constant_statements(
    s8: Stage8, statements: StatementCounter
) -> None:
    r = await s8.env.client.put(f"{s8.base}/script", json={"text": long_script(300)}, headers=s8.auth)
    assert r.status_code == 201, r.text
    mara = await s8.asset("Mara", scenes=(2, 3, 150, 151, 300))
    ids = await s8.scene_ids()
    # Scene 3 gets its own image, 150 a visual state; 151 keeps use-master-as-is.
    own3 = (await s8.instance(ids[3], mara))["id"]
    shot = await s8.add_image(own3)
    inst150 = await s8.instance(ids[150], mara)
    await s8.env.client.patch(
        s8.url(ids[150], inst150["id"]), json={"visual_state": "Soaked"}, headers=s8.auth
    )
    await s8.env.client.put(
        f"{s8.base}/scenes/{ids[151]}/shots",
        json={
            "shots": [{"number": 1, "camera": "CU", "action": "Mara shivers."}, {"number": 2, "camera": "WS"}]
        },
        headers=s8.auth,
    )

    await statements.start()
    tl = await timeline(s8, mara)
    big = await statements.stop()
    assert 0 < big <= 4  # the lean read's statements, counted at the driver
    scenes = tl["scenes"]
    assert [s["number"] for s in scenes] == list(range(1, 301))
    assert [s["number"] for s in scenes if s["appears"]] == [2, 3, 150, 151, 300]
    by = {s["number"]: s for s in scenes}
    assert (by[2]["image"], by[2]["image_source"]) == (None, None)  # no master, nothing earlier
    assert (by[3]["image_source"], by[3]["image"]["attempt_id"]) == ("generated_here", shot)
    assert (by[150]["image_source"], by[150]["inherited_from_scene"], by[150]["visual_state"]) == (
        "inherited",
        3,
        "Soaked",
    )
    assert by[151]["shots"] == [1]
    assert (by[1]["appears"], by[1]["image"]) == (False, None)
    assert tl["broken"] == []

    # An asset of a 3-scene project: the same number of statements.
    small = await Stage8.create(s8.env, s8.auth, s8.sessions)
    tom = await small.asset("Tom")
    await small.instance((await small.scene_ids())[1], tom)  # instances made, as in the big one
    await statements.start()
    await timeline(small, tom)
    assert await statements.stop() == big


async def test_repair_fixes_a_pin_to_a_deleted_image_and_a_vanished_scene(s8: Stage8) -> None:
    mara = await s8.asset("Mara")
    ids = await s8.scene_ids()
    first = (await s8.instance(ids[1], mara))["id"]
    pinned_image = await s8.add_image(first)
    third = (await s8.instance(ids[3], mara))["id"]
    r = await s8.env.client.put(
        s8.url(ids[3], third, "/reference"), json={"attempt_id": pinned_image}, headers=s8.auth
    )
    assert r.status_code == 200, r.text
    # The image goes behind the chain's back (as a purge or a crash could leave it).
    async with session_scope(s8.sessions) as s:
        await s.execute(
            delete(SceneInstanceAttempt).where(SceneInstanceAttempt.id == uuid.UUID(pinned_image))
        )
    tl = await timeline(s8, mara)
    assert [(b["scene_number"], b["problem"]) for b in tl["broken"]] == [(3, "reference_deleted")]

    r = await s8.env.client.post(f"{s8.base}/assets/{mara}/timeline/repair", headers=s8.auth)
    assert r.status_code == 200, r.text
    assert [b["problem"] for b in r.json()["fixed"]] == ["reference_deleted"]
    assert r.json()["timeline"]["broken"] == []
    inst = await s8.instance(ids[3], mara)
    assert inst["reference_pinned"] is False

    # A new script version without the harbour scene: its instance's scene vanished.
    await s8.instance(ids[2], mara)
    old_script = (await s8.env.client.get(f"{s8.base}/script", headers=s8.auth)).json()["id"]
    r = await s8.env.client.put(
        f"{s8.base}/script",
        json={
            "text": script("INT. LIGHTHOUSE - LANTERN ROOM - NIGHT", "INT. LIGHTHOUSE - STAIRS - CONTINUOUS")
        },
        headers=s8.auth,
    )
    assert r.status_code == 201, r.text
    async with session_scope(s8.sessions) as s:  # what a new script version does for Stage 8
        await remap_instances(s, old_script_id=uuid.UUID(old_script), new_script_id=uuid.UUID(r.json()["id"]))
    tl = await timeline(s8, mara)
    assert [(b["scene_number"], b["problem"]) for b in tl["broken"]] == [(2, "scene_vanished")]
    r = await s8.env.client.post(f"{s8.base}/assets/{mara}/timeline/repair", headers=s8.auth)
    assert r.json()["timeline"]["broken"] == []
    r = await s8.env.client.get(f"{s8.base}/stages/8/readiness", headers=s8.auth)
    assert r.json()["stale"] == []  # detached, kept with their images until the purge


async def test_timeline_of_a_foreign_asset_is_404(s8: Stage8) -> None:
    r = await s8.env.client.get(f"{s8.base}/assets/{uuid.uuid4()}/timeline", headers=s8.auth)
    assert (r.status_code, r.json()["error"]["code"]) == (404, "not_found")
