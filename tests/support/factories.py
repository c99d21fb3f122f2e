"""Async factory helpers: build state through the real API, the way a user would, or as rows
directly when a rule is tested on its own."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from shared.models import AssetSceneLink, Project, ProjectAsset, Scene, Script
from shared.scripts.service import add_version, write_scenes

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


# --- rows built directly, for rules tested without HTTP or a worker (reconcile, merge)


async def make_project(session: AsyncSession, *, owner_id: uuid.UUID | None = None) -> Project:
    project = Project(id=uuid.uuid4(), owner_id=owner_id or uuid.uuid4(), title="Rows", aspect_ratio="16:9")
    session.add(project)
    await session.flush()
    return project


async def make_script(session: AsyncSession, project: Project, text: str = SMALL_SCRIPT) -> Script:
    """A script version with its scenes parsed and written, as PUT .../script does."""
    script = await add_version(session, project_id=project.id, text=text, fmt=None)
    await write_scenes(session, script)
    return script


async def make_asset(
    session: AsyncSession, project: Project, *, name: str, type: str = "character", **fields: Any
) -> ProjectAsset:
    asset = ProjectAsset(
        id=uuid.uuid4(),
        project_id=project.id,
        name=name,
        type=type,
        source=fields.pop("source", "extracted"),
        aliases=fields.pop("aliases", []),
        **fields,
    )
    session.add(asset)
    await session.flush()
    return asset


async def link(
    session: AsyncSession, asset: ProjectAsset, scene: Scene, *, source: str = "extracted"
) -> AssetSceneLink:
    row = AssetSceneLink(id=uuid.uuid4(), asset_id=asset.id, scene_id=scene.id, source=source, removed=False)
    session.add(row)
    await session.flush()
    return row
