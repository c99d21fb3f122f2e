"""The timeline's lean read (services/api/lean.py) answers exactly what the full handler does: the
same bytes for every caller, over an asset whose chain has every kind of scene (generated here,
inherited, pinned to an earlier image or to the master, broken, stale), and the refusals."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.config import Settings
from shared.db import session_scope
from shared.models import AssetAttempt, SceneInstanceAttempt
from shared.stage8.remap import remap_instances
from tests.attempts.helpers import Env, make_env
from tests.continuity.conftest import StatementCounter
from tests.continuity.test_timeline import long_script
from tests.stage8.helpers import Stage8, script
from tests.support.lean import assert_same_answers, callers


@pytest.fixture
async def full(settings: Settings, env: Env, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The same app on the same storage with every lean path off."""
    overrides = {"lean_reads": False, "storage_local_dir": env.settings.storage_local_dir}
    async with make_env(settings, tmp_path, overrides=overrides) as e:
        yield e.client


async def _master(s8: Stage8, aid: str, prompt: str) -> str:
    """A selected Stage 5 image made from ``prompt``."""
    attempt = AssetAttempt(
        asset_id=uuid.UUID(aid),
        project_id=uuid.UUID(s8.pid),
        attempt_number=1,
        source="generated",
        selected=True,
        storage_key=f"projects/{s8.pid}/assets/{aid}/attempt-1.png",
        thumbnail_key=f"projects/{s8.pid}/assets/{aid}/attempt-1.thumb.webp",
        mime="image/png",
        width=1024,
        height=576,
        bytes=1000,
        prompt_snapshot=prompt,
    )
    async with session_scope(s8.sessions) as s:
        s.add(attempt)
    return str(attempt.id)


async def _patch(s8: Stage8, sid: str, iid: str, **body: object) -> None:
    r = await s8.env.client.patch(s8.url(sid, iid), json=body, headers=s8.auth)
    assert r.status_code == 200, r.text


async def _pin(s8: Stage8, sid: str, iid: str, attempt_id: str) -> None:
    r = await s8.env.client.put(
        s8.url(sid, iid, "/reference"), json={"attempt_id": attempt_id}, headers=s8.auth
    )
    assert r.status_code == 200, r.text


async def test_timeline_answers_as_the_full_handler(
    env: Env,
    full: httpx.AsyncClient,
    auth: dict[str, str],
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    statements: StatementCounter,
) -> None:
    who = callers(settings, auth)
    s8 = await Stage8.create(env, auth, sessions, text=long_script(12))
    ids = await s8.scene_ids()
    mara = await s8.asset("Mara", scenes=(2, 3, 4, 5, 6, 7, 8, 9, 11), aliases=["MARA JONES"])
    master = await _master(s8, mara, "Mara, as written. Wet hair.")
    # Scene 2 loses its image; 3 has its own (selected, so use-master-as-is is off); 4 inherits it
    # with a visual state; 5 is pinned to it; 6 to the master; 7 has an image but is back to as-is;
    # 8 is pinned to an image deleted since; 9 was never listed by Stage 8 (pending).
    inst = {n: (await s8.instance(ids[n], mara))["id"] for n in (2, 3, 4, 5, 6, 7, 8)}
    own3 = await s8.add_image(inst[3])
    await _patch(s8, ids[4], inst[4], visual_state="Soaked")
    await _pin(s8, ids[5], inst[5], own3)
    await _pin(s8, ids[6], inst[6], master)
    await s8.add_image(inst[7], colour=(10, 200, 10))
    await _patch(s8, ids[7], inst[7], use_master_as_is=True)
    doomed = await s8.add_image(inst[2], colour=(10, 10, 200))
    await _pin(s8, ids[8], inst[8], doomed)
    async with session_scope(s8.sessions) as s:
        await s.execute(delete(SceneInstanceAttempt).where(SceneInstanceAttempt.id == uuid.UUID(doomed)))
    r = await env.client.put(
        f"{s8.base}/scenes/{ids[4]}/shots",
        json={
            "shots": [
                {"number": 1, "camera": "CU", "action": "Mara shivers."},
                {"number": 2, "camera": "WS", "assets": ["MARA JONES"]},
                {"number": 3, "camera": "MS", "action": "The harbour."},
            ]
        },
        headers=auth,
    )
    assert r.status_code == 200, r.text
    tom = await s8.asset("Tom", scenes=(1, 12))
    lamp = await s8.asset("Lamp", "prop", scenes=())
    later = await s8.asset("Gull", "prop", scenes=(3,), deferred=True)
    other_pid = await env.project(who["someone else"])
    theirs = await env.asset(who["someone else"], other_pid, name="Theirs", type="prop")
    no_script = await env.project(auth)
    unscripted = await env.asset(auth, no_script, name="Early", type="prop")

    def urls() -> list[str]:
        return [
            *(f"{s8.base}/assets/{a}/timeline" for a in (mara, tom, lamp, later)),
            f"/v1/projects/{no_script}/assets/{unscripted}/timeline",
            f"{s8.base}/assets/{uuid.uuid4()}/timeline",
            f"{s8.base}/assets/{theirs}/timeline",
            f"/v1/projects/{other_pid}/assets/{theirs}/timeline",
            f"{s8.base}/assets/not-a-uuid/timeline",
            f"/v1/projects/not-a-uuid/assets/{mara}/timeline",
        ]

    statuses = await assert_same_answers(env.client, full, urls(), who)
    assert {200, 401, 404, 422} <= statuses

    # What the comparison covered: each image source, pins held and broken, stale marks, shots.
    tl = (await env.client.get(f"{s8.base}/assets/{mara}/timeline", headers=auth)).json()
    by = {s["number"]: s for s in tl["scenes"]}
    assert [(by[n]["image_source"], by[n]["inherited_from_scene"]) for n in range(2, 10)] == [
        (None, None),  # its image deleted, use-master-as-is off
        ("generated_here", None),
        ("inherited", 3),
        ("inherited", 3),  # the pin holds
        ("master", None),
        ("inherited", 3),  # as is: the latest earlier image, not its own
        ("inherited", 7),  # the broken pin falls back to the default
        ("inherited", 7),
    ]
    assert (by[9]["instance_id"], by[9]["visual_state"]) == (None, "")
    assert by[4]["stale"]["reason"] == "description_changed"
    assert by[4]["shots"] == [1, 2]
    assert [(b["scene_number"], b["problem"]) for b in tl["broken"]] == [(8, "reference_deleted")]
    # The full handler runs the same statements through the session (the engine's hook sees those,
    # not the lean read's): as many for an asset in no scene as for one in nine.
    counts = []
    for aid in (mara, lamp):
        await statements.start()
        assert (await full.get(f"{s8.base}/assets/{aid}/timeline", headers=auth)).status_code == 200
        counts.append(await statements.stop())
    assert counts[0] == counts[1] > 0

    # The description changes (every generated image stale), then the master goes: the pin to it
    # is broken; then a new script version without most scenes: their instances vanished.
    r = await env.client.patch(f"{s8.base}/assets/{mara}", json={"description": "Mara, dry."}, headers=auth)
    assert r.status_code == 200, r.text
    await assert_same_answers(env.client, full, urls()[:1], {"owner": auth})
    async with session_scope(s8.sessions) as s:
        await s.execute(delete(AssetAttempt).where(AssetAttempt.id == uuid.UUID(master)))
    await assert_same_answers(env.client, full, urls()[:1], {"owner": auth})
    old_script = (await env.client.get(f"{s8.base}/script", headers=auth)).json()["id"]
    r = await env.client.put(
        f"{s8.base}/script", json={"text": script("INT. PLACE 3 - DAY", "INT. NEW - NIGHT")}, headers=auth
    )
    assert r.status_code == 201, r.text
    async with session_scope(s8.sessions) as s:
        await remap_instances(s, old_script_id=uuid.UUID(old_script), new_script_id=uuid.UUID(r.json()["id"]))
    await assert_same_answers(env.client, full, urls()[:5], who)
    tl = (await env.client.get(f"{s8.base}/assets/{mara}/timeline", headers=auth)).json()
    assert "scene_vanished" in {b["problem"] for b in tl["broken"]}
