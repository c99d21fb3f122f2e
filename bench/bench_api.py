"""The API's hot read paths through the real app, each next to bare Starlette + asyncpg running the
same SQL, in the same run (issue 13).

    python -m bench.bench_api [--concurrency 16] [--warmup 1.5] [--duration 5] [--only WORD] [--no-wrk]

Read paths: the asset list (50 assets), the scene list of a 220-scene feature script (first page),
the attempts carousel of one asset (4 images), the Stage 8 scene list (the feature's scene with the
most assets) and the asset timeline (the feature's lead, in 147 of the 220 scenes, Stage 8 opened
on 40 of them).

Seed, all through the real API except attempt rows (inserted with the ORM, fake storage keys): a
10-scene script with 50 assets of all four types linked to scenes, attempts on every third asset
(most with a selected image, the first a full carousel); and a feature project: 220 scenes, 60
assets over them (~4 per scene), one master image, Stage 8 lists read once so instances exist.

The bare server gets the exact SQL the app runs: for each path one request is served in-process
(after a first request, so nothing made on first read is captured), its statements caught by a
``before_cursor_execute`` hook on the app's engine (session reads) and by asyncpg's query logger on
the pooled driver connections (lean reads, ``shared/db_raw.py``), and replayed verbatim by asyncpg,
in a transaction only when the app used one.

- ``real``: the FastAPI app under uvicorn (``services.api.main:app``): auth, ownership check, the
  route's queries, signed image URLs, request-id/metrics/CORS middleware. The five read paths are
  answered by their lean path (``services/api/lean.py``) as a client would see them.
- ``bare same SQL`` / ``bare: <path>``: one Starlette route running the captured statements on one
  pooled connection; the asset list is answered in the app's shape, the other paths as every
  returned row in JSON.
- ``bare list only``: the asset list statement alone, no transaction. ``bare static``: a constant
  body, no database: what the load generator can drive.

Load: a pure-Python generator in its own process (httpx.AsyncClient, HTTP/1.1 keep-alive,
``--concurrency`` connections), warm-up then a measured window bounded by time and count. The
machine's cores are shared by the generator, the server and PostgreSQL, so each row also shows the
server's CPU per request (from /proc), which does not depend on how fast the generator is: compare
that. When ``wrk`` is installed it runs too, with the same connections and durations.

Where the time went (issue 13, before the changes; cProfile with a process-CPU timer over 400 asset
list requests served in-process, the ASGI app called directly, so no HTTP parsing is in it)
-------------------------------------------------------------------------------------------

Asset list, share of the request's CPU:

- building the 50 items: 29%. ``model_construct`` of 50 ``AssetOut`` + 13 ``ImageRef``: 15%
  (pydantic's Python-level loop over fields); signing image URLs one by one: 7%
  (``hmac.new`` + ``quote`` per URL); ORM attribute reads for the rest.
- ORM hydration of the 50 ``ProjectAsset`` rows (instance state, identity map): 11%.
- FastAPI dependency resolution: ~10%, of which the ownership check 4.5% (its select, and the
  select's cache key, built on every request) and the JWT decode 4% (the same token verified again
  on every poll).
- FastAPI routing: ~5%. Middleware (request id, metrics, CORS, body limit, NUL check): under 2%
  (``/healthz`` through the whole stack costs 0.08 ms).
- garbage collection: a full collection every few hundred requests walks the ~300k objects built at
  import (routes, schemas, mappers): ~0.45 ms per request amortised.
- the pool's pre-ping: a round trip per request, 0.1-0.2 ms of CPU (measured apart: a session's
  lifecycle costs 0.45-0.60 ms with it, 0.36 ms without).
- JSON: 2% (already pydantic-core, serialised once). Event loop and sockets: ~6% (the bare pays it).

Other paths: the scene list loaded the current script as an ORM object (its whole text) and all 220
scenes, validated 220 ``SceneOut`` models and 900 ``DependencyOut``; the Stage 8 scene list spent
half its CPU in SQLAlchemy building its 8 statements on every read (operators, coercions, cache
keys, the alias and LATERAL subquery's column proxies); the timeline built a transient ORM instance
for each scene Stage 8 had not opened, loaded 220 ``Scene`` objects, and signed the same master
image's two URLs again for each of ~150 scenes.

What was done: list rows read as Core tuples and answered as dicts through pydantic-core (same
bytes as the models); a one-shot HMAC and no ``quote`` for plain keys; verified tokens remembered
until their ``exp``; statements built once with bound parameters (ownership check, asset and
carousel lookups, the Stage 8 list, the timeline); the scene list paginated (``limit``/``offset``)
and read without the script text; the production entry point freezes its startup heap
(``gc.freeze``); the pool pings a connection only when it sat idle (``DATABASE_PING_AFTER_IDLE_S``).

Then (second round, this session), profiled again: after the changes above, what was left per
request was fixed cost, which the bare server does not pay: SQLAlchemy's AsyncSession ~0.11 ms
(Core) to ~0.15 ms (ORM entity) of CPU per statement against ~0.02 ms for the same fetch on asyncpg,
~0.35 ms for a session's checkout, BEGIN, COMMIT and close; FastAPI's dependency resolution (bearer,
user, session, ownership, settings, storage, the app-wide NUL check) ~0.2-0.3 ms; FastAPI 0.16x's
routing ~0.15 ms (each included router's routes matched in turn with bookkeeping per candidate: 28%
of the carousel's CPU once the rest was gone). Paths with few rows (the carousel, the Stage 8 list)
were mostly that.

What was done: each read path got a lean path (``services/api/lean.py``): ``LeanLane``, the innermost
middleware, offers GET requests of a ``@lean`` route to its lean function before FastAPI routes
them; the function reads the caller and parameters off the request, runs statements compiled once
from their Core definition on the driver connection (``shared/db_raw.py``: no session, no
transaction: at READ COMMITTED each statement has its own snapshot anyway), with the ownership check
inside the statement, and answers dicts in the model's field order. Anything else (no or bad token,
a malformed id or parameter, not found, a read that must write, any error) goes to the unchanged
full handler, so errors keep one source; tests compare both answers byte for byte
(``tests/support/lean.py``). The timeline and the Stage 8 list were rebuilt as one statement each
(four for the timeline) with pure assembly functions that both paths share.

Figures (this machine, 2 shared cores, 30 Nov 2026; server CPU ms per request, real / bare same
SQL; first round: the commit before it, then after it; second round: after the lean paths):

    asset list, 50 assets            4.87 / 1.08 = 4.5x  ->  2.27 / 1.21 = 1.9x  ->  1.28 / 0.99 = 1.3x
    scene list, 220-scene feature    25.2 / 5.41 = 4.7x  ->  2.71 / 1.31 = 2.1x  ->  1.27 / 1.14 = 1.1x
      (before: all 220 scenes, 135,675 B; after: the first page of 50, 30,225 B)
    attempts carousel, 4 images      2.55 / 0.47 = 5.4x  ->  2.36 / 0.46 = 5.1x  ->  0.71 / 0.40 = 1.8x
    Stage 8 scene list               8.05 / 0.73 = 11.0x ->  4.29 / 0.77 = 5.6x  ->  0.72 / 0.37 = 2.0x
    asset timeline, 220 scenes       24.3 / 3.56 = 6.8x  ->  10.2 / 2.85 = 3.6x  ->  1.85 / 2.13 = 0.9x

The bare floor moved too: it replays what the app now runs (one statement for the carousel and the
Stage 8 list, no transaction), so the ratios compare like with like. The timeline's floor encodes
every returned column of ~220 wide rows as JSON, which our assembly does not need, hence below 1x.
Runs vary by +-20% per row on this shared machine; the small paths (carousel, Stage 8 list) sit at
1.7x-2.3x over runs, with routing gone and ~0.3 ms left in middleware (CORS, request id, access log,
metrics), the pool checkout and the lean function itself.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import importlib
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

try:
    import bench  # noqa: F401 - only checking it is importable
except ModuleNotFoundError:  # run as a script: bench/ is sys.path[0], not the repo root
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (
    CpuMeter,
    Server,
    asyncpg_dsn,
    bench_settings,
    exclusive_run,
    exit_on_sigterm,
    flush_redis,
    percentile,
    prepare_database,
    print_table,
    run_module,
    settings_env,
    start_server,
    try_uvloop,
)
from shared.auth import make_token
from shared.config import Settings

SPEC_ENV = "FILMASSETS_BENCH_BARE_SPEC"
HEADERS_ENV = "FILMASSETS_BENCH_LOAD_HEADERS"

SCRIPT = """Title: Harbour Lights

INT. LIGHTHOUSE - LANTERN ROOM - NIGHT

MARA trims the wick of the great lamp. A BRASS TELESCOPE lies on the sill.

MARA
Storm's coming.

EXT. HARBOUR - DAY

FISHERMEN haul nets. TOM runs along the quay.

TOM
Mara! A ship!

INT. LIGHTHOUSE - STAIRS - CONTINUOUS

Mara hurries down, a LANTERN in hand.

EXT. CLIFF PATH - NIGHT

Rain. Mara and Tom climb, the lantern swinging.

INT. HARBOURMASTER'S OFFICE - NIGHT

The HARBOURMASTER studies a chart under a green lamp.

HARBOURMASTER
No ship is due.

EXT. OPEN SEA - NIGHT

A schooner, the GREY HERON, lists in the swell.

INT. GREY HERON - HOLD - NIGHT

CAPTAIN VOSS bails water with a tin bucket.

EXT. BEACH - DAWN

Wreckage. Tom drags a SEA CHEST above the tide line.

INT. MARA'S COTTAGE - DAY

Mara opens the chest: a ship's LOG, soaked.

EXT. LIGHTHOUSE - GALLERY - DUSK

Mara and Tom watch the horizon. The lamp turns.
"""

# 15 characters, 15 props, 12 locations, 8 extras: 50 assets, the default page size.
NAMES = {
    "character": "Mara Tom Harbourmaster Captain-Voss Elsie Fisherman-Ned Cook Pilot Widow-Hale Boy-Sam "
    "Curate Smuggler Coastguard Doctor-Penn Mate",
    "prop": "Brass-telescope Lantern Great-lamp Sea-chest Ship's-log Chart Tin-bucket Oilskin-coat "
    "Rope-coil Compass Flare-gun Pocket-watch Gaff-hook Bell Key-ring",
    "location": "Lantern-room Harbour Stairs Cliff-path Harbourmaster's-office Open-sea Grey-Heron-hold "
    "Beach Mara's-cottage Gallery Quay Chapel",
    "extra_archetype": "Fishermen Dock-workers Villagers Sailors Gulls-and-onlookers Choir Rescue-crew "
    "Market-sellers",
}


# --- seeding and capturing the SQL


@dataclass(slots=True)
class Endpoint:
    """One read path: its URL path on the app and the SQL one request runs, in order."""

    name: str
    path: str
    statements: list[dict[str, Any]]
    # Whether the app ran them in a transaction (a session); lean reads run on the driver
    # connection without one, and the bare replay does as the app did.
    transaction: bool = True


@dataclass(slots=True)
class Seeded:
    project_id: str
    token: str
    endpoints: list[Endpoint]


def _plain(value: Any) -> Any:
    """Parameters as JSON values asyncpg accepts back (it takes a str for a uuid parameter; a
    datetime travels tagged and is rebuilt by ``_unplain``)."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dt.datetime):
        return {"__datetime__": value.isoformat()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _unplain(value: Any) -> Any:
    if isinstance(value, dict) and "__datetime__" in value:
        return dt.datetime.fromisoformat(value["__datetime__"])
    if isinstance(value, list):
        return [_unplain(v) for v in value]
    return value


FEATURE_SCENES = 220
FEATURE_ASSETS = 60


def feature_script(scenes: int = FEATURE_SCENES) -> str:
    """A feature-length Fountain script: ``scenes`` scenes over 24 locations."""
    parts = ["Title: The Long Tide\n"]
    for n in range(1, scenes + 1):
        place = "INT." if n % 3 else "EXT."
        parts.append(f"{place} PLACE {n % 24 + 1} - {'NIGHT' if n % 2 else 'DAY'}\n")
        parts.append(f"Scene {n}: the tide turns; someone waits by the water.\n")
    return "\n".join(parts)


def _feature_assets() -> list[dict[str, Any]]:
    """60 assets over the 220 scenes, ~4 per scene; the lead (first) is in two scenes of three."""
    types = ("character", "prop", "location", "extra_archetype")
    out = []
    for i in range(FEATURE_ASSETS):
        if i == 0:
            numbers = [n for n in range(1, FEATURE_SCENES + 1) if n % 3]
        else:
            numbers = sorted({(i * 7 + k * 13) % FEATURE_SCENES + 1 for k in range(10)})
        out.append(
            {
                "name": f"Feature {types[i % 4].replace('_', ' ')} {i:02d}",
                "type": types[i % 4],
                "description": f"Asset {i} of the feature.",
                "scene_numbers": numbers,
            }
        )
    return out


def _attempt(pid: str, aid: str, n: int, *, selected: bool) -> Any:
    from shared.models import AssetAttempt

    key = f"projects/{pid}/assets/{aid}/attempt-{n}"
    return AssetAttempt(
        id=uuid.uuid4(),
        asset_id=uuid.UUID(aid),
        project_id=uuid.UUID(pid),
        attempt_number=n,
        source="generated",
        selected=selected,
        storage_key=f"{key}.jpg",
        thumbnail_key=f"{key}.thumb.webp",
        width=1024,
        height=1024,
        mime="image/jpeg",
        bytes=180_000,
    )


async def seed(settings: Settings) -> Seeded:
    """Build the data through the real API (in-process), then capture the SQL of one request on
    each read path."""
    from sqlalchemy import event

    from services.api.app import create_app

    app = create_app(settings)
    user = uuid.uuid4()
    token = make_token(settings, sub=user)
    auth = {"Authorization": f"Bearer {token}"}
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://seed") as client,
    ):

        async def call(method: str, path: str, body: Any = None) -> Any:
            r = await client.request(method, path, json=body, headers=auth)
            r.raise_for_status()
            return r.json()

        pid = (await call("POST", "/v1/projects", {"title": "Harbour Lights"}))["id"]
        scenes = (await call("PUT", f"/v1/projects/{pid}/script", {"text": SCRIPT}))["scene_count"]
        if scenes != 10:
            raise RuntimeError(f"the seed script parsed into {scenes} scenes, expected 10")
        assets: list[str] = []
        for type_, names in NAMES.items():
            for name in names.split():
                i = len(assets)
                body = {
                    "name": name.replace("-", " "),
                    "type": type_,
                    "description": f"{name.replace('-', ' ')}, as seen in the storm.",
                    "aliases": [name.split("-")[0].upper()],
                    "scene_numbers": sorted({i % 10 + 1, (i * 3) % 10 + 1, (i * 7 + 2) % 10 + 1}),
                }
                assets.append((await call("POST", f"/v1/projects/{pid}/assets", body))["id"])
        # Every third asset gets 1-3 attempts, most of those one selected; the first a full carousel.
        carousel = assets[0]
        async with app.state.sessions() as session:
            for n in range(1, settings.attempt_cap + 1):
                session.add(_attempt(pid, carousel, n, selected=n == 2))
            for i, aid in enumerate(assets[3::3]):
                count = i % 3 + 1
                for n in range(1, count + 1):
                    session.add(_attempt(pid, aid, n, selected=(n == count and i % 4 != 3)))
            await session.commit()

        # The feature: 220 scenes with ~4 assets each; Stage 8 opened on the lead's first 40 scenes
        # (instances made on first read) so its timeline has instances to walk.
        fid = (await call("POST", "/v1/projects", {"title": "The Long Tide"}))["id"]
        script = await call("PUT", f"/v1/projects/{fid}/script", {"text": feature_script()})
        if script["scene_count"] != FEATURE_SCENES:
            raise RuntimeError(f"the feature parsed into {script['scene_count']} scenes")
        feature = [(await call("POST", f"/v1/projects/{fid}/assets", a))["id"] for a in _feature_assets()]
        lead = feature[0]
        async with app.state.sessions() as session:
            session.add(_attempt(fid, lead, 1, selected=True))
            await session.commit()
        all_scenes = []
        offset = 0
        while True:
            page = await call("GET", f"/v1/projects/{fid}/scenes?limit=200&offset={offset}")
            all_scenes.extend(page["items"])
            offset += len(page["items"])
            if not page["items"] or offset >= page.get("total", offset):
                break
        by_deps = max(all_scenes, key=lambda sc: sum(len(v) for v in sc["dependencies"].values()))
        lead_scenes = [sc for sc in all_scenes if sc["number"] % 3][:40]
        for sc in [by_deps, *lead_scenes]:
            await call("GET", f"/v1/projects/{fid}/scenes/{sc['id']}/assets")

        paths = {
            "asset list (50 assets)": f"/v1/projects/{pid}/assets",
            f"scene list, {FEATURE_SCENES}-scene feature, page 1": f"/v1/projects/{fid}/scenes",
            "attempts carousel (4 images)": f"/v1/projects/{pid}/assets/{carousel}/attempts",
            f"Stage 8 scene list (scene {by_deps['number']})": (
                f"/v1/projects/{fid}/scenes/{by_deps['id']}/assets"
            ),
            f"asset timeline ({FEATURE_SCENES} scenes)": f"/v1/projects/{fid}/assets/{lead}/timeline",
        }
        endpoints: list[Endpoint] = []
        engine = app.state.engine.sync_engine
        for name, path in paths.items():
            captured: list[dict[str, Any]] = []

            def capture(
                conn: Any,
                cursor: Any,
                statement: str,
                parameters: Any,
                context: Any,
                executemany: bool,
                into: list[dict[str, Any]] = captured,
            ) -> None:
                into.append({"sql": statement, "params": _plain(parameters or ())})

            raw: list[dict[str, Any]] = []

            def log_raw(record: Any, into: list[dict[str, Any]] = raw) -> None:
                if record.query.startswith(("BEGIN", "COMMIT", "ROLLBACK")):
                    return  # a session's transaction, which ``transaction`` stands for
                into.append({"sql": record.query, "params": _plain(record.args or ())})

            watched: list[Any] = []

            def watch_raw(
                dbapi_connection: Any, record: Any, proxy: Any, log: Any = log_raw, seen: list[Any] = watched
            ) -> None:
                # Lean reads (shared/db_raw.py) run on the driver connection, which SQLAlchemy's
                # hook does not see; asyncpg's own query logger does.
                record.driver_connection.add_query_logger(log)
                seen.append(record.driver_connection)

            await call("GET", path)  # anything made on first read exists before the capture
            event.listen(engine, "before_cursor_execute", capture)
            event.listen(engine, "checkout", watch_raw)
            try:
                await call("GET", path)
                await asyncio.sleep(0.05)  # asyncpg calls its loggers soon after, not at once
            finally:
                event.remove(engine, "before_cursor_execute", capture)
                event.remove(engine, "checkout", watch_raw)
                for driver in watched:
                    driver.remove_query_logger(log_raw)
            endpoints.append(Endpoint(name, path, captured + raw, transaction=bool(captured)))
    return Seeded(project_id=pid, token=token, endpoints=endpoints)


# --- the bare server (``uvicorn --factory bench.bench_api:bare_app``)


def _json_default(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return str(value)


def _item(r: Any) -> dict[str, Any]:
    """A list row in the same shape as the app's AssetOut (image URLs are the bare storage keys)."""
    image = None
    if r["sel_id"] is not None:
        image = {
            "attempt_id": r["sel_id"],
            "image_url": r["sel_key"],
            "thumbnail_url": r["sel_thumb"],
            "width": r["sel_w"],
            "height": r["sel_h"],
        }
    return {
        "id": r["id"],
        "name": r["name"],
        "aliases": list(r["aliases"] or []),
        "type": r["type"],
        "description": r["description"],
        "image_prompt": r["image_prompt"],
        "deferred": r["deferred"],
        "source": r["source"],
        "stale": r["stale"],
        "described": r["described_at"] is not None,
        "metadata": json.loads(r["metadata"]) if isinstance(r["metadata"], str) else r["metadata"],
        "scene_numbers": sorted(r["scene_numbers"] or []),
        "image": image,
        "attempt_count": r["attempt_count"],
        "version": r["version"],
        "created_at": r["created_at"],
        "updated_at": r["updated_at"],
    }


def bare_app() -> Any:
    """Starlette + an asyncpg pool replaying the captured statements. No auth, no ORM, no models."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    settings = Settings()
    spec = json.loads(Path(os.environ[SPEC_ENV]).read_text())
    replays: list[list[tuple[str, list[Any]]]] = [
        [(st["sql"], _unplain(st["params"])) for st in e["statements"]] for e in spec["endpoints"]
    ]
    in_transaction: list[bool] = [e.get("transaction", True) for e in spec["endpoints"]]
    # The asset list (the first endpoint) also gets the app's response shape, and its list alone.
    statements = replays[0]
    # The app may count in a separate statement or as a window column of the list; replay either.
    count_at = next((i for i, (sql, _) in enumerate(statements) if sql.startswith("SELECT count(*)")), None)
    list_sql, list_params = statements[-1]
    # asyncpg ships no type information (and the project's mypy config does not list it)
    asyncpg: Any = importlib.import_module("asyncpg")
    pools: list[Any] = []

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # The app's engine allows pool_size + max_overflow(5) connections; so does this pool.
        pool = await asyncpg.create_pool(
            asyncpg_dsn(settings),
            min_size=settings.database_pool_size,
            max_size=settings.database_pool_size + 5,
        )
        pools.append(pool)
        try:
            yield
        finally:
            await pool.close()

    def page(rows: Sequence[Any], total: int) -> Response:
        body = {"items": [_item(r) for r in rows], "total": total, "limit": 50, "offset": 0}
        return Response(json.dumps(body, default=_json_default), media_type="application/json")

    async def run(index: int) -> list[Any]:
        """The endpoint's statements on one pooled connection, in a transaction if the app used one."""
        async with pools[0].acquire() as conn:
            if not in_transaction[index]:
                return [await conn.fetch(sql, *params) for sql, params in replays[index]]
            async with conn.transaction():
                return [await conn.fetch(sql, *params) for sql, params in replays[index]]

    async def same_sql(request: Request) -> Response:
        results = await run(0)
        rows = results[-1]
        total = results[count_at][0][0] if count_at is not None else (rows[0]["total"] if rows else 0)
        return page(rows, total)

    async def list_only(request: Request) -> Response:
        return page(await pools[0].fetch(list_sql, *list_params), 50)

    async def replay(request: Request) -> Response:
        """Any read path: its statements in one transaction, every row returned as JSON."""
        results = await run(int(request.path_params["index"]))
        body = [[dict(r) for r in rows] for rows in results]
        return Response(json.dumps(body, default=_json_default), media_type="application/json")

    async def static(request: Request) -> Response:
        return Response(b'{"status":"ok"}', media_type="application/json")

    return Starlette(
        routes=[
            Route("/healthz", static),
            Route("/static", static),
            Route("/same", same_sql),
            Route("/list", list_only),
            Route("/replay/{index:int}", replay),
        ],
        lifespan=lifespan,
    )


# --- the load generator (its own process: ``--load URL``)


async def generate(
    url: str,
    headers: dict[str, str],
    *,
    concurrency: int,
    warmup: float,
    duration: float,
    max_requests: int,
    server_pid: int,
) -> dict[str, Any]:
    """``concurrency`` keep-alive connections each sending one request after the other. Requests
    started during the warm-up are not counted; the window ends after ``duration`` seconds or
    ``max_requests`` measured requests, whichever comes first, once the requests in flight finish."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    latencies: list[float] = []
    errors = 0
    statuses: dict[str, int] = {}
    async with httpx.AsyncClient(limits=limits, timeout=10.0, headers=headers, trust_env=False) as client:
        begin = time.perf_counter()
        measure_from = begin + warmup
        deadline = measure_from + duration
        meter = CpuMeter({"server": server_pid, "gen": os.getpid()})
        started: list[float] = []

        async def connection() -> None:
            nonlocal errors
            while True:
                t0 = time.perf_counter()
                if t0 >= deadline or len(latencies) + errors >= max_requests:
                    return
                if t0 >= measure_from and not started:
                    started.append(t0)
                    meter.start()
                try:
                    r = await client.get(url)
                    ok = r.status_code == 200
                    key = str(r.status_code)
                except httpx.HTTPError as exc:
                    ok, key = False, type(exc).__name__
                t1 = time.perf_counter()
                if t0 >= measure_from:
                    if ok:
                        latencies.append(t1 - t0)
                    else:
                        errors += 1
                        statuses[key] = statuses.get(key, 0) + 1

        await asyncio.gather(*(connection() for _ in range(concurrency)))
        end = time.perf_counter()
        cpu = meter.stop()
    window = end - started[0]
    return {
        "requests": len(latencies),
        "errors": errors,
        "error_kinds": statuses,
        "seconds": window,
        "rps": len(latencies) / window,
        "p50_ms": percentile(latencies, 50) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
        "server_ms_per_req": cpu["server_cpu_s"] * 1000 / max(len(latencies) + errors, 1),
        **cpu,
    }


def load_child(args: argparse.Namespace) -> None:
    loop = try_uvloop()
    headers: dict[str, str] = json.loads(os.environ.get(HEADERS_ENV, "{}"))
    result = asyncio.run(
        generate(
            args.load,
            headers,
            concurrency=args.concurrency,
            warmup=args.warmup,
            duration=args.duration,
            max_requests=args.max_requests,
            server_pid=args.server_pid,
        )
    )
    print(json.dumps({**result, "loop": loop}))


def run_load(target: Target, args: argparse.Namespace) -> dict[str, Any]:
    env = {**os.environ, HEADERS_ENV: json.dumps(target.headers)}
    argv = [
        "bench.bench_api",
        "--load",
        target.url,
        "--server-pid",
        str(target.server.pid),
        "--concurrency",
        str(args.concurrency),
        "--warmup",
        str(args.warmup),
        "--duration",
        str(args.duration),
        "--max-requests",
        str(args.max_requests),
    ]
    out = run_module(argv, env=env, timeout=args.warmup + args.duration + 60)
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


# --- wrk, when installed

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    return float(m[1]) * _UNITS[m[2]] if m else float("nan")


def run_wrk(target: Target, args: argparse.Namespace) -> dict[str, Any]:
    """wrk with one thread and the same connections: a warm-up run, then the measured run."""
    header_args = [a for k, v in target.headers.items() for a in ("-H", f"{k}: {v}")]
    base = ["wrk", "-t1", f"-c{args.concurrency}", *header_args]
    subprocess.run(
        [*base, f"-d{max(1, round(args.warmup))}s", target.url],
        capture_output=True,
        timeout=args.warmup + 30,
        check=True,
    )
    meter = CpuMeter({"server": target.server.pid})
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    meter.start()
    out = subprocess.run(
        [*base, f"-d{max(1, round(args.duration))}s", "--latency", target.url],
        capture_output=True,
        text=True,
        timeout=args.duration + 30,
        check=True,
    ).stdout
    cpu = meter.stop()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    # wrk is a child of this process: its CPU is what RUSAGE_CHILDREN grew by.
    wrk_s = after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime
    done = re.search(r"(\d+) requests in ", out)
    count = int(done[1]) if done else 0
    cpu["gen_pct"] = wrk_s * 100 / cpu["wall_s"]
    cpu["other_pct"] = max(0.0, cpu["other_pct"] - cpu["gen_pct"])
    latency = dict(re.findall(r"^\s+(\d+)%\s+(\S+)$", out, re.M))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = (int(non2xx[1]) if non2xx else 0) + (
        sum(map(int, socket_errors.groups())) if socket_errors else 0
    )
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    return {
        "requests": count,
        "errors": errors,
        "rps": float(rps[1]) if rps else float("nan"),
        "p50_ms": _ms(latency.get("50", "")),
        "p99_ms": _ms(latency.get("99", "")),
        "server_ms_per_req": cpu["server_cpu_s"] * 1000 / max(count, 1),
        **cpu,
    }


# --- the run


@dataclass(slots=True)
class Target:
    label: str
    url: str
    headers: dict[str, str]
    server: Server


def _summary(body: dict[str, Any]) -> list[tuple[str, list[int], int, bool]]:
    return [(i["id"], i["scene_numbers"], i["attempt_count"], i["image"] is not None) for i in body["items"]]


def check_same_data(targets: Sequence[Target]) -> str:
    """Each target that serves assets must return the same assets, scenes, counts and images."""
    with httpx.Client(timeout=10.0, trust_env=False) as client:
        bodies = {t.label: client.get(t.url, headers=t.headers) for t in targets}
    for r in bodies.values():
        r.raise_for_status()
    reference = _summary(bodies[targets[0].label].json())
    for label, r in bodies.items():
        if _summary(r.json()) != reference:
            raise RuntimeError(f"{label} does not return the same assets as {targets[0].label}")
    images = sum(1 for *_, has_image in reference if has_image)
    sizes = ", ".join(f"{label} {len(r.content):,} B" for label, r in bodies.items())
    return f"{len(reference)} assets, {images} with a selected image, identical on every target ({sizes})"


ROW_HEADERS = [
    "target",
    "req/s",
    "p50 ms",
    "p99 ms",
    "errors",
    "srv CPU ms/req",
    "srv %",
    "pg %",
    "gen %",
    "other %",
]


def _row(label: str, r: dict[str, Any]) -> list[str | int | float | None]:
    return [
        label,
        r["rps"],
        f"{r['p50_ms']:.2f}",
        f"{r['p99_ms']:.2f}",
        r["errors"],
        f"{r['server_ms_per_req']:.3f}",
        r["server_pct"],
        r["postgres_pct"],
        r["gen_pct"],
        r["other_pct"],
    ]


def print_results(
    title: str, results: dict[str, dict[str, Any]], pairs: Sequence[tuple[str, str, str]]
) -> None:
    """Every target's row, then each read path next to its bare same-SQL floor."""
    print(f"\n{title}")
    print_table(ROW_HEADERS, [_row(label, r) for label, r in results.items()])
    print()
    rows: list[list[str | int | float | None]] = []
    for name, real_label, bare_label in pairs:
        real, bare = results[real_label], results[bare_label]
        rows.append(
            [
                name,
                f"{real['server_ms_per_req']:.3f}",
                f"{bare['server_ms_per_req']:.3f}",
                f"{real['server_ms_per_req'] / bare['server_ms_per_req']:.2f}x",
                real["rps"],
                bare["rps"],
                f"{real['rps'] / bare['rps']:.2f}x",
            ]
        )
    print_table(
        [
            "read path",
            "real CPU ms/req",
            "bare same SQL",
            "CPU ratio",
            "real req/s",
            "bare req/s",
            "req/s ratio",
        ],
        rows,
    )
    lists = results.get("bare list only")
    if lists is not None:
        real = results[pairs[0][1]]
        print(
            f"asset list vs its list statement alone (no transaction, no ownership check): "
            f"CPU {real['server_ms_per_req'] / lists['server_ms_per_req']:.2f}x"
        )
    errors = {label: r["error_kinds"] for label, r in results.items() if r.get("error_kinds")}
    if errors:
        print(f"error kinds: {errors}")


def _sizes(targets: Sequence[Target]) -> dict[str, int]:
    with httpx.Client(timeout=10.0, trust_env=False) as client:
        out = {}
        for t in targets:
            r = client.get(t.url, headers=t.headers)
            r.raise_for_status()
            out[t.label] = len(r.content)
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--concurrency", type=int, default=16, help="connections kept busy (16)")
    parser.add_argument("--warmup", type=float, default=1.5, help="seconds not measured (1.5)")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds measured per target (5)")
    parser.add_argument("--max-requests", type=int, default=200_000, help="stop a window early (200000)")
    parser.add_argument("--only", metavar="WORD", help="only the read paths whose name contains WORD")
    parser.add_argument("--no-wrk", action="store_true", help="skip wrk even when it is installed")
    parser.add_argument("--load", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--server-pid", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    exit_on_sigterm()
    if args.load:
        load_child(args)
        return

    with exclusive_run(), tempfile.TemporaryDirectory(prefix="bench-api-") as tmp_dir:
        tmp = Path(tmp_dir)
        settings = bench_settings(tmp)

        async def setup() -> Seeded:
            await prepare_database(settings)
            await flush_redis(settings)
            return await seed(settings)

        seeded = asyncio.run(setup())
        spec = tmp / "bare-spec.json"
        spec.write_text(
            json.dumps(
                {
                    "endpoints": [
                        {"name": e.name, "statements": e.statements, "transaction": e.transaction}
                        for e in seeded.endpoints
                    ]
                }
            )
        )
        env = settings_env(settings, **{SPEC_ENV: str(spec)})
        auth = {"Authorization": f"Bearer {seeded.token}"}
        servers: list[Server] = []
        try:
            real = start_server("real-api", "services.api.main:app", env, tmp)
            servers.append(real)
            bare = start_server("bare-api", "bench.bench_api:bare_app", env, tmp, factory=True)
            servers.append(bare)
            assets = seeded.endpoints[0]
            listing = [
                Target("real", f"{real.base_url}{assets.path}", auth, real),
                Target("bare same SQL", f"{bare.base_url}/same", {}, bare),
                Target("bare list only", f"{bare.base_url}/list", {}, bare),
            ]
            checked = check_same_data(listing)
            targets = [*listing, Target("bare static", f"{bare.base_url}/static", {}, bare)]
            pairs = [(assets.name, "real", "bare same SQL")]
            for i, e in enumerate(seeded.endpoints[1:], start=1):
                pair = (
                    Target(f"real: {e.name}", f"{real.base_url}{e.path}", auth, real),
                    Target(f"bare: {e.name}", f"{bare.base_url}/replay/{i}", {}, bare),
                )
                targets.extend(pair)
                pairs.append((e.name, pair[0].label, pair[1].label))
            if args.only:
                keep = {label for name, *labels in pairs if args.only in name for label in labels}
                pairs = [p for p in pairs if args.only in p[0]]
                targets = [t for t in targets if t.label in keep]
            sizes = _sizes(targets)
            print(
                f"GET /v1/projects/{{pid}}/assets: {checked}\n"
                f"uvicorn 1 process each, access log off; {args.concurrency} connections, "
                f"warm-up {args.warmup:g}s, window {args.duration:g}s (max {args.max_requests:,} requests); "
                f"{os.cpu_count()} CPUs shared by generator, server and PostgreSQL"
            )
            print_table(
                ["read path", "GET", "SQL statements", "real bytes", "bare bytes"],
                [
                    [e.name, e.path, len(e.statements), sizes.get(real_label), sizes.get(bare_label)]
                    for e, (_, real_label, bare_label) in zip(seeded.endpoints, pairs, strict=False)
                    if real_label in sizes
                ],
            )
            results = {t.label: run_load(t, args) for t in targets}
            print_results(
                f"httpx load generator ({results[targets[0].label]['loop']}, 1 process)", results, pairs
            )
            wrk = shutil.which("wrk")
            if wrk and not args.no_wrk:
                wrk_results = {t.label: run_wrk(t, args) for t in targets}
                print_results("wrk (1 thread)", wrk_results, pairs)
            elif not args.no_wrk:
                print("\nwrk: not installed; only the pure-Python generator ran")
        finally:
            for server in servers:
                server.stop()
    print(
        "\nsrv CPU ms/req: the server process's CPU per request in the window; it does not depend on\n"
        "how fast the generator is. srv/pg/gen/other %: CPU over the window in percent of one core\n"
        f"({os.cpu_count()} cores here) used by the server, PostgreSQL, the load generator, and everything\n"
        "else on the machine. 'bare same SQL' replays the statements captured from the app, in one\n"
        "transaction on one pooled connection, and answers every row as JSON (the asset list: in the\n"
        "app's shape). Read CPU/req: req/s is bounded by the shared cores."
    )


if __name__ == "__main__":
    main()
