"""The scene list is paginated like every other list: ``limit``/``offset`` in, ``total`` out, the
default page size from the settings, and following the pages gives every scene once, in order."""

from __future__ import annotations

from typing import Any

import httpx

from shared.config import Settings
from tests.support.factories import create_asset, create_project, put_script


def _script(scenes: int) -> str:
    body = "\n".join(f"INT. ROOM {n} - NIGHT\n\nSomeone waits in room {n}.\n" for n in range(1, scenes + 1))
    return f"Title: Many rooms\n\n{body}"


async def _pages(
    client: httpx.AsyncClient, auth: dict[str, str], pid: str, limit: int
) -> list[dict[str, Any]]:
    pages, offset = [], 0
    while True:
        r = await client.get(
            f"/v1/projects/{pid}/scenes", params={"limit": limit, "offset": offset}, headers=auth
        )
        assert r.status_code == 200, r.text
        pages.append(r.json())
        offset += limit
        if offset >= r.json()["total"]:
            return pages


async def test_following_the_pages_gives_every_scene_once_in_order(
    client: httpx.AsyncClient, auth: dict[str, str], settings: Settings
) -> None:
    pid = (await create_project(client, auth))["id"]
    count = settings.page_size_default + 7
    assert (await put_script(client, auth, pid, _script(count))).status_code == 201
    lamp = await create_asset(client, auth, pid, name="Lamp", type="prop", scene_numbers=[1, 2, count])
    mara = await create_asset(client, auth, pid, name="Mara", type="character", scene_numbers=[2])

    first = (await client.get(f"/v1/projects/{pid}/scenes", headers=auth)).json()
    assert (first["total"], first["limit"], first["offset"]) == (count, settings.page_size_default, 0)
    assert first["script_version"] == 1
    assert [s["number"] for s in first["items"]] == list(range(1, settings.page_size_default + 1))

    pages = await _pages(client, auth, pid, limit=5)
    assert len(pages) == -(-count // 5)
    assert all(p["total"] == count and p["script_version"] == 1 for p in pages)
    scenes = [s for p in pages for s in p["items"]]
    assert [s["number"] for s in scenes] == list(range(1, count + 1))
    assert [s["id"] for s in scenes[: settings.page_size_default]] == [s["id"] for s in first["items"]]
    # Dependencies come with their scene, on whichever page it falls.
    deps = {s["number"]: s["dependencies"] for s in scenes}
    assert [d["asset_id"] for d in deps[1]["prop"]] == [lamp["id"]]
    assert deps[2]["character"] == [
        {"asset_id": mara["id"], "name": "Mara", "source": "manual", "deferred": False}
    ]
    assert [d["asset_id"] for d in deps[count]["prop"]] == [lamp["id"]]
    assert deps[3] == {"character": [], "prop": [], "location": [], "extra_archetype": []}
    assert scenes[0]["heading"] == "INT. ROOM 1 - NIGHT"
    assert (scenes[0]["int_ext"], scenes[0]["location"], scenes[0]["time_of_day"]) == (
        "INT",
        "ROOM 1",
        "NIGHT",
    )

    past = (await client.get(f"/v1/projects/{pid}/scenes?offset={count}", headers=auth)).json()
    assert (past["items"], past["total"], past["offset"], past["script_version"]) == ([], count, count, 1)


async def test_a_project_without_a_script_has_an_empty_page_and_bad_pages_are_a_422(
    client: httpx.AsyncClient, auth: dict[str, str], settings: Settings
) -> None:
    pid = (await create_project(client, auth))["id"]
    empty = (await client.get(f"/v1/projects/{pid}/scenes", headers=auth)).json()
    assert empty == {
        "items": [],
        "total": 0,
        "limit": settings.page_size_default,
        "offset": 0,
        "script_version": None,
    }
    for query in (f"limit={settings.page_size_max + 1}", "limit=0", "offset=-1", "limit=x"):
        r = await client.get(f"/v1/projects/{pid}/scenes?{query}", headers=auth)
        assert r.status_code == 422, query
        assert r.json()["error"]["code"] == "validation_error"
