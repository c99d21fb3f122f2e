"""Async factory helpers: build state through the real API, the way a user would."""

from __future__ import annotations

from typing import Any

import httpx

SMALL_SCRIPT = """Title: The Lighthouse

INT. LIGHTHOUSE - LANTERN ROOM - NIGHT

MARA (60s), weathered, a yellow oilskin coat, trims the WICK of the great LAMP.

MARA
Storm's coming.

EXT. HARBOUR - DAY

FISHERMEN haul nets. TOM (20s) runs along the quay holding a BRASS TELESCOPE.

TOM (O.S.)
Mara! A ship!

INT. LIGHTHOUSE - STAIRS - CONTINUOUS

Mara hurries down, lantern in hand.

MARA (CONT'D)
Not tonight.
"""


async def create_project(client: httpx.AsyncClient, auth: dict[str, str], **fields: Any) -> dict[str, Any]:
    body = {"title": "Test project", "aspect_ratio": "16:9", **fields}
    r = await client.post("/v1/projects", json=body, headers=auth)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def put_script(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    pid: str,
    text: str = SMALL_SCRIPT,
    fmt: str | None = None,
) -> httpx.Response:
    return await client.put(f"/v1/projects/{pid}/script", json={"text": text, "format": fmt}, headers=auth)


async def create_asset(
    client: httpx.AsyncClient, auth: dict[str, str], pid: str, **fields: Any
) -> dict[str, Any]:
    body = {"name": "Brass telescope", "type": "prop", "description": "A dented brass telescope.", **fields}
    r = await client.post(f"/v1/projects/{pid}/assets", json=body, headers=auth)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def set_style(client: httpx.AsyncClient, auth: dict[str, str], pid: str, slug: str = "noir") -> None:
    capsules = (await client.get("/v1/style-capsules", headers=auth)).json()
    capsule = next(c for c in capsules if c["slug"] == slug)
    r = await client.put(f"/v1/projects/{pid}/style", json={"capsule_id": capsule["id"]}, headers=auth)
    assert r.status_code == 200, r.text
