"""Shots from the shot-list stage: which shots each asset is in (listed or named in the action, by
name or alias), the camera angles read from the camera text, and their correction by PATCH."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from shared.continuity.angles import CameraAngles, parse_camera, prompt_line
from shared.db import session_scope
from shared.models import Scene, Script, Shot
from shared.scripts.service import add_version, write_scenes
from tests.stage8.helpers import LANTERN, STAIRS, Stage8, script
from tests.support.factories import put_script


@pytest.mark.parametrize(
    ("camera", "framing", "angle", "side"),
    [
        ("AERIAL looking down", None, "overhead", None),
        ("CU", "close-up", None, None),
        ("low angle, 3/4 left", None, "low", "three-quarter"),
        ("ECU on the letter", "extreme close-up", None, None),
        ("MCU, profile", "medium close-up", None, "profile"),
        ("Medium wide, dutch tilt", "medium wide", "dutch", None),
        ("WS from behind", "wide", None, "back"),
        ("EWS establishing", "extreme wide", None, None),
        ("Full shot, front, eye level", "full", "eye level", "front"),
        ("high angle MS", "medium", "high", None),
        ("Bird's eye view", None, "overhead", None),
        ("She lifts the cup", None, None, None),  # "cu" inside a word is no close-up
    ],
)
def test_camera_text_reads_into_the_vocabulary(camera: str, framing: Any, angle: Any, side: Any) -> None:
    assert parse_camera(camera) == CameraAngles(framing, angle, side)


def test_the_prompt_line_says_the_angles_once() -> None:
    a = parse_camera("CU, low angle, 3/4")
    assert prompt_line([a, a, parse_camera("nothing")]) == (
        "Shown in this scene as: close-up shot, low angle, seen in three-quarter view."
    )
    assert prompt_line([parse_camera("")]) == ""


SHOTS = [
    {
        "number": 1,
        "camera": "EWS establishing, AERIAL looking down",
        "action": "The lighthouse in the storm.",
    },
    {"number": 2, "camera": "CU", "action": "Mara trims the wick.", "assets": ["lamp"]},
    {"number": 3, "camera": "low angle, 3/4 left", "action": "The old woman turns to the window."},
    {"number": 4, "camera": "MCU profile", "action": "Tom at the door.", "assets": ["Nobody"]},
]


async def put(s8: Stage8, sid: str, shots: list[dict[str, Any]]) -> Any:
    return await s8.env.client.put(f"{s8.base}/scenes/{sid}/shots", json={"shots": shots}, headers=s8.auth)


async def test_instances_show_their_shots_and_camera_angles(s8: Stage8) -> None:
    mara = await s8.asset("Mara", aliases=["the old woman"])
    lamp = await s8.asset("Lamp", "prop", scenes=(1,))
    tom = await s8.asset("Tom", scenes=(2,))
    ids = await s8.scene_ids()
    r = await put(s8, ids[1], SHOTS)
    assert r.status_code == 200, r.text
    body = r.json()
    per = {i["name"]: i for i in body["instances"]}
    assert per["Mara"]["shots"] == [2, 3]  # by name, then by alias
    assert per["Lamp"]["shots"] == [2]  # listed in lower case
    assert per["Tom"]["shots"] == [4]  # named in the action although not in this scene...
    assert per["Tom"]["instance_id"] is None  # ...so he has no instance here
    assert per["Mara"]["instance_id"] is not None
    assert per["Mara"]["camera_angles"] == [
        {"shot": 2, "framing": "close-up", "angle": None, "side": None},
        {"shot": 3, "framing": None, "angle": "low", "side": "three-quarter"},
    ]
    shot1 = body["shots"][0]
    assert shot1["camera_angles"] == {
        "framing": "extreme wide",
        "angle": "overhead",
        "side": None,
        "edited": False,
    }
    assert body["unknown_names"] == ["Nobody"]
    shot2 = body["shots"][1]
    assert {(a["name"], a["how"]) for a in shot2["assets"]} == {
        ("Lamp", "listed"),
        ("Mara", "named_in_action"),
    }
    assert {mara, lamp, tom} >= {a["asset_id"] for s in body["shots"] for a in s["assets"]}

    # Renaming the alias away: Mara is no longer in shot 3 on the next read.
    r = await s8.env.client.patch(f"{s8.base}/assets/{mara}", json={"aliases": []}, headers=s8.auth)
    assert r.status_code == 200, r.text
    r = await s8.env.client.get(f"{s8.base}/scenes/{ids[1]}/shots", headers=s8.auth)
    assert {i["name"]: i["shots"] for i in r.json()["instances"]}["Mara"] == [2]

    # A new shot list replaces the old one.
    r = await put(s8, ids[1], [{"number": 7, "camera": "WS", "action": "Mara waits."}])
    assert [s["number"] for s in r.json()["shots"]] == [7]
    assert {i["name"]: i["shots"] for i in r.json()["instances"]}["Mara"] == [7]


async def test_angles_are_corrected_by_patch_and_kept_across_the_same_camera_text(s8: Stage8) -> None:
    await s8.asset("Mara")
    ids = await s8.scene_ids()
    await put(s8, ids[1], SHOTS)
    url = f"{s8.base}/scenes/{ids[1]}/shots"
    body = {"shots": [{"number": 3, "side": "back", "framing": "wide"}]}
    r = await s8.env.client.patch(url, json=body, headers=s8.auth)
    assert r.status_code == 200, r.text
    shot3 = next(s for s in r.json()["shots"] if s["number"] == 3)
    assert shot3["camera_angles"] == {"framing": "wide", "angle": "low", "side": "back", "edited": True}
    r = await put(s8, ids[1], SHOTS)  # the same camera text: the correction stays
    shot3 = next(s for s in r.json()["shots"] if s["number"] == 3)
    assert shot3["camera_angles"]["side"] == "back"
    changed = [s | {"camera": "CU front"} if s["number"] == 3 else s for s in SHOTS]
    r = await put(s8, ids[1], changed)  # new camera text: parsed again
    shot3 = next(s for s in r.json()["shots"] if s["number"] == 3)
    assert shot3["camera_angles"] == {"framing": "close-up", "angle": None, "side": "front", "edited": False}


async def test_bad_shot_input(s8: Stage8) -> None:
    ids = await s8.scene_ids()
    r = await put(s8, ids[1], [{"number": 1}, {"number": 1}])
    assert (r.status_code, r.json()["error"]["code"]) == (422, "duplicate_shot_number")
    r = await put(s8, ids[1], [{"number": 1, "lens": "50mm"}])
    assert (r.status_code, r.json()["error"]["code"]) == (422, "validation_error")
    await put(s8, ids[1], [{"number": 1, "camera": "CU"}])
    url = f"{s8.base}/scenes/{ids[1]}/shots"
    two = {"shots": [{"number": 1, "side": "back"}, {"number": 9, "side": "back"}]}
    r = await s8.env.client.patch(url, json=two, headers=s8.auth)
    assert (r.status_code, r.json()["error"]["code"]) == (404, "shot_not_found")
    shot1 = (await s8.env.client.get(url, headers=s8.auth)).json()["shots"][0]
    assert shot1["camera_angles"]["side"] is None  # all or nothing
    r = await s8.env.client.patch(url, json={"shots": [{"number": 1, "side": "left"}]}, headers=s8.auth)
    assert (r.status_code, r.json()["error"]["code"]) == (422, "validation_error")
    r = await s8.env.client.get(
        f"{s8.base}/scenes/00000000-0000-0000-0000-000000000000/shots", headers=s8.auth
    )
    assert r.status_code == 404


async def test_the_generation_prompt_line_follows_the_shots(s8: Stage8) -> None:
    import uuid

    from shared.continuity.shots import camera_prompt_line

    mara = await s8.asset("Mara", aliases=["the old woman"])
    ids = await s8.scene_ids()
    await put(s8, ids[1], SHOTS)
    async with s8.sessions() as s:
        line = await camera_prompt_line(s, uuid.UUID(s8.pid), uuid.UUID(ids[1]), uuid.UUID(mara))
    assert line == "Shown in this scene as: close-up shot; low angle, seen in three-quarter view."


async def test_scene_images_are_prompted_for_the_shots_they_serve(s8: Stage8) -> None:
    mara = await s8.asset("Mara", aliases=["the old woman"])
    ids = await s8.scene_ids()
    assert (await put(s8, ids[1], SHOTS)).status_code == 200
    instance = await s8.instance(ids[1], mara)
    r = await s8.env.client.post(s8.url(ids[1], instance["id"], "/attempts/generate"), headers=s8.auth)
    assert r.status_code == 202, r.text
    assert await s8.env.run() == 1
    r = await s8.env.client.get(s8.url(ids[1], instance["id"], "/attempts"), headers=s8.auth)
    [made] = r.json()["items"]
    # Mara is in shot 2 (a close-up) and shot 3 (low angle, three-quarter): the prompt says so.
    assert "close-up" in made["prompt"]
    assert "low" in made["prompt"]
    assert "three-quarter" in made["prompt"]


async def test_the_scene_instance_list_shows_shots_and_camera_angles(s8: Stage8) -> None:
    mara = await s8.asset("Mara", aliases=["the old woman"])
    ids = await s8.scene_ids()
    assert (await put(s8, ids[1], SHOTS)).status_code == 200
    listed = {i["name"]: i for i in await s8.instances(ids[1])}
    assert listed["Mara"]["asset_id"] == mara
    assert listed["Mara"]["shots"] == [2, 3]
    assert [a["framing"] for a in listed["Mara"]["camera_angles"]] == ["close-up", None]


async def test_a_new_script_version_keeps_the_shot_lists_of_the_scenes_that_carry_over(s8: Stage8) -> None:
    mara = await s8.asset("Mara", aliases=["the old woman"])
    await s8.asset("Lamp", "prop", scenes=(1,))
    ids = await s8.scene_ids()
    assert (await put(s8, ids[1], SHOTS)).status_code == 200
    harbour = [{"number": 1, "camera": "WS", "action": "Mara on the quay."}]
    assert (await put(s8, ids[2], harbour)).status_code == 200
    stairs = [{"number": 1, "camera": "ECU profile", "action": "Mara's hand on the rail."}]
    assert (await put(s8, ids[3], stairs)).status_code == 200
    r = await s8.env.client.patch(
        f"{s8.base}/scenes/{ids[1]}/shots", json={"shots": [{"number": 3, "side": "back"}]}, headers=s8.auth
    )
    assert r.status_code == 200, r.text
    before = (await s8.env.client.get(f"{s8.base}/scenes/{ids[1]}/shots", headers=s8.auth)).json()

    # A new scene at the top, the lantern room edited, the harbour cut: every scene renumbered.
    text = script("EXT. CLIFF - DAY", LANTERN, STAIRS).replace(
        "Mara stands here, scene 2.", "Mara stands here, scene 2, trimming the wick."
    )
    r = await put_script(s8.env.client, s8.auth, s8.pid, text)
    assert r.status_code in (200, 201), r.text
    new = await s8.scene_ids()
    assert set(new.values()).isdisjoint(ids.values())

    async def shot_list(sid: str) -> dict[str, Any]:
        r = await s8.env.client.get(f"{s8.base}/scenes/{sid}/shots", headers=s8.auth)
        assert r.status_code == 200, r.text
        return dict(r.json())

    lantern = await shot_list(new[2])
    assert [s["number"] for s in lantern["shots"]] == [1, 2, 3, 4]
    assert [(s["camera"], s["action"], s["listed"]) for s in lantern["shots"]] == [
        (s["camera"], s["action"], s["listed"]) for s in before["shots"]
    ]
    # The user's angle correction came along, and the presence flags follow the copied shots.
    assert lantern["shots"][2]["camera_angles"] == {
        "framing": None,
        "angle": "low",
        "side": "back",
        "edited": True,
    }
    per = {i["name"]: i for i in lantern["instances"]}
    assert (per["Mara"]["shots"], per["Lamp"]["shots"]) == ([2, 3], [2])
    listed = {i["name"]: i for i in await s8.instances(new[2])}
    assert (listed["Mara"]["shots"], listed["Lamp"]["shots"]) == ([2, 3], [2])
    assert [a["side"] for a in listed["Mara"]["camera_angles"]] == [None, "back"]
    assert [s["camera"] for s in (await shot_list(new[3]))["shots"]] == ["ECU profile"]
    assert (await s8.instance(new[3], mara))["shots"] == [1]
    # The new scene has no shot list, and the cut harbour's shot went nowhere in this version.
    assert (await shot_list(new[1]))["shots"] == []
    async with s8.sessions() as s:
        on_new = await s.scalar(
            select(func.count())
            .select_from(Shot)
            .join(Scene)
            .where(Scene.id.in_([uuid.UUID(v) for v in new.values()]))
        )
        assert on_new == len(SHOTS) + 1

    # A re-parse of the same version rewrites its scene rows: the shots follow them again.
    script_id = uuid.UUID((await s8.env.client.get(f"{s8.base}/script", headers=s8.auth)).json()["id"])
    async with session_scope(s8.sessions) as s:
        current = await s.get(Script, script_id)
        assert current is not None
        await write_scenes(s, current)
    again = await s8.scene_ids()
    assert set(again.values()).isdisjoint(new.values())
    assert [s["number"] for s in (await shot_list(again[2]))["shots"]] == [1, 2, 3, 4]
    assert (await s8.instance(again[2], mara))["shots"] == [2, 3]


async def test_a_shot_list_written_while_a_new_version_is_stored_is_refused_not_copied_stale(
    s8: Stage8,
) -> None:
    ids = await s8.scene_ids()
    assert (await put(s8, ids[1], SHOTS)).status_code == 200
    # A new version being stored (as PUT .../script does: version, scenes, re-link) in a
    # transaction that is still open when the shot-list stage sends its next list.
    async with session_scope(s8.sessions) as s:
        text = script(LANTERN, STAIRS) + "\n"
        version = await add_version(s, project_id=uuid.UUID(s8.pid), text=text, fmt=None)
        await write_scenes(s, version)
        late = asyncio.create_task(put(s8, ids[1], [{"number": 1, "camera": "CU", "action": "Late."}]))
        await asyncio.sleep(0.5)
        assert not late.done()  # it waits for the version, instead of writing onto the old scene
    r = await late
    assert (r.status_code, r.json()["error"]["code"]) == (409, "scene_not_current")
    new = await s8.scene_ids()
    got = (await s8.env.client.get(f"{s8.base}/scenes/{new[1]}/shots", headers=s8.auth)).json()
    assert [s["camera"] for s in got["shots"]] == [s["camera"] for s in SHOTS]


async def test_a_re_parse_of_a_superseded_version_leaves_it_as_it_was(s8: Stage8) -> None:
    ids = await s8.scene_ids()
    assert (await put(s8, ids[1], SHOTS)).status_code == 200
    old_id = uuid.UUID((await s8.env.client.get(f"{s8.base}/script", headers=s8.auth)).json()["id"])
    r = await put_script(s8.env.client, s8.auth, s8.pid, script(LANTERN, STAIRS) + "\nTHE END\n")
    assert r.status_code in (200, 201), r.text
    # A re-parse of the old version, queued before the new one was stored, runs late.
    async with session_scope(s8.sessions) as s:
        old = await s.get(Script, old_id)
        assert old is not None
        await write_scenes(s, old)
    async with s8.sessions() as s:
        scenes = set(await s.scalars(select(Scene.id).where(Scene.script_id == old_id)))
        kept = await s.scalar(select(func.count()).select_from(Shot).where(Shot.scene_id.in_(scenes)))
    assert {uuid.UUID(v) for v in ids.values()} == scenes  # the same rows, not rewritten
    assert kept == len(SHOTS)
