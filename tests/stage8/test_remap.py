"""Scene matching across script versions (same heading, nearest position) and the purge of
instances removed from their scene."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import func, select

from shared.db import session_scope
from shared.models import Scene, SceneAssetInstance, Script
from shared.scripts.service import write_scenes
from shared.stage8.remap import OldScene, match_scenes, purge_removed_instances
from tests.stage8.helpers import Stage8


def scene(heading: str, position: int) -> Scene:
    return Scene(id=uuid.uuid4(), heading=heading, position=position, number=position + 1)


def test_repeated_headings_match_the_nearest_and_never_twice() -> None:
    old = [
        OldScene(uuid.uuid4(), h, p) for p, h in enumerate(["INT. CAR - DAY", "EXT. ROAD", "INT. CAR - DAY"])
    ]
    # One car scene cut, a new road scene at the top, spacing and case changed.
    new = [scene("EXT. ROAD", 0), scene("ext.  road", 1), scene("int. car - day", 2)]
    out = match_scenes(old, new)
    assert out[old[1]] is new[1]  # position 1 -> 1 beats 1 -> 0
    assert out[old[2]] is new[2]  # the nearer car scene takes the only match
    assert old[0] not in out  # and the other one is left stale, not doubled up


async def test_reparse_of_the_same_version_reattaches_instances(s8: Stage8) -> None:
    """A re-parse rewrites the scene rows (new ids): instances lose their scene (kept, not deleted)
    and come back to the matching new rows."""
    mara = await s8.asset("Mara")
    ids = await s8.scene_ids()
    before = [(await s8.instance(ids[n], mara))["id"] for n in (1, 2, 3)]
    script_id = uuid.UUID((await s8.env.client.get(f"{s8.base}/script", headers=s8.auth)).json()["id"])
    async with session_scope(s8.sessions) as s:
        current = await s.get(Script, script_id)
        assert current is not None
        # What the script.parse job does: new scene rows, then links and instances follow them.
        await write_scenes(s, current)
        assert await s.scalar(select(func.count()).where(SceneAssetInstance.scene_id.is_(None))) == 0
    new_ids = await s8.scene_ids()
    assert set(new_ids.values()).isdisjoint(ids.values())
    assert [(await s8.instance(new_ids[n], mara))["id"] for n in (1, 2, 3)] == before


async def test_purge_removes_long_removed_instances_with_their_images(s8: Stage8) -> None:
    mara = await s8.asset("Mara")
    ids = await s8.scene_ids()
    gone = (await s8.instance(ids[1], mara))["id"]
    kept = (await s8.instance(ids[2], mara))["id"]
    await s8.add_image(gone)
    await s8.add_image(kept)
    assert (await s8.env.client.delete(s8.url(ids[1], gone), headers=s8.auth)).status_code == 204
    async with session_scope(s8.sessions) as s:
        assert await purge_removed_instances(s, s8.env.storage, older_than=timedelta(days=30)) == 0
    assert len(await s8.env.keys()) == 4
    async with session_scope(s8.sessions) as s:
        assert await purge_removed_instances(s, s8.env.storage, older_than=timedelta(0)) == 1
    assert len(await s8.env.keys()) == 2
    assert (await s8.instance(ids[2], mara))["id"] == kept
    # Re-added after the purge: a fresh instance, no images.
    r = await s8.env.client.post(
        f"{s8.base}/scenes/{ids[1]}/assets", json={"asset_id": mara}, headers=s8.auth
    )
    assert r.status_code == 201
    assert r.json()["id"] != gone
    assert r.json()["attempt_count"] == 0
