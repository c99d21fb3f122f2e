from __future__ import annotations

import httpx

from tests.support.factories import create_project


async def test_create_list_get_patch_delete(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    p = await create_project(client, auth, title="Night Harbour", aspect_ratio="2.35:1")
    assert p["title"] == "Night Harbour"
    assert p["aspect_ratio"] == "2.35:1"
    assert p["style"]["capsule_id"] is None
    assert p["script_version"] is None

    listed = (await client.get("/v1/projects", headers=auth)).json()
    assert [x["id"] for x in listed["items"]] == [p["id"]]
    assert listed["total"] == 1

    r = await client.patch(f"/v1/projects/{p['id']}", json={"title": "Harbour at Night"}, headers=auth)
    assert r.status_code == 200
    assert r.json()["title"] == "Harbour at Night"
    assert r.json()["aspect_ratio"] == "2.35:1"

    assert (await client.delete(f"/v1/projects/{p['id']}", headers=auth)).status_code == 204
    r = await client.get(f"/v1/projects/{p['id']}", headers=auth)
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"


async def test_list_is_paginated_newest_first(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    ids = [(await create_project(client, auth, title=f"P{i}"))["id"] for i in range(5)]
    first = (await client.get("/v1/projects?limit=2", headers=auth)).json()
    second = (await client.get("/v1/projects?limit=2&offset=2", headers=auth)).json()
    assert first["total"] == 5
    assert [x["id"] for x in first["items"]] == ids[::-1][:2]
    assert [x["id"] for x in second["items"]] == ids[::-1][2:4]
    r = await client.get("/v1/projects?limit=1000", headers=auth)
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "validation_error"


async def test_style_capsules_presets_and_own(
    client: httpx.AsyncClient, auth: dict[str, str], settings: object, other_user: object
) -> None:
    capsules = (await client.get("/v1/style-capsules", headers=auth)).json()
    slugs = {c["slug"] for c in capsules if c["preset"]}
    assert {"3d-animation", "hyperrealistic", "noir", "2d-animation", "watercolor", "anime"} <= slugs

    body = {"name": "Rust Belt", "prompt_fragment": "rusted steel, sodium lights", "palette": ["#aa5500"]}
    r = await client.post("/v1/style-capsules", json=body, headers=auth)
    assert r.status_code == 201
    mine = r.json()
    assert mine["preset"] is False
    names = [c["name"] for c in (await client.get("/v1/style-capsules", headers=auth)).json()]
    assert names[-1] == "Rust Belt"

    r = await client.post("/v1/style-capsules", json={**body, "palette": ["orange"]}, headers=auth)
    assert r.status_code == 422


async def test_set_style_capsule_then_manual_tone(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    p = await create_project(client, auth)
    capsules = (await client.get("/v1/style-capsules", headers=auth)).json()
    noir = next(c for c in capsules if c["slug"] == "noir")
    r = await client.put(f"/v1/projects/{p['id']}/style", json={"capsule_id": noir["id"]}, headers=auth)
    assert r.status_code == 200
    assert r.json()["style"]["capsule_name"] == "Noir"
    assert r.json()["style"]["locked_at"] is not None

    tone = {"manual_tone": {"preset": "watercolor", "text": "autumn palette, misty mornings"}}
    r = await client.put(f"/v1/projects/{p['id']}/style", json=tone, headers=auth)
    assert r.status_code == 200
    assert r.json()["style"]["capsule_id"] is None
    assert r.json()["style"]["manual_tone"]["preset"] == "watercolor"

    r = await client.put(
        f"/v1/projects/{p['id']}/style", json={"manual_tone": {"preset": "vaporwave"}}, headers=auth
    )
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "unknown_preset"
    both = {"capsule_id": noir["id"], "manual_tone": {"preset": "noir"}}
    r = await client.put(f"/v1/projects/{p['id']}/style", json=both, headers=auth)
    assert r.status_code == 422
