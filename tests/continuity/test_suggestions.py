"""Persisted suggestions: an asset named in a scene but not linked, an asset missing between two
scenes of the same place; accept through Stage 8, dismiss remembered until the evidence changes,
refreshed when the dependency map changes and only then."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from shared.models import AssetSceneLink, SceneAssetSuggestion
from tests.continuity.conftest import StatementCounter
from tests.stage8.helpers import Stage8

KITCHEN = "INT. KITCHEN - NIGHT"
SCRIPT = f"""Title: Supper

{KITCHEN}

Mara sets the table. The KETTLE whistles.

{KITCHEN}

She pours the tea. Tom watches from the door.

{KITCHEN}

Mara sits down at last.

EXT. GARDEN - DAY

Tom digs.
"""


async def suggestions(s8: Stage8, sid: str) -> list[dict[str, Any]]:
    r = await s8.env.client.get(f"{s8.base}/scenes/{sid}/suggestions", headers=s8.auth)
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


async def put_script(s8: Stage8, text: str) -> None:
    r = await s8.env.client.put(f"{s8.base}/script", json={"text": text}, headers=s8.auth)
    assert r.status_code == 201, r.text


async def test_named_and_continuity_suggestions_accept_and_dismiss(s8: Stage8) -> None:
    await put_script(s8, SCRIPT)
    mara = await s8.asset("Mara", scenes=(1, 3))
    kettle = await s8.asset("Kettle", "prop", scenes=(2,), aliases=["the kettle"])
    tom = await s8.asset("Tom", scenes=(4,))
    ids = await s8.scene_ids()

    scene1 = await suggestions(s8, ids[1])
    assert [(g["name"], g["suggested_by"]) for g in scene1] == [("Kettle", "named_in_text")]
    assert scene1[0]["evidence"]["terms"] == ["The KETTLE"]  # the longer alias wins
    assert "whistles" in scene1[0]["evidence"]["excerpt"]
    scene2 = {(g["name"], g["suggested_by"]): g for g in await suggestions(s8, ids[2])}
    assert set(scene2) == {("Mara", "continuity"), ("Tom", "named_in_text")}
    assert scene2[("Mara", "continuity")]["evidence"] == {"before": 1, "after": 3, "location": "KITCHEN"}

    # Accept: Mara joins scene 2 through Stage 8 (an instance, link source stage8).
    gid = scene2[("Mara", "continuity")]["id"]
    r = await s8.env.client.post(f"{s8.base}/scenes/{ids[2]}/suggestions/{gid}/accept", headers=s8.auth)
    assert r.status_code == 200, r.text
    assert r.json()["asset_id"] == mara
    inst = await s8.instance(ids[2], mara)
    assert inst["id"] == r.json()["instance_id"]
    async with s8.sessions() as s:
        source = await s.scalar(
            select(AssetSceneLink.source)
            .where(AssetSceneLink.scene_id == ids[2])
            .where(AssetSceneLink.asset_id == mara)
        )
    assert source == "stage8"
    assert [g["name"] for g in await suggestions(s8, ids[2])] == ["Tom"]
    r = await s8.env.client.post(f"{s8.base}/scenes/{ids[2]}/suggestions/{gid}/accept", headers=s8.auth)
    assert r.status_code in (404, 409)

    # Dismiss Tom in scene 2: remembered, also across a new version of the same text.
    tom_gid = next(g["id"] for g in await suggestions(s8, ids[2]))
    r = await s8.env.client.post(f"{s8.base}/scenes/{ids[2]}/suggestions/{tom_gid}/dismiss", headers=s8.auth)
    assert r.status_code == 204
    assert await suggestions(s8, ids[2]) == []
    await put_script(s8, SCRIPT + "\n")
    new_ids = await s8.scene_ids()
    assert "Tom" not in [g["name"] for g in await suggestions(s8, new_ids[2])]
    # Changed evidence (Tom named twice now) is offered again.
    await put_script(s8, SCRIPT.replace("from the door.", "from the door. Tom smiles."))
    new_ids = await s8.scene_ids()
    again = [g for g in await suggestions(s8, new_ids[2]) if g["name"] == "Tom"]
    assert [g["evidence"]["mentions"] for g in again] == [2]
    assert {tom, kettle} >= {g["asset_id"] for g in scene1 + again}


async def test_link_changes_refresh_on_the_next_read_and_an_unchanged_map_is_not_recomputed(
    s8: Stage8, statements: StatementCounter
) -> None:
    await put_script(s8, SCRIPT)
    mara = await s8.asset("Mara", scenes=(1, 2, 3))
    tom = await s8.asset("Tom", scenes=(4,))
    ids = await s8.scene_ids()
    assert [g["name"] for g in await suggestions(s8, ids[2])] == ["Tom"]
    await statements.start()
    await suggestions(s8, ids[2])
    unchanged = await statements.stop()

    # Tom added to scene 2 in Stage 8 (a link added): no longer suggested there.
    r = await s8.env.client.post(f"{s8.base}/scenes/{ids[2]}/assets", json={"asset_id": tom}, headers=s8.auth)
    assert r.status_code == 201, r.text
    await statements.start()
    assert await suggestions(s8, ids[2]) == []
    refreshed = await statements.stop()
    assert refreshed > unchanged  # a changed map is recomputed on read, an unchanged one is not

    # Mara removed from scene 2 in Stage 8: a link the user removed is never suggested back,
    # although she is in the scenes before and after in the same kitchen.
    inst = await s8.instance(ids[2], mara)
    r = await s8.env.client.delete(s8.url(ids[2], inst["id"]), headers=s8.auth)
    assert r.status_code == 204
    assert await suggestions(s8, ids[2]) == []
    async with s8.sessions() as s:
        assert await s.scalar(select(func.count()).select_from(SceneAssetSuggestion)) == 0


async def test_foreign_and_unknown_suggestions_are_404(s8: Stage8) -> None:
    ids = await s8.scene_ids()
    r = await s8.env.client.post(
        f"{s8.base}/scenes/{ids[1]}/suggestions/00000000-0000-0000-0000-000000000000/dismiss", headers=s8.auth
    )
    assert (r.status_code, r.json()["error"]["code"]) == (404, "not_found")


async def test_concurrent_first_reads_after_a_change_refresh_once_each_without_duplicates(s8: Stage8) -> None:
    import asyncio

    await put_script(s8, SCRIPT)
    await s8.asset("Mara", scenes=(1, 3))
    await s8.asset("Tom", scenes=(4,))
    ids = await s8.scene_ids()
    answers = await asyncio.gather(*(suggestions(s8, ids[2]) for _ in range(6)))
    assert all({g["name"] for g in a} == {"Mara", "Tom"} for a in answers)
    async with s8.sessions() as s:
        assert await s.scalar(select(func.count()).select_from(SceneAssetSuggestion)) == 2


async def test_a_dismissal_holds_across_stage8_link_changes_elsewhere(s8: Stage8) -> None:
    """Stage 8 adds and removes refresh lazily (the next read); the dismissal survives them."""
    await put_script(s8, SCRIPT)
    await s8.asset("Mara", scenes=(1, 3))
    tom = await s8.asset("Tom", scenes=(4,))
    ids = await s8.scene_ids()
    [tom_gid] = [g["id"] for g in await suggestions(s8, ids[2]) if g["name"] == "Tom"]
    r = await s8.env.client.post(f"{s8.base}/scenes/{ids[2]}/suggestions/{tom_gid}/dismiss", headers=s8.auth)
    assert r.status_code == 204
    # Tom added to scene 1 and 3 in Stage 8, then out of scene 3 again: the map changed twice.
    for n in (1, 3):
        r = await s8.env.client.post(
            f"{s8.base}/scenes/{ids[n]}/assets", json={"asset_id": tom}, headers=s8.auth
        )
        assert r.status_code == 201, r.text

    # Now he is in the scenes before and after scene 2, in the same kitchen: new evidence, offered.
    async def toms() -> list[str]:
        return [g["suggested_by"] for g in await suggestions(s8, ids[2]) if g["name"] == "Tom"]

    assert await toms() == ["continuity"]
    inst = await s8.instance(ids[3], tom)
    assert (await s8.env.client.delete(s8.url(ids[3], inst["id"]), headers=s8.auth)).status_code == 204
    # The continuity evidence is gone again; the dismissed mention stays dismissed.
    assert await toms() == []
    assert [g["name"] for g in await suggestions(s8, ids[2])] == ["Mara"]  # her evidence is unchanged
