"""GET /v1/projects/{pid}/scenes/{sid}/assets (Stage 8 scene list, 30 instances, reference defaults
for all of them) next to the Stage 5 asset list, as the script grows.

    python -m bench.bench_stage8 [--scenes 50,200,800] [--requests 300] [--warmup 30]

Seed per size: one project, a script of N scenes, 30 assets linked to *every* scene (N x 30
instances), a selected image in every third scene of each asset and a master image for half of
them (attempt rows with fake storage keys, inserted with the ORM). The measured scene is the last
one, so each reference default has the whole script before it to search.

The app runs in-process (httpx ASGI transport, no sockets), requests one after another: wall time
is the latency floor of one request, CPU is this process's user+system time per request (app and
client together), PostgreSQL CPU is read from /proc. ``SQL/req`` counts the statements one request
runs: it must not grow with the number of scenes or instances.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

try:
    import bench  # noqa: F401 - only checking it is importable
except ModuleNotFoundError:  # run as a script: bench/ is sys.path[0], not the repo root
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (
    bench_settings,
    count_statements,
    exclusive_run,
    exit_on_sigterm,
    percentile,
    postgres_cpu_s,
    prepare_database,
    print_table,
    scene_ids,
)
from shared.auth import make_token
from shared.config import Settings

ASSETS = 30


def script(scenes: int) -> str:
    places = ["LIGHTHOUSE", "HARBOUR", "COTTAGE", "CLIFF PATH", "CHAPEL", "QUAY", "BEACH"]
    body = "\n\n".join(
        f"{'INT' if i % 2 else 'EXT'}. {places[i % len(places)]} {i} - {'DAY' if i % 3 else 'NIGHT'}\n\n"
        f"Mara crosses the room, scene {i}."
        for i in range(1, scenes + 1)
    )
    return f"Title: Bench\n\n{body}\n"


async def seed(
    client: httpx.AsyncClient, sessions: Any, auth: dict[str, str], scenes: int
) -> tuple[str, str]:
    from sqlalchemy import select, text

    from shared.models import AssetAttempt, SceneAssetInstance, SceneInstanceAttempt

    r = await client.post("/v1/projects", json={"title": f"Bench {scenes}"}, headers=auth)
    r.raise_for_status()
    pid = r.json()["id"]
    r = await client.put(f"/v1/projects/{pid}/script", json={"text": script(scenes)}, headers=auth)
    r.raise_for_status()
    if r.json()["scene_count"] != scenes:
        raise RuntimeError(f"parsed {r.json()['scene_count']} scenes, expected {scenes}")
    types = ["character", "prop", "location", "extra_archetype"]
    assets = []
    for i in range(ASSETS):
        body = {
            "name": f"Asset {i}",
            "type": types[i % 4],
            "description": f"Asset {i}, weathered.",
            "scene_numbers": list(range(1, scenes + 1)),
        }
        r = await client.post(f"/v1/projects/{pid}/assets", json=body, headers=auth)
        r.raise_for_status()
        assets.append(uuid.UUID(r.json()["id"]))
    r = await client.get(f"/v1/projects/{pid}/stages/8/readiness", headers=auth)  # makes every instance
    r.raise_for_status()
    async with sessions() as s:
        instances = (
            await s.execute(
                select(SceneAssetInstance.id, SceneAssetInstance.scene_number).where(
                    SceneAssetInstance.project_id == uuid.UUID(pid)
                )
            )
        ).all()
        fake = {"width": 512, "height": 768, "mime": "image/png", "bytes": 1000}
        for iid, number in instances:
            if number % 3 == 0:
                key = f"bench/{iid}.png"
                s.add(
                    SceneInstanceAttempt(
                        id=uuid.uuid4(),
                        instance_id=iid,
                        project_id=uuid.UUID(pid),
                        attempt_number=1,
                        source="generated",
                        selected=True,
                        storage_key=key,
                        thumbnail_key=key,
                        **fake,
                    )
                )
        for aid in assets[::2]:
            key = f"bench/{aid}.png"
            s.add(
                AssetAttempt(
                    id=uuid.uuid4(),
                    asset_id=aid,
                    project_id=uuid.UUID(pid),
                    attempt_number=1,
                    source="generated",
                    selected=True,
                    storage_key=key,
                    thumbnail_key=key,
                    **fake,
                )
            )
        await s.commit()
        # What autovacuum does after a bulk load; without it the planner sees the tables as they
        # were before the seed (a few rows) and picks plans no production database would.
        await s.execute(text("ANALYZE"))
        await s.commit()
    last = (await scene_ids(client, pid, auth))[-1]
    return pid, last


async def measure(
    client: httpx.AsyncClient, url: str, auth: dict[str, str], counter: list[int], requests: int, warmup: int
) -> dict[str, float]:
    for _ in range(warmup):
        (await client.get(url, headers=auth)).raise_for_status()
    counter[0] = 0
    walls: list[float] = []
    pg0 = postgres_cpu_s()
    cpu0 = time.process_time()
    for _ in range(requests):
        t = time.perf_counter()
        r = await client.get(url, headers=auth)
        walls.append(time.perf_counter() - t)
        r.raise_for_status()
    cpu = time.process_time() - cpu0
    pg = sum(v - pg0.get(p, 0.0) for p, v in postgres_cpu_s().items())
    return {
        "p50": percentile(walls, 50) * 1000,
        "p99": percentile(walls, 99) * 1000,
        "cpu": cpu * 1000 / requests,
        "pg": pg * 1000 / requests,
        "sql": counter[0] / requests,
    }


async def run(settings: Settings, sizes: list[int], requests: int, warmup: int) -> None:

    from services.api.app import create_app

    await prepare_database(settings)
    app = create_app(settings)
    auth = {"Authorization": f"Bearer {make_token(settings, sub=uuid.uuid4())}"}
    rows: list[list[Any]] = []
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://bench", timeout=60
        ) as client,
    ):
        counter = count_statements(app.state.engine)
        for n in sizes:
            print(f"seeding {n} scenes x {ASSETS} assets ...", flush=True)
            pid, sid = await seed(client, app.state.sessions, auth, n)
            r = await client.get(f"/v1/projects/{pid}/scenes/{sid}/assets", headers=auth)
            items = r.json()["items"]
            with_ref = sum(1 for i in items if i["reference"] is not None)
            print(f"  scene list: {len(items)} instances, {with_ref} with a reference", flush=True)
            for label, url in (
                ("stage 8 scene list", f"/v1/projects/{pid}/scenes/{sid}/assets"),
                ("stage 5 asset list", f"/v1/projects/{pid}/assets"),
            ):
                m = await measure(client, url, auth, counter, requests, warmup)
                rows.append([label, n, m["p50"], m["p99"], m["cpu"], m["pg"], m["sql"]])
    print()
    print_table(
        ["target", "scenes", "p50 ms", "p99 ms", "CPU ms/req", "pg CPU ms/req", "SQL/req"], rows, digits=2
    )


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_stage8", description=__doc__)
    parser.add_argument("--scenes", default="50,200,800", help="script sizes, comma-separated (50,200,800)")
    parser.add_argument("--requests", type=int, default=300, help="measured requests per target (300)")
    parser.add_argument("--warmup", type=int, default=30, help="unmeasured requests first (30)")
    args = parser.parse_args()
    exit_on_sigterm()
    sizes = [int(x) for x in args.scenes.split(",")]
    with exclusive_run(), tempfile.TemporaryDirectory() as tmp:
        asyncio.run(run(bench_settings(Path(tmp)), sizes, args.requests, args.warmup))
    return 0


if __name__ == "__main__":
    sys.exit(main())
