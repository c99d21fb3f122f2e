"""The Stage 8 scene list's lean path (``shared/stage8/scene_list.py``) answers exactly what the full
handler answers, on a scene with every kind of instance: master images, images of earlier scenes,
pins that hold and pins that no longer do, use-as-is and own images, required by rule and by
choice, a deferred asset, a shot list (names listed, named in the action, a stale asset's name),
and for every request it hands over: someone else's project or scene, an unknown or malformed id,
a scene of an older script version, and a scene whose instances are not made yet (the full
handler makes them, exactly once)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.config import Settings
from shared.models import AssetAttempt, ProjectAsset, SceneAssetInstance, SceneInstanceAttempt
from shared.stage8 import scene_list
from tests.stage8.helpers import HARBOUR, LANTERN, STAIRS, script
from tests.support.factories import create_asset, create_project, put_script
from tests.support.lean import assert_same_answers, callers

CELLAR = "INT. LIGHTHOUSE - CELLAR - NIGHT"
T0 = datetime(2026, 11, 30, 14, 5, 39, 870123, tzinfo=UTC)


@dataclass
class Seeded:
    pid: str
    scenes: dict[int, str]  # number -> scene id of the current script
    assets: dict[str, str]  # name -> asset id


class Api:
    def __init__(self, client: httpx.AsyncClient, auth: dict[str, str], pid: str) -> None:
        self.client, self.auth, self.pid = client, auth, pid

    async def call(self, method: str, path: str, body: Any = None, status: int = 200) -> Any:
        r = await self.client.request(method, f"/v1/projects/{self.pid}{path}", json=body, headers=self.auth)
        assert r.status_code == status, r.text
        return r.json() if r.content else None

    async def instances(self, sid: str) -> dict[str, dict[str, Any]]:
        """The scene's instances by asset id (made on this first read)."""
        return {i["asset_id"]: i for i in (await self.call("GET", f"/scenes/{sid}/assets"))["items"]}


def _master(pid: str, aid: str, n: int, *, selected: bool) -> AssetAttempt:
    return AssetAttempt(
        asset_id=uuid.UUID(aid),
        project_id=uuid.UUID(pid),
        attempt_number=n,
        source="generated",
        selected=selected,
        storage_key=f"projects/{pid}/assets/{aid}/attempt-{n}.png",
        thumbnail_key=f"projects/{pid}/assets/{aid}/attempt-{n}.thumb.webp" if n % 2 else None,
        mime="image/png",
        width=1024,
        height=576,
        bytes=1000 * n,
        prompt_snapshot="as written",
        created_at=T0 + timedelta(seconds=n),
    )


def _scene_image(pid: str, iid: str, n: int, *, selected: bool) -> SceneInstanceAttempt:
    return SceneInstanceAttempt(
        id=uuid.uuid4(),
        instance_id=uuid.UUID(iid),
        project_id=uuid.UUID(pid),
        attempt_number=n,
        source="generated",
        selected=selected,
        storage_key=f"projects/{pid}/instances/{iid}/attempt-{n}.png",
        thumbnail_key=f"projects/{pid}/instances/{iid}/attempt-{n}.thumb.webp" if n % 2 else None,
        mime="image/png",
        width=1024,
        height=576,
        bytes=2000 * n,
        prompt_snapshot="in this scene",
        created_at=T0 + timedelta(minutes=n),
    )


async def _seed(
    client: httpx.AsyncClient, auth: dict[str, str], sessions: async_sessionmaker[AsyncSession]
) -> Seeded:
    pid = (await create_project(client, auth))["id"]
    api = Api(client, auth, pid)
    r = await put_script(client, auth, pid, script(LANTERN, HARBOUR, STAIRS, CELLAR))
    assert r.status_code == 201, r.text
    scenes = {s["number"]: s["id"] for s in (await api.call("GET", "/scenes?limit=200"))["items"]}
    placed: dict[str, tuple[str, tuple[int, ...], dict[str, Any]]] = {
        "Mara": ("character", (1, 2, 3, 4), {"aliases": ["The Keeper"]}),
        "Tom": ("character", (1, 3), {}),
        "Old Tom": ("character", (3,), {}),
        "Lamp": ("prop", (1, 2, 3, 4), {}),
        "Ghost ship": ("prop", (2, 3), {"deferred": True}),
        "Harbour wall": ("location", (2, 3), {}),
        "Rowboat": ("prop", (1, 3), {}),
        "Fishermen": ("extra_archetype", (3,), {}),
        "Telescope": ("prop", (3,), {}),
    }
    assets = {
        name: (
            await create_asset(
                client,
                auth,
                pid,
                name=name,
                type=type_,
                description=f"{name}, as written.",
                scene_numbers=list(numbers),
                **extra,
            )
        )["id"]
        for name, (type_, numbers, extra) in placed.items()
    }
    async with sessions() as s:
        # Master images: Mara and Lamp (Lamp's selected one among several), Rowboat none selected.
        s.add(_master(pid, assets["Mara"], 1, selected=True))
        s.add_all(_master(pid, assets["Lamp"], n, selected=n == 2) for n in (1, 2, 3))
        s.add(_master(pid, assets["Rowboat"], 1, selected=False))
        # Mara is a main character (required by default); the telescope is set aside as stale.
        await s.execute(
            update(ProjectAsset)
            .where(ProjectAsset.id == uuid.UUID(assets["Mara"]))
            .values(meta={"priority": True})
        )
        await s.execute(
            update(ProjectAsset).where(ProjectAsset.id == uuid.UUID(assets["Telescope"])).values(stale=True)
        )
        await s.commit()

    # Scenes 1-3 opened (instances made); scene 4 never read.
    first, second, third = [await api.instances(scenes[n]) for n in (1, 2, 3)]
    one = {name: first[aid]["id"] for name, aid in assets.items() if aid in first}
    two = {name: second[aid]["id"] for name, aid in assets.items() if aid in second}
    three = {name: third[aid]["id"] for name, aid in assets.items() if aid in third}
    images: dict[str, SceneInstanceAttempt] = {}
    async with sessions() as s:
        # Scene 1: Mara two images (the second selected), Tom one image not selected, Rowboat one.
        images["mara1"] = _scene_image(pid, one["Mara"], 1, selected=False)
        images["mara2"] = _scene_image(pid, one["Mara"], 2, selected=True)
        images["tom1"] = _scene_image(pid, one["Tom"], 1, selected=False)
        images["rowboat1"] = _scene_image(pid, one["Rowboat"], 1, selected=True)
        # Scene 2: Lamp and the ghost ship have an image each; Harbour wall one.
        images["lamp2"] = _scene_image(pid, two["Lamp"], 1, selected=True)
        images["ghost2"] = _scene_image(pid, two["Ghost ship"], 1, selected=True)
        images["wall2"] = _scene_image(pid, two["Harbour wall"], 1, selected=True)
        # Scene 3: Old Tom his own image.
        images["oldtom3"] = _scene_image(pid, three["Old Tom"], 1, selected=True)
        s.add_all(images.values())
        await s.commit()

    sid3 = scenes[3]
    # Pins: Mara on scene 1's unselected image (holds), Lamp on its master (holds), the ghost ship
    # on scene 2's image and the harbour wall on its own scene 2 image (both broken below).
    for name, attempt in (
        ("Mara", str(images["mara1"].id)),
        ("Lamp", None),
        ("Ghost ship", str(images["ghost2"].id)),
        ("Harbour wall", str(images["wall2"].id)),
    ):
        if attempt is None:
            chain = await api.call("GET", f"/scenes/{sid3}/assets/{three[name]}/reference-chain")
            attempt = next(i["attempt_id"] for i in chain["items"] if i["kind"] == "master")
        await api.call("PUT", f"/scenes/{sid3}/assets/{three[name]}/reference", {"attempt_id": attempt})
    # The ghost ship leaves scene 2 (its pinned image is no longer live), the harbour wall's pinned
    # image is deleted (the pin's attempt is gone): both fall back to the default.
    await api.call("DELETE", f"/scenes/{scenes[2]}/assets/{two['Ghost ship']}", status=204)
    await api.call(
        "DELETE",
        f"/scenes/{scenes[2]}/assets/{two['Harbour wall']}/attempts/{images['wall2'].id}",
        status=204,
    )
    # Edits: own images instead of the reference, a required override both ways, later, angles.
    edits = {
        "Old Tom": {"use_master_as_is": False, "required": True, "visual_state": "Soaked"},
        "Tom": {"use_master_as_is": False, "generate_later": True, "camera_angle": "low angle"},
        "Mara": {"required": False, "visual_state": "Hair loose"},
        "Rowboat": {"required": True, "camera_angle": "aerial"},
    }
    for name, body in edits.items():
        await api.call("PATCH", f"/scenes/{sid3}/assets/{three[name]}", body)
    # The shot list: listed names and an alias, names in the action, an unknown and a stale name.
    shots = [
        {
            "number": 2,
            "camera": "LOW ANGLE CU",
            "action": "Old Tom grips the rail.",
            "assets": ["The Keeper"],
        },
        {"number": 1, "camera": "AERIAL looking down", "action": "The lamp and the rowboat in the storm."},
        {
            "number": 3,
            "camera": "OTS",
            "action": "Tom raises the telescope.",
            "assets": ["Nobody", "Ghost ship"],
        },
    ]
    await api.call("PUT", f"/scenes/{sid3}/shots", {"shots": shots})
    return Seeded(pid=pid, scenes=scenes, assets=assets)


async def _instance_count(sessions: async_sessionmaker[AsyncSession], sid: str) -> int:
    async with sessions() as s:
        count = await s.scalar(
            select(func.count())
            .select_from(SceneAssetInstance)
            .where(SceneAssetInstance.scene_id == uuid.UUID(sid))
        )
    return int(count or 0)


def _spy(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether each lean attempt answered (True) or handed over to the full handler (False)."""
    answered: list[bool] = []
    real = scene_list.read

    async def read(*args: Any, **kwargs: Any) -> dict[str, Any] | None:
        found = await real(*args, **kwargs)
        answered.append(found is not None)
        return found

    monkeypatch.setattr(scene_list, "read", read)
    return answered


async def test_scene_list_answers_as_the_full_handler(
    client: httpx.AsyncClient,
    full_client: httpx.AsyncClient,
    auth: dict[str, str],
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    who = callers(settings, auth)
    seed = await _seed(client, auth, sessions)
    other_pid = (await create_project(client, who["someone else"]))["id"]
    other = Api(client, who["someone else"], other_pid)
    r = await put_script(client, who["someone else"], other_pid, script(LANTERN))
    assert r.status_code == 201, r.text
    [other_scene] = [s["id"] for s in (await other.call("GET", "/scenes"))["items"]]
    base = f"/v1/projects/{seed.pid}/scenes"
    sid = seed.scenes[3]

    # The seeded scene shows what it is meant to (so the comparison below covers it).
    mine = {i["name"]: i for i in (await client.get(f"{base}/{sid}/assets", headers=auth)).json()["items"]}
    assert (mine["Mara"]["reference"]["kind"], mine["Mara"]["reference_pinned"]) == ("instance", True)
    assert (mine["Lamp"]["reference"]["kind"], mine["Lamp"]["reference_pinned"]) == ("master", True)
    assert (mine["Ghost ship"]["reference"], mine["Ghost ship"]["reference_pinned"]) == (None, False)
    assert mine["Harbour wall"]["reference_pinned"] is False
    assert mine["Old Tom"]["image"]["kind"] == "instance"
    assert mine["Tom"]["image"] is None
    assert mine["Rowboat"]["reference"]["scene_number"] == 1  # the latest earlier image
    assert (mine["Mara"]["required"], mine["Old Tom"]["required"], mine["Tom"]["required"]) == (
        False,
        True,
        False,
    )
    assert [mine[n]["shots"] for n in ("Mara", "Old Tom", "Tom", "Lamp")] == [[2], [2], [3], [1]]
    assert mine["Telescope"]["shots"] == []  # stale: its name means nothing in a shot
    assert mine["Mara"]["camera_angles"][0]["shot"] == 2

    nobody = uuid.uuid4()
    unopened = seed.scenes[4]
    assert await _instance_count(sessions, unopened) == 0
    answered = _spy(monkeypatch)
    urls = [
        f"{base}/{unopened}/assets",  # first: the lean path hands over, the full handler makes them
        f"{base}/{sid}/assets",
        f"{base}/{sid}/assets?unknown=1",
        f"{base}/{seed.scenes[1]}/assets",
        f"{base}/{seed.scenes[2]}/assets",
        f"{base}/{nobody}/assets",
        f"{base}/{other_scene}/assets",
        f"/v1/projects/{other_pid}/scenes/{sid}/assets",
        f"/v1/projects/{nobody}/scenes/{sid}/assets",
        f"{base}/not-a-uuid/assets",
        f"/v1/projects/not-a-uuid/scenes/{sid}/assets",
        # Spellings of an id: FastAPI reads some (same answer), refuses others (same 422).
        f"{base}/{uuid.UUID(sid).hex}/assets",
        f"{base}/{sid.upper()}/assets",
        f"{base}/{sid}-/assets",
        f"{base}/{sid[:4]}-{sid[4:8]}{sid[9:]}/assets",
        f"/v1/projects/{seed.pid}-/scenes/{sid}/assets",
    ]
    statuses = await assert_same_answers(client, full_client, urls, who)
    assert {200, 401, 404, 422} <= statuses
    assert await _instance_count(sessions, unopened) == 2  # Mara and the lamp
    # The unopened scene was handed over, then answered lean like the others.
    assert answered[0] is False
    assert answered.count(True) == 4  # scenes 3 (twice), 1 and 2

    # A link added after the scene was opened: its instance is made by the full handler, once.
    await create_asset(client, auth, seed.pid, name="Lantern", type="prop", scene_numbers=[3])
    before = await _instance_count(sessions, sid)
    url = f"{base}/{sid}/assets"
    await assert_same_answers(client, full_client, [url], {"owner": auth}, lean_answers=False)
    assert await _instance_count(sessions, sid) == before + 1


async def test_empty_scene_and_older_script_version(
    client: httpx.AsyncClient,
    full_client: httpx.AsyncClient,
    auth: dict[str, str],
    settings: Settings,
) -> None:
    who = callers(settings, auth)
    pid = (await create_project(client, auth))["id"]
    api = Api(client, auth, pid)
    assert (await put_script(client, auth, pid, script(LANTERN, HARBOUR))).status_code == 201
    old = {s["number"]: s["id"] for s in (await api.call("GET", "/scenes"))["items"]}
    await create_asset(client, auth, pid, name="Mara", type="character", scene_numbers=[1])
    # A scene without assets: the scene and no items.
    empty_url = f"/v1/projects/{pid}/scenes/{old[2]}/assets"
    await assert_same_answers(client, full_client, [empty_url], who)
    empty = (await client.get(empty_url, headers=auth)).json()
    assert empty["items"] == []
    assert empty["scene"] == {"id": old[2], "number": 2, "heading": HARBOUR}

    await api.instances(old[1])
    assert (await put_script(client, auth, pid, script(HARBOUR, LANTERN, STAIRS))).status_code == 201
    new = {s["number"]: s["id"] for s in (await api.call("GET", "/scenes"))["items"]}
    urls = [f"/v1/projects/{pid}/scenes/{sid}/assets" for sid in [*old.values(), *new.values()]]
    statuses = await assert_same_answers(client, full_client, urls, who)
    assert {200, 409} <= statuses  # the old version's scenes: 409 scene_not_current
