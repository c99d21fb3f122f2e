"""A second user gets 404 on every project-, asset- and job-scoped route of the first user's data.

Routes are enumerated from the app itself, so routes added later are covered automatically."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx

from shared.config import Settings
from tests.conftest import auth_for
from tests.support.factories import create_asset, create_project, put_script


async def test_other_user_gets_404_everywhere(
    client: httpx.AsyncClient, app_ctx: Any, settings: Settings, auth: dict[str, str], other_user: uuid.UUID
) -> None:
    project = await create_project(client, auth)
    pid = project["id"]
    assert (await put_script(client, auth, pid)).status_code == 201
    asset = await create_asset(client, auth, pid, scene_numbers=[1])
    job = (await client.post("/v1/jobs/ping", headers=auth)).json()["job"]
    scenes = (await client.get(f"/v1/projects/{pid}/scenes", headers=auth)).json()["items"]
    ids = {
        "pid": pid,
        "aid": asset["id"],
        "jid": job["id"],
        "sid": scenes[0]["id"],
        "tid": str(uuid.uuid4()),
        "iid": str(uuid.uuid4()),
        "gid": (await client.post(f"/v1/projects/{pid}/assets/{asset['id']}/promote", headers=auth)).json()[
            "id"
        ],
    }
    before = (await client.get(f"/v1/projects/{pid}/assets/{asset['id']}", headers=auth)).json()

    intruder = auth_for(settings, other_user)
    checked = []
    for template, operations in app_ctx.openapi()["paths"].items():
        if not any(p in template for p in ("{pid}", "{jid}", "{gid}")):
            continue
        path = re.sub(r"\{(\w+)\}", lambda m: ids[m.group(1)], template)
        for method in operations:
            r = await client.request(method.upper(), path, headers=intruder, json={})
            assert r.status_code == 404, (method, template, r.status_code, r.text)
            assert r.json()["error"]["code"] == "not_found"
            checked.append(f"{method} {template}")
    assert len(checked) >= 15, checked

    after = (await client.get(f"/v1/projects/{pid}/assets/{asset['id']}", headers=auth)).json()
    assert after == before
    assert (await client.get(f"/v1/projects/{pid}", headers=auth)).json()["title"] == project["title"]
    assert (await client.get("/v1/projects", headers=intruder)).json()["total"] == 0
    assert (await client.get("/v1/library", headers=intruder)).json()["total"] == 0
    assert (await client.get(f"/v1/library/{ids['gid']}", headers=auth)).status_code == 200
    assert (await client.get(f"/v1/jobs/{job['id']}", headers=auth)).json()["status"] == "queued"
