"""Every polled read with a lean path (services/api/lean.py) answers exactly what FastAPI's full
handler of the same route answers: the same status, headers that matter and bytes, for the caller's
own data and for every request the lean path hands over (no token, a bad token, someone else's
project, an unknown id, a malformed id). The same requests go to the app with ``lean_reads`` off.

A new lean route needs such a test (``tests/support/lean.py`` has the comparer) and its path in
``COMPARED``: the test fails on a lean route no test compares."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
from fastapi.routing import iter_route_contexts
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.api.lean import LeanRoute
from shared.config import Settings
from shared.models import AssetAttempt
from tests.support.factories import create_asset, create_project
from tests.support.lean import assert_same_answers, callers

# The lean routes a test compares with the full handler (each test names its file here).
COMPARED = {
    "/v1/projects/{pid}/assets/{aid:uuid}/attempts",  # below
    "/v1/projects/{pid}/scenes/{sid}/assets",  # tests/stage8/test_lean_scene_list.py
}


@dataclass
class Seed:
    pid: str
    aid: str  # an asset with images
    bare: str  # an asset without images
    other_pid: str  # someone else's project


async def _seed(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    other: dict[str, str],
    sessions: async_sessionmaker[AsyncSession],
) -> Seed:
    pid = (await create_project(client, auth))["id"]
    asset = await create_asset(client, auth, pid, name="Mara", type="character", description="A waitress")
    bare = await create_asset(client, auth, pid, name="Lamp", type="prop")
    other_pid = (await create_project(client, other))["id"]
    t0 = datetime(2026, 11, 30, 14, 5, 39, 870123, tzinfo=UTC)
    async with sessions() as s:
        for n in (1, 2, 3):
            s.add(
                AssetAttempt(
                    asset_id=uuid.UUID(asset["id"]),
                    project_id=uuid.UUID(pid),
                    attempt_number=n,
                    source="generated" if n != 2 else "uploaded",
                    selected=n == 3,
                    storage_key=f"projects/{pid}/assets/{asset['id']}/attempt-{n}.png",
                    thumbnail_key=f"projects/{pid}/assets/{asset['id']}/attempt-{n}.thumb.webp"
                    if n > 1
                    else None,
                    mime="image/png",
                    width=1024,
                    height=576,
                    bytes=1000 * n,
                    prompt_snapshot="Mara, a cook." if n == 1 else "Mara: A waitress",
                    created_at=t0 + timedelta(seconds=n),
                )
            )
        await s.commit()
    return Seed(pid=pid, aid=asset["id"], bare=bare["id"], other_pid=other_pid)


async def test_every_lean_route_is_compared(client: httpx.AsyncClient) -> None:
    app = client._transport.app  # type: ignore[attr-defined]
    lean_routes = {
        str(r.path)
        for r in iter_route_contexts(app.router.routes)
        if isinstance(r.original_route, LeanRoute) and getattr(r.endpoint, "__lean_read__", None)
    }
    assert lean_routes, "no lean route found"
    assert lean_routes <= COMPARED, (
        f"lean routes no test compares with the full handler: {lean_routes - COMPARED}"
    )


async def test_carousel_answers_as_the_full_handler(
    client: httpx.AsyncClient,
    full_client: httpx.AsyncClient,
    auth: dict[str, str],
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    who = callers(settings, auth)
    seed = await _seed(client, auth, who["someone else"], sessions)
    nobody = uuid.uuid4()
    urls = [
        f"/v1/projects/{seed.pid}/assets/{seed.aid}/attempts",
        f"/v1/projects/{seed.pid}/assets/{seed.aid}/attempts?unknown=1",
        f"/v1/projects/{seed.pid}/assets/{seed.bare}/attempts",
        f"/v1/projects/{seed.pid}/assets/{nobody}/attempts",
        f"/v1/projects/{seed.other_pid}/assets/{seed.aid}/attempts",
        f"/v1/projects/not-a-uuid/assets/{seed.aid}/attempts",
    ]
    statuses = await assert_same_answers(client, full_client, urls, who)
    # The comparison covered answers and each kind of refusal.
    assert {200, 401, 404, 422} <= statuses
