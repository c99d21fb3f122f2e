"""Every polled read with a lean path (services/api/lean.py) answers exactly what FastAPI's full
handler of the same route answers: the same status, headers that matter and bytes, for the caller's
own data and for every request the lean path hands over (no token, a bad token, someone else's
project, an unknown id, a malformed id). The same requests go to the app with ``lean_reads`` off.

A new lean route needs such a test (``tests/support/lean.py`` has the comparer) and its path in
``COMPARED``: the test fails on a lean route no test compares."""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.routing import Match

from services.api.lean import LEAN_READS, lean_of
from shared.config import Settings
from shared.models import AssetAttempt, AssetSceneLink, ProjectAsset, Scene
from tests.support.factories import create_asset, create_project, put_script
from tests.support.lean import assert_same_answers, callers

# The lean routes a test compares with the full handler (each test names its file here).
COMPARED = {
    "/v1/projects/{pid}/assets/{aid:uuid}/attempts",  # below
    "/v1/projects/{pid}/assets",  # below
    "/v1/projects/{pid}/scenes",  # below
    "/v1/projects/{pid}/assets/{aid}/timeline",  # tests/continuity/test_lean_timeline.py
    "/v1/projects/{pid}/scenes/{sid}/assets",  # tests/stage8/test_lean_scene_list.py
    "/v1/jobs/ping",  # tests/jobs/test_lean_ping.py
}


@dataclass
class Seed:
    pid: str
    aid: str  # an asset with images
    bare: str  # an asset without images
    other_pid: str  # someone else's project, with a script
    empty_pid: str  # the caller's project without a script or assets


async def _seed(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    other: dict[str, str],
    sessions: async_sessionmaker[AsyncSession],
) -> Seed:
    pid = (await create_project(client, auth))["id"]
    asset = await create_asset(client, auth, pid, name="Mara", type="character", description="A waitress")
    bare = await create_asset(client, auth, pid, name="Lamp", type="prop")
    deferred = await create_asset(client, auth, pid, name="Gull", type="extra_archetype")
    r = await client.patch(
        f"/v1/projects/{pid}/assets/{deferred['id']}", json={"deferred": True}, headers=auth
    )
    assert r.status_code == 200, r.text
    r = await put_script(client, auth, pid)
    assert r.status_code == 201, r.text
    empty_pid = (await create_project(client, auth))["id"]
    other_pid = (await create_project(client, other))["id"]
    r = await put_script(client, other, other_pid)
    assert r.status_code == 201, r.text
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
        scenes = (await s.scalars(select(Scene).where(Scene.project_id == uuid.UUID(pid)))).all()
        by_number = {sc.number: sc for sc in scenes}
        for aid, numbers, source in ((asset["id"], (1, 3), "extracted"), (bare["id"], (1,), "manual")):
            for n in numbers:
                s.add(AssetSceneLink(asset_id=uuid.UUID(aid), scene_id=by_number[n].id, source=source))
        s.add(AssetSceneLink(asset_id=uuid.UUID(deferred["id"]), scene_id=by_number[2].id, source="stage8"))
        # Metadata is jsonb, decoded by the codec SQLAlchemy's dialect puts on the driver connection.
        await s.execute(
            update(ProjectAsset)
            .where(ProjectAsset.id == uuid.UUID(asset["id"]))
            .values(meta={"age": "60s", "traits": ["weathered", 1.5, None], "é": True})
        )
        await s.commit()
    return Seed(pid=pid, aid=asset["id"], bare=bare["id"], other_pid=other_pid, empty_pid=empty_pid)


Callers = dict[str, dict[str, str]]


@pytest.fixture
async def seeded(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
) -> tuple[Seed, Callers]:
    """The seeded projects, and every kind of caller (``someone else`` owns the other project)."""
    who = callers(settings, auth)
    return await _seed(client, auth, who["someone else"], sessions), who


def _lean_routes(client: httpx.AsyncClient) -> list[APIRoute]:
    app = client._transport.app  # type: ignore[attr-defined]
    return [
        r.original_route
        for r in iter_route_contexts(app.router.routes)
        if isinstance(r.original_route, APIRoute) and lean_of(r.endpoint) is not None
    ]


async def test_every_lean_route_is_compared(client: httpx.AsyncClient) -> None:
    lean_routes = {r.path for r in _lean_routes(client)}
    assert lean_routes, "no lean route found"
    missing = lean_routes - COMPARED
    assert not missing, f"lean routes no test compares with the full handler: {missing}"


async def test_fastapi_routes_lean_paths_to_the_same_route(client: httpx.AsyncClient) -> None:
    """The lane answers before FastAPI's routing: no route FastAPI tries first may match the paths
    the lane answers (every parameter a UUID)."""
    app = client._transport.app  # type: ignore[attr-defined]
    for route in _lean_routes(client):
        path = re.sub(r"\{[^}]+\}", lambda _: str(uuid.uuid4()), route.path)
        methods = route.methods or {"GET"}
        method = "GET" if "GET" in methods else next(iter(methods))
        scope = {"type": "http", "method": method, "path": path, "root_path": "", "headers": []}
        chosen = next(
            (
                r.original_route
                for r in iter_route_contexts(app.router.routes)
                if isinstance(r.original_route, APIRoute) and r.original_route.matches(scope)[0] == Match.FULL
            ),
            None,
        )
        assert chosen is route, (path, getattr(chosen, "path", None))


async def test_carousel_answers_as_the_full_handler(
    client: httpx.AsyncClient, full_client: httpx.AsyncClient, seeded: tuple[Seed, Callers]
) -> None:
    seed, who = seeded
    nobody = uuid.uuid4()
    urls = [
        f"/v1/projects/{seed.pid}/assets/{seed.aid}/attempts",
        f"/v1/projects/{seed.pid}/assets/{seed.aid}/attempts?unknown=1",
        f"/v1/projects/{seed.pid}/assets/{seed.bare}/attempts",
        f"/v1/projects/{seed.pid}/assets/{nobody}/attempts",
        f"/v1/projects/{seed.other_pid}/assets/{seed.aid}/attempts",
        f"/v1/projects/not-a-uuid/assets/{seed.aid}/attempts",
        # Spellings Python's UUID() reads and pydantic refuses, or reads as well.
        f"/v1/projects/{seed.pid}-/assets/{seed.aid}/attempts",
        f"/v1/projects/{seed.pid.replace('-', '')}/assets/{seed.aid}/attempts",
        f"/v1/projects/{seed.pid.upper()}/assets/{seed.aid}/attempts",
        f"/v1/projects/{{{seed.pid}}}/assets/{seed.aid}/attempts",
        f"/v1/projects/urn:uuid:{seed.pid}/assets/{seed.aid}/attempts",
        f"/v1/projects/{seed.pid}/assets/{seed.aid.upper()}/attempts",
        f"/v1/projects/{seed.pid}/assets/{seed.aid.replace('-', '')}/attempts",
    ]
    statuses = await assert_same_answers(client, full_client, urls, who)
    # The comparison covered answers and each kind of refusal.
    assert {200, 401, 404, 422} <= statuses


async def test_asset_list_answers_as_the_full_handler(
    client: httpx.AsyncClient,
    full_client: httpx.AsyncClient,
    seeded: tuple[Seed, Callers],
    auth: dict[str, str],
    settings: Settings,
) -> None:
    seed, who = seeded
    base = f"/v1/projects/{seed.pid}/assets"
    queries = [
        "",
        "?status=all",
        "?status=deferred",
        "?type=prop",
        "?type=prop&status=all",
        "?limit=1",
        "?limit=1&offset=1",
        "?offset=007",
        "?limit=2&limit=1",
        "?offset=50",  # past the last page: empty
        "?type=location",  # no such asset: empty
        "?unknown=1",
        # Refused by the full handler, each as before.
        "?limit=0",
        f"?limit={settings.page_size_max + 1}",
        "?limit=abc",
        "?limit=+1",
        "?offset=-1",
        f"?offset={2**31}",
        "?status=gone",
        "?type=Prop",
        "?status=%00",
        # A NUL in any value of a repeated parameter is refused, though the last one is read.
        "?limit=%00&limit=5",
        "?status=%00&status=all",
        # More digits than int() reads: a refusal, not a failure of the lean path.
        "?offset=" + "9" * 5000,
    ]
    urls = [base + q for q in queries]
    urls += [
        f"/v1/projects/{seed.other_pid}/assets",
        f"/v1/projects/{seed.empty_pid}/assets",
        "/v1/projects/not-a-uuid/assets",
    ]
    failures = _lean_failures()
    statuses = await assert_same_answers(client, full_client, urls, who)
    assert {200, 401, 404, 422} <= statuses
    assert _lean_failures() == failures  # each was answered or handed over, none failed


def _lean_failures() -> float:
    return sum(
        sample.value
        for metric in LEAN_READS.collect()
        for sample in metric.samples
        if sample.name.endswith("_total") and sample.labels.get("outcome") == "error"
    )


async def test_a_lean_read_with_the_pool_exhausted_answers_503_after_one_wait(
    settings: Settings, migrated: str, clean: None, auth: dict[str, str]
) -> None:
    """Every pooled connection busy: the lean path answers the full handler's 503 itself, instead of
    handing over to wait for the pool a second time (twice as long, two connection attempts)."""
    from services.api.app import create_app

    wait_s = 1.0
    app = create_app(settings.model_copy(update={"database_pool_size": 1, "database_pool_timeout_s": wait_s}))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c,
    ):
        pid = (await create_project(c, auth))["id"]
        await create_asset(c, auth, pid, name="Mara", type="character")
        url = f"/v1/projects/{pid}/assets"
        assert (await c.get(url, headers=auth)).status_code == 200
        held = [await app.state.engine.connect() for _ in range(1 + 5)]  # pool_size + max_overflow
        try:
            started = time.monotonic()
            down = await c.get(url, headers=auth)
            elapsed = time.monotonic() - started
        finally:
            for conn in held:
                await conn.close()
        assert down.status_code == 503, down.text
        assert down.json()["error"]["code"] == "database_unavailable"
        assert down.headers["retry-after"] == "2"
        assert wait_s <= elapsed < 1.8 * wait_s, elapsed  # one wait for the pool, not two
        assert (await c.get(url, headers=auth)).status_code == 200


async def test_scene_list_answers_as_the_full_handler(
    client: httpx.AsyncClient,
    full_client: httpx.AsyncClient,
    seeded: tuple[Seed, Callers],
    auth: dict[str, str],
    settings: Settings,
) -> None:
    seed, who = seeded
    base = f"/v1/projects/{seed.pid}/scenes"
    first = (await client.get(base, headers=auth)).json()
    assert first["total"] == 3, first
    assert first["script_version"] == 1
    assert [d["name"] for d in first["items"][0]["dependencies"]["character"]] == ["Mara"]
    queries = ["", "?limit=1", "?limit=2&offset=1", "?offset=3", "?offset=99", "?unknown=x"]
    queries += ["?limit=0", f"?limit={settings.page_size_max + 1}", "?offset=-1", "?limit=1.5", "?limit=%00"]
    urls = [base + q for q in queries]
    urls += [
        f"/v1/projects/{seed.other_pid}/scenes",
        f"/v1/projects/{seed.empty_pid}/scenes",
        f"/v1/projects/{uuid.uuid4()}/scenes",
        "/v1/projects/not-a-uuid/scenes",
    ]
    statuses = await assert_same_answers(client, full_client, urls, who)
    assert {200, 401, 404, 422} <= statuses
