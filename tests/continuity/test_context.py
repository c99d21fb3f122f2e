"""The scene context for frame generation, views handed on for a shot's side, and stale images,
through the HTTP API and the real imagegen worker."""

from __future__ import annotations

from typing import Any

from tests.continuity.conftest import StatementCounter
from tests.stage8.helpers import Stage8


async def context(s8: Stage8, sid: str, **params: Any) -> dict[str, Any]:
    r = await s8.env.client.get(f"{s8.base}/scenes/{sid}/context", params=params, headers=s8.auth)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def put_shots(s8: Stage8, sid: str, shots: list[dict[str, Any]]) -> None:
    r = await s8.env.client.put(f"{s8.base}/scenes/{sid}/shots", json={"shots": shots}, headers=s8.auth)
    assert r.status_code == 200, r.text


async def test_context_of_a_scene_and_of_one_shot(s8: Stage8) -> None:
    mara = await s8.asset("Mara", aliases=["the keeper"])
    await s8.asset("Telescope", "prop", scenes=(2,))
    ids = await s8.scene_ids()
    first = await s8.instance(ids[1], mara)
    await s8.env.client.patch(
        s8.url(ids[1], first["id"]), json={"visual_state": "Coat torn"}, headers=s8.auth
    )

    ctx = await context(s8, ids[2])
    assert (ctx["heading"], ctx["aspect_ratio"], ctx["style"]["name"]) == (
        "EXT. HARBOUR - DAY",
        "16:9",
        "Noir",
    )
    assert (bool(ctx["style"]["prompt_fragment"]), ctx["location"]) == (True, "HARBOUR")
    assert {a["name"] for a in ctx["assets"]} == {"Mara", "Telescope"}
    assert ctx["previous_scene"] == 1
    assert [(p["name"], p["visual_state"]) for p in ctx["previous_states"]] == [("Mara", "Coat torn")]
    assert ctx["left_out"] == []
    assert ctx["token_estimate"] > 0

    await put_shots(
        s8,
        ids[2],
        [
            {"number": 1, "camera": "CU profile", "action": "The keeper raises the telescope."},
            {"number": 2, "camera": "WS", "action": "The quay, empty."},
        ],
    )
    one = await context(s8, ids[2], shot=1)
    assert one["shot"]["camera_angles"]["framing"] == "close-up"
    by = {a["name"]: a for a in one["assets"]}
    assert set(by) == {"Mara", "Telescope"}
    assert by["Mara"]["camera_angles"] == [
        {"shot": 1, "framing": "close-up", "angle": None, "side": "profile"}
    ]
    assert by["Mara"]["view"] is None  # no views drawn yet
    assert (await context(s8, ids[2], shot=2))["assets"] == []
    r = await s8.env.client.get(f"{s8.base}/scenes/{ids[2]}/context?shot=9", headers=s8.auth)
    assert (r.status_code, r.json()["error"]["code"]) == (404, "shot_not_found")
    r = await s8.env.client.get(f"{s8.base}/scenes/{ids[2]}/context?max_tokens=abc", headers=s8.auth)
    assert (r.status_code, r.json()["error"]["code"]) == (422, "validation_error")


async def test_max_tokens_keeps_required_assets_and_reports_what_was_left_out(s8: Stage8) -> None:
    long = "A detail worth a sentence. " * 40
    lead = await s8.asset("Mara", description="Mara is the keeper. " + long)
    await s8.set_priority(lead)  # a main character: required
    for name in ("Net", "Rope", "Crate", "Barrel", "Gull"):
        await s8.asset(name, "prop", description=f"The {name.lower()}. " + long)
    ids = await s8.scene_ids()
    full = await context(s8, ids[2])
    budget = full["token_estimate"] // 3
    cut = await context(s8, ids[2], max_tokens=budget)
    assert cut["token_estimate"] <= budget
    names = [a["name"] for a in cut["assets"]]
    assert "Mara" in names
    assert next(a for a in cut["assets"] if a["name"] == "Mara")["summarised"] is False
    assert cut["left_out"], cut
    assert cut["tokens_left_out"] == sum(x["tokens"] for x in cut["left_out"]) > 0
    left = {x["name"] for x in cut["left_out"]}
    assert left <= {"Net", "Rope", "Crate", "Barrel", "Gull", "Mara"}
    assert "Mara" not in {x["name"] for x in cut["left_out"] if x["kind"] == "asset"}


async def test_generate_views_then_a_shot_hands_on_the_matching_view(s8: Stage8) -> None:
    scope = await s8.asset("Telescope", "prop", scenes=(2,))
    place = await s8.asset("Harbour", "location", scenes=(2,))
    r = await s8.env.client.post(f"{s8.base}/assets/{scope}/attempts/generate-views", headers=s8.auth)
    assert r.status_code == 202, r.text
    assert r.json()["missing"] == ["front", "side", "three-quarter", "back"]
    # One batch holds the four view jobs: the page follows it like generate-all's.
    bid = r.json()["batch_id"]
    assert bid is not None
    assert r.headers["Location"] == f"/v1/batches/{bid}"
    assert {j["batch_id"] for j in r.json()["jobs"]} == {bid}
    assert len(r.json()["jobs"]) == 4
    batch = (await s8.env.client.get(f"/v1/batches/{bid}", headers=s8.auth)).json()["batch"]
    assert (batch["kind"], batch["total"], batch["status"]) == ("generate-views", 4, "queued")
    assert {j["id"] for j in batch["jobs"]} == {j["id"] for j in r.json()["jobs"]}
    again = await s8.env.client.post(f"{s8.base}/assets/{scope}/attempts/generate-views", headers=s8.auth)
    # Already on their way: not started twice; the answer points at the batch drawing them (a page
    # reloaded mid-way finds it again).
    assert (again.json()["jobs"], again.json()["batch_id"]) == ([], bid)
    assert again.headers["Location"] == f"/v1/batches/{bid}"
    assert await s8.env.run() == 4
    batch = (await s8.env.client.get(f"/v1/batches/{bid}", headers=s8.auth)).json()["batch"]
    assert (batch["status"], batch["counts"]["succeeded"], batch["progress"]) == ("succeeded", 4, 1.0)
    views = {a["view"] for a in await s8.env.attempts(s8.auth, s8.pid, scope)}
    assert views == {"front", "side", "three-quarter", "back"}
    done = await s8.env.client.post(f"{s8.base}/assets/{scope}/attempts/generate-views", headers=s8.auth)
    assert (done.json()["present"], done.json()["jobs"]) == (["front", "side", "three-quarter", "back"], [])
    assert done.json()["batch_id"] is None
    assert "Location" not in done.headers
    r = await s8.env.client.post(f"{s8.base}/assets/{place}/attempts/generate-views", headers=s8.auth)
    assert (r.status_code, r.json()["error"]["code"]) == (422, "view_not_allowed")

    ids = await s8.scene_ids()
    await put_shots(
        s8, ids[2], [{"number": 1, "camera": "MCU, profile", "action": "The telescope on the rail."}]
    )
    ctx = await context(s8, ids[2], shot=1)
    [tele] = [a for a in ctx["assets"] if a["name"] == "Telescope"]
    assert tele["view"]["view"] == "side"
    assert "profile" in tele["view"]["reason"]
    side = next(a for a in await s8.env.attempts(s8.auth, s8.pid, scope) if a["view"] == "side")
    assert tele["view"]["attempt_id"] == side["id"]
    # The whole scene: the view of the first of its shots that says a side.
    [tele] = [a for a in (await context(s8, ids[2]))["assets"] if a["name"] == "Telescope"]
    assert (tele["view"]["view"], tele["view"]["reason"].split(" shows")[0]) == ("side", "shot 1")


async def test_images_made_from_old_text_are_stale_until_regenerated(s8: Stage8) -> None:
    mara = await s8.asset("Mara", description="An old keeper in a yellow oilskin.")
    await s8.env.generate(s8.auth, s8.pid, mara)
    assert await s8.env.run() == 1
    ids = await s8.scene_ids()

    async def mara_in(sid: str) -> dict[str, Any]:
        return next(a for a in (await context(s8, sid))["assets"] if a["name"] == "Mara")

    assert (await mara_in(ids[1]))["stale"]["stale"] is False
    r = await s8.env.client.patch(
        f"{s8.base}/assets/{mara}", json={"description": "An old keeper in a red coat."}, headers=s8.auth
    )
    assert r.status_code == 200, r.text
    stale = (await mara_in(ids[1]))["stale"]
    assert (stale["stale"], stale["reason"]) == (True, "description_changed")
    assert "yellow oilskin" in stale["made_from"]
    tl = (await s8.env.client.get(f"{s8.base}/assets/{mara}/timeline", headers=s8.auth)).json()
    assert tl["scenes"][0]["stale"]["stale"] is True
    assert len(await s8.env.attempts(s8.auth, s8.pid, mara)) == 1  # nothing deleted
    await s8.env.generate(s8.auth, s8.pid, mara)
    assert await s8.env.run() == 1
    assert (await mara_in(ids[1]))["stale"]["stale"] is False

    # A scene image made for one visual state goes stale when the state changes.
    inst = await s8.instance(ids[2], mara)
    await s8.env.client.patch(s8.url(ids[2], inst["id"]), json={"visual_state": "Soaked"}, headers=s8.auth)
    r = await s8.env.client.post(s8.url(ids[2], inst["id"], "/attempts/generate"), headers=s8.auth)
    assert r.status_code == 202, r.text
    assert await s8.env.run() == 1
    assert (await mara_in(ids[2]))["stale"]["stale"] is False
    await s8.env.client.patch(s8.url(ids[2], inst["id"]), json={"visual_state": "Dry again"}, headers=s8.auth)
    stale = (await mara_in(ids[2]))["stale"]
    assert (stale["stale"], stale["reason"]) == (True, "visual_state_changed")
    assert "Soaked" in stale["made_from"]


async def test_the_instance_carousel_marks_stale_images_and_reselecting_accepts_them(s8: Stage8) -> None:
    mara = await s8.asset("Mara", description="An old keeper in a yellow oilskin.")
    ids = await s8.scene_ids()
    inst = await s8.instance(ids[2], mara)
    carousel = s8.url(ids[2], inst["id"], "/attempts")
    r = await s8.env.client.patch(
        s8.url(ids[2], inst["id"]), json={"visual_state": "Soaked"}, headers=s8.auth
    )
    assert r.status_code == 200, r.text
    r = await s8.env.client.post(f"{carousel}/generate", headers=s8.auth)
    assert r.status_code == 202, r.text
    assert await s8.env.run() == 1

    async def marks() -> list[dict[str, Any]]:
        r = await s8.env.client.get(carousel, headers=s8.auth)
        assert r.status_code == 200, r.text
        return [a["stale"] for a in r.json()["items"]]

    async def in_context() -> dict[str, Any]:
        [a] = [a for a in (await context(s8, ids[2]))["assets"] if a["name"] == "Mara"]
        return dict(a["stale"])

    async def describe(text: str) -> None:
        r = await s8.env.client.patch(f"{s8.base}/assets/{mara}", json={"description": text}, headers=s8.auth)
        assert r.status_code == 200, r.text

    async def select(tid: str) -> None:
        r = await s8.env.client.post(f"{carousel}/{tid}/select", headers=s8.auth)
        assert r.status_code == 200, r.text

    [tid] = [a["id"] for a in (await s8.env.client.get(carousel, headers=s8.auth)).json()["items"]]
    assert [m["stale"] for m in await marks()] == [False]

    await describe("An old keeper in a red coat.")
    [mark] = await marks()
    assert (mark["stale"], mark["reason"]) == (True, "description_changed")
    assert "yellow oilskin" in mark["made_from"]
    assert (await in_context())["stale"] is True

    # Re-selecting the (already selected) image accepts it for the new description.
    await select(tid)
    assert [m["stale"] for m in await marks()] == [False]
    assert (await in_context())["stale"] is False

    # The next change marks it again, still with the prompt it was made from.
    await describe("An old keeper in a green jumper.")
    [mark] = await marks()
    assert (mark["stale"], mark["reason"]) == (True, "description_changed")
    assert "yellow oilskin" in mark["made_from"]
    assert (await in_context())["stale"] is True
    await select(tid)
    assert (await in_context())["stale"] is False
    # So does a new visual state: the image was accepted for "Soaked".
    r = await s8.env.client.patch(s8.url(ids[2], inst["id"]), json={"visual_state": "Dry"}, headers=s8.auth)
    assert r.status_code == 200, r.text
    [mark] = await marks()
    assert (mark["stale"], mark["reason"]) == (True, "visual_state_changed")
    assert (await in_context())["stale"] is True
    # Re-selecting accepts it for "Dry" too, until the state changes once more.
    await select(tid)
    assert [m["stale"] for m in await marks()] == [False]
    assert (await in_context())["stale"] is False
    r = await s8.env.client.patch(s8.url(ids[2], inst["id"]), json={"visual_state": "Muddy"}, headers=s8.auth)
    assert r.status_code == 200, r.text
    [mark] = await marks()
    assert (mark["stale"], mark["reason"]) == (True, "visual_state_changed")
    assert len(await marks()) == 1  # nothing deleted


async def test_reselecting_a_stale_master_image_clears_the_mark_until_the_next_change(s8: Stage8) -> None:
    mara = await s8.asset("Mara", description="An old keeper in a yellow oilskin.")
    await s8.env.generate(s8.auth, s8.pid, mara)
    assert await s8.env.run() == 1
    ids = await s8.scene_ids()

    async def marks() -> tuple[bool, bool]:
        [attempt] = await s8.env.attempts(s8.auth, s8.pid, mara)
        [a] = [a for a in (await context(s8, ids[1]))["assets"] if a["name"] == "Mara"]
        return attempt["stale"], a["stale"]["stale"]

    async def describe(text: str) -> None:
        r = await s8.env.client.patch(f"{s8.base}/assets/{mara}", json={"description": text}, headers=s8.auth)
        assert r.status_code == 200, r.text

    [tid] = [a["id"] for a in await s8.env.attempts(s8.auth, s8.pid, mara)]
    await describe("An old keeper in a red coat.")
    assert await marks() == (True, True)
    r = await s8.env.client.post(f"{s8.base}/assets/{mara}/attempts/{tid}/select", headers=s8.auth)
    assert r.status_code == 200, r.text
    assert await marks() == (False, False)
    tl = (await s8.env.client.get(f"{s8.base}/assets/{mara}/timeline", headers=s8.auth)).json()
    assert tl["scenes"][0]["stale"]["stale"] is False
    await describe("An old keeper in a green jumper.")
    assert await marks() == (True, True)
    [a] = [a for a in (await context(s8, ids[1]))["assets"] if a["name"] == "Mara"]
    assert "yellow oilskin" in a["stale"]["made_from"]


async def test_the_instance_carousel_marks_every_attempt_in_a_constant_number_of_statements(
    s8: Stage8, statements: StatementCounter
) -> None:
    mara = await s8.asset("Mara")
    ids = await s8.scene_ids()
    inst = (await s8.instance(ids[1], mara))["id"]
    url = s8.url(ids[1], inst, "/attempts")

    async def listed() -> tuple[list[dict[str, Any]], int]:
        await statements.start()
        r = await s8.env.client.get(url, headers=s8.auth)
        count = await statements.stop()
        assert r.status_code == 200, r.text
        return [a["stale"] for a in r.json()["items"]], count

    await s8.add_image(inst)
    one, few = await listed()
    for colour in ((1, 2, 3), (4, 5, 6), (7, 8, 9)):
        await s8.add_image(inst, colour)
    four, many = await listed()
    assert many == few
    # The helper's images were "generated" from the prompt "test", which never said "Mara, as written.".
    assert len(four) == 4
    assert {(m["stale"], m["reason"], m["made_from"]) for m in four} == {
        (True, "description_changed", "test")
    }
    assert one == four[-1:]
