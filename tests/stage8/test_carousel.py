"""The instance carousel: cap with eviction, numbers never reused, select (one selected under
concurrency), delete (selected or not), promote under the Stage 5 lock."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update

from shared.models import Project, SceneInstanceAttempt
from tests.stage8.helpers import Stage8


async def carousel(s8: Stage8, sid: str, iid: str) -> list[dict[str, Any]]:
    r = await s8.env.client.get(s8.url(sid, iid, "/attempts"), headers=s8.auth)
    assert r.status_code == 200, r.text
    assert r.json()["cap"] == 4
    return list(r.json()["items"])


async def stored_keys(s8: Stage8) -> set[str]:
    async with s8.sessions() as s:
        rows = (
            await s.execute(select(SceneInstanceAttempt.storage_key, SceneInstanceAttempt.thumbnail_key))
        ).all()
    return {k for row in rows for k in row if k}


async def test_cap_evicts_oldest_unselected_and_numbers_never_repeat(s8: Stage8) -> None:
    mara = await s8.asset("Mara")
    ids = await s8.scene_ids()
    iid = (await s8.instance(ids[1], mara))["id"]
    first = await s8.add_image(iid, (1, 0, 0))
    for n in range(2, 5):
        await s8.add_image(iid, (n, 0, 0))
    r = await s8.env.client.post(s8.url(ids[1], iid, f"/attempts/{first}/select"), headers=s8.auth)
    assert r.status_code == 200, r.text
    await s8.add_image(iid, (5, 0, 0))  # the cap: #2 goes, #1 is the user's pick
    items = await carousel(s8, ids[1], iid)
    assert [(a["attempt_number"], a["selected"]) for a in items] == [
        (5, True),
        (4, False),
        (3, False),
        (1, False),
    ]
    assert await s8.env.keys() == await stored_keys(s8)  # the evicted files went with their row
    newest = items[0]["id"]
    assert (
        await s8.env.client.delete(s8.url(ids[1], iid, f"/attempts/{newest}"), headers=s8.auth)
    ).status_code == 204
    await s8.add_image(iid, (6, 0, 0))
    assert [a["attempt_number"] for a in await carousel(s8, ids[1], iid)] == [6, 4, 3, 1]  # 5 is not reused


async def test_select_makes_own_image_and_delete_selected_leaves_none(s8: Stage8) -> None:
    mara = await s8.asset("Mara")
    ids = await s8.scene_ids()
    iid = (await s8.instance(ids[2], mara))["id"]
    older = await s8.add_image(iid)
    newer = await s8.add_image(iid)
    inst = await s8.instance(ids[2], mara)
    assert (inst["use_master_as_is"], inst["image"]["attempt_id"], inst["attempt_count"]) == (False, newer, 2)
    await s8.env.client.patch(s8.url(ids[2], iid), json={"use_master_as_is": True}, headers=s8.auth)
    r = await s8.env.client.post(s8.url(ids[2], iid, f"/attempts/{older}/select"), headers=s8.auth)
    assert [(a["id"], a["selected"]) for a in r.json()["items"]] == [(newer, False), (older, True)]
    inst = await s8.instance(ids[2], mara)
    assert (inst["use_master_as_is"], inst["image"]["attempt_id"]) == (
        False,
        older,
    )  # selecting turns as-is off

    assert (
        await s8.env.client.delete(s8.url(ids[2], iid, f"/attempts/{older}"), headers=s8.auth)
    ).status_code == 204
    inst = await s8.instance(ids[2], mara)
    assert (inst["image"], inst["attempt_count"]) == (None, 1)  # nothing promoted in its place
    assert [a["selected"] for a in await carousel(s8, ids[2], iid)] == [False]
    assert len(await s8.env.keys()) == 2


async def test_parallel_selects_keep_one_selected(s8: Stage8) -> None:
    mara = await s8.asset("Mara")
    ids = await s8.scene_ids()
    iid = (await s8.instance(ids[1], mara))["id"]
    attempts = [await s8.add_image(iid, (n, n, n)) for n in range(4)]
    results = await asyncio.gather(
        *(
            s8.env.client.post(s8.url(ids[1], iid, f"/attempts/{a}/select"), headers=s8.auth)
            for a in attempts * 3
        )
    )
    assert {r.status_code for r in results} == {200}
    assert sum(a["selected"] for a in await carousel(s8, ids[1], iid)) == 1


async def test_foreign_attempts_are_not_found(s8: Stage8) -> None:
    mara, tom = await s8.asset("Mara"), await s8.asset("Tom")
    ids = await s8.scene_ids()
    m = (await s8.instance(ids[1], mara))["id"]
    t = (await s8.instance(ids[1], tom))["id"]
    toms = await s8.add_image(t)
    for method, tail in (("post", "/select"), ("delete", ""), ("post", "/promote")):
        r = await s8.env.client.request(method, s8.url(ids[1], m, f"/attempts/{toms}{tail}"), headers=s8.auth)
        assert r.status_code == 404, (method, tail, r.text)
        r = await s8.env.client.request(
            method, s8.url(ids[1], m, f"/attempts/{uuid.uuid4()}{tail}"), headers=s8.auth
        )
        assert r.status_code == 404


async def test_promote_respects_the_stage5_lock(s8: Stage8) -> None:
    mara = await s8.asset("Mara")
    ids = await s8.scene_ids()
    iid = (await s8.instance(ids[1], mara))["id"]
    attempt = await s8.add_image(iid)
    async with s8.sessions() as s:
        await s.execute(
            update(Project).where(Project.id == uuid.UUID(s8.pid)).values(stage5_locked_at=datetime.now(UTC))
        )
        await s.commit()
    r = await s8.env.client.post(s8.url(ids[1], iid, f"/attempts/{attempt}/promote"), headers=s8.auth)
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "stage_locked"
    assert await s8.env.attempts(s8.auth, s8.pid, mara) == []
