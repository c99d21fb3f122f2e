"""The later stages' reads on a feature-length script: the asset timeline, the scene context (whole
scene, and one shot under a token budget), and the refresh of suggestions after a new script
version.

    python -m bench.bench_continuity [--scenes 150] [--requests 200] [--warmup 20]

Seed: one project (noir style), a synthetic feature of N scenes (default 150, about 110 pages: 25
lines of action each, recurring locations), 40 assets (characters with aliases, props, extras,
locations) each linked to the scenes it is named in, every instance made, a selected image in
every third instance and a master for half the assets (rows with fake storage keys), and a shot
list of 6 shots per scene. The timeline is measured for the asset in the most scenes; the context
for the middle scene.

In-process app (httpx ASGI transport): wall time per request, this process's CPU per request
(app and client), PostgreSQL CPU per request from /proc, and SQL statements per request, which
must not grow with the number of scenes. The refresh is timed on the first suggestions read after
a new script version (it recomputes), next to a read of an unchanged map (it does not).
"""

from __future__ import annotations

import argparse
import asyncio
import random
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

PEOPLE = [
    ("Mara", ["the keeper"]),
    ("Tom", ["Tommy"]),
    ("Elsie", []),
    ("Father Brennan", ["the priest"]),
    ("Jonah", []),
    ("Nell", ["Nellie"]),
    ("Captain Reyes", ["Reyes"]),
    ("Ada", []),
    ("Silas", []),
    ("Ruth", []),
]
PROPS = [
    "brass telescope",
    "oil lamp",
    "ledger",
    "rowing boat",
    "lantern",
    "letter",
    "fishing net",
    "bell",
    "compass",
    "shotgun",
    "kettle",
    "radio",
    "rope",
    "map",
    "knife",
]
EXTRAS = ["fishermen", "villagers", "sailors", "children", "mourners"]
PLACES = [
    "LIGHTHOUSE - LANTERN ROOM",
    "HARBOUR",
    "COTTAGE - KITCHEN",
    "CLIFF PATH",
    "CHAPEL",
    "QUAY",
    "BEACH",
    "PUB",
    "BOAT - DECK",
    "VILLAGE SQUARE",
]


def feature(scenes: int, seed: int = 7, twist: str = "") -> tuple[str, dict[str, list[int]]]:
    """The script text and, per asset name, the scenes it is named in."""
    rng = random.Random(seed)
    named: dict[str, list[int]] = {}
    body = []
    for i in range(1, scenes + 1):
        place = PLACES[(i // 3) % len(PLACES)]  # runs of three scenes in one place
        lines = [f"{'INT' if i % 2 else 'EXT'}. {place} - {'DAY' if i % 4 else 'NIGHT'}", ""]
        cast = rng.sample(PEOPLE, 3)
        things = rng.sample(PROPS, 3)
        crowd = rng.choice(EXTRAS)
        for n, (person, aliases) in enumerate(cast):
            named.setdefault(person, []).append(i)
            who = aliases[0] if aliases and n == 2 else person
            lines += [f"{who} crosses to the window and looks out at the grey water for a long moment.", ""]
            lines += [person.upper(), "We should have left before the storm.", ""]
        for t in things:
            named.setdefault(t, []).append(i)
            lines += [f"On the table, the {t} catches the light; nobody touches it.", ""]
        named.setdefault(crowd, []).append(i)
        lines += [f"Outside, {crowd} gather along the wall, talking low.{twist}", ""]
        lines += ["The wind rises. Somewhere a door bangs, again and again, until it stops.", ""] * 3
        body.append("\n".join(lines))
    return "Title: Bench Feature\n\n" + "\n".join(body) + "\n", named


async def seed(
    client: httpx.AsyncClient, sessions: Any, auth: dict[str, str], scenes: int
) -> tuple[str, str, str]:
    from sqlalchemy import select, text

    from shared.models import AssetAttempt, SceneAssetInstance, SceneInstanceAttempt

    r = await client.post("/v1/projects", json={"title": "Bench feature"}, headers=auth)
    r.raise_for_status()
    pid = r.json()["id"]
    capsules = (await client.get("/v1/style-capsules", headers=auth)).json()
    noir = next(c for c in capsules if c["slug"] == "noir")
    (
        await client.put(f"/v1/projects/{pid}/style", json={"capsule_id": noir["id"]}, headers=auth)
    ).raise_for_status()
    text_, named = feature(scenes)
    r = await client.put(f"/v1/projects/{pid}/script", json={"text": text_}, headers=auth)
    r.raise_for_status()
    assets: list[uuid.UUID] = []
    specs = [(p, "character", a) for p, a in PEOPLE] + [(t, "prop", []) for t in PROPS]
    specs += [(e, "extra_archetype", []) for e in EXTRAS] + [(p, "location", []) for p in PLACES]
    top, top_count = "", 0
    for name, type_, aliases in specs:
        numbers = named.get(name) or [
            i for i in range(1, scenes + 1) if PLACES[(i // 3) % len(PLACES)] == name
        ]
        # Each asset linked to most scenes it is named in: the rest are for the suggestions.
        linked = [n for k, n in enumerate(numbers) if k % 5]
        body = {
            "name": name.title(),
            "type": type_,
            "description": f"{name.title()}, weathered by the sea. Seen in many scenes of the film.",
            "aliases": aliases,
            "scene_numbers": linked,
        }
        r = await client.post(f"/v1/projects/{pid}/assets", json=body, headers=auth)
        r.raise_for_status()
        assets.append(uuid.UUID(r.json()["id"]))
        if len(linked) > top_count:
            top, top_count = r.json()["id"], len(linked)
    (await client.get(f"/v1/projects/{pid}/stages/8/readiness", headers=auth)).raise_for_status()
    async with sessions() as s:
        instances = (
            await s.execute(
                select(SceneAssetInstance.id, SceneAssetInstance.scene_number).where(
                    SceneAssetInstance.project_id == uuid.UUID(pid)
                )
            )
        ).all()
        fake = {"width": 512, "height": 768, "mime": "image/png", "bytes": 1000, "source": "generated"}
        for k, (iid, _) in enumerate(instances):
            if k % 3 == 0:
                key = f"bench/{iid}.png"
                s.add(
                    SceneInstanceAttempt(
                        id=uuid.uuid4(),
                        instance_id=iid,
                        project_id=uuid.UUID(pid),
                        attempt_number=1,
                        selected=True,
                        storage_key=key,
                        thumbnail_key=key,
                        prompt_snapshot="Weathered by the sea.",
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
                    selected=True,
                    storage_key=key,
                    thumbnail_key=key,
                    **fake,
                )
            )
        await s.commit()
        await s.execute(text("ANALYZE"))
        await s.commit()
    ids = await scene_ids(client, pid, auth)
    cams = ["EWS establishing", "MS", "CU profile", "low angle, 3/4", "OTS", "AERIAL looking down"]
    for sid in ids:
        shots = [
            {"number": n + 1, "camera": c, "action": f"{PEOPLE[n][0]} waits by the {PROPS[n]}."}
            for n, c in enumerate(cams)
        ]
        (
            await client.put(f"/v1/projects/{pid}/scenes/{sid}/shots", json={"shots": shots}, headers=auth)
        ).raise_for_status()
    return pid, top, ids[len(ids) // 2]


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


async def refresh_times(
    client: httpx.AsyncClient, pid: str, auth: dict[str, str], counter: list[int], scenes: int, rounds: int
) -> tuple[list[float], list[float], float, float, int]:
    """Wall ms of the first suggestions read after each new script version, and of a second read."""
    first, again = [], []
    sql_first = sql_again = 0.0
    items = 0
    for k in range(rounds):
        text_, _ = feature(scenes, twist=" " * (k + 1))  # a new version of the same story
        (
            await client.put(f"/v1/projects/{pid}/script", json={"text": text_}, headers=auth)
        ).raise_for_status()
        sid = (await scene_ids(client, pid, auth))[scenes // 2]
        url = f"/v1/projects/{pid}/scenes/{sid}/suggestions"
        counter[0] = 0
        t = time.perf_counter()
        r = await client.get(url, headers=auth)
        first.append((time.perf_counter() - t) * 1000)
        r.raise_for_status()
        sql_first += counter[0]
        items = len(r.json()["items"])
        counter[0] = 0
        t = time.perf_counter()
        (await client.get(url, headers=auth)).raise_for_status()
        again.append((time.perf_counter() - t) * 1000)
        sql_again += counter[0]
    return first, again, sql_first / rounds, sql_again / rounds, items


async def run(settings: Settings, scenes: int, requests: int, warmup: int) -> None:
    from sqlalchemy import func, select

    from services.api.app import create_app
    from shared.models import SceneAssetSuggestion

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
        print(f"seeding a {scenes}-scene feature ...", flush=True)
        pid, aid, sid = await seed(client, app.state.sessions, auth, scenes)
        base = f"/v1/projects/{pid}"
        for label, url in (
            ("asset timeline", f"{base}/assets/{aid}/timeline"),
            ("scene context", f"{base}/scenes/{sid}/context"),
            ("context ?shot=3&max_tokens=800", f"{base}/scenes/{sid}/context?shot=3&max_tokens=800"),
            ("stage 8 scene list (for scale)", f"{base}/scenes/{sid}/assets"),
        ):
            m = await measure(client, url, auth, counter, requests, warmup)
            rows.append([label, scenes, m["p50"], m["p99"], m["cpu"], m["pg"], m["sql"]])
        print()
        print_table(
            ["target", "scenes", "p50 ms", "p99 ms", "CPU ms/req", "pg CPU ms/req", "SQL/req"], rows, digits=2
        )
        first, again, sql_first, sql_again, items = await refresh_times(client, pid, auth, counter, scenes, 5)
        async with app.state.sessions() as s:
            stored = await s.scalar(select(func.count()).select_from(SceneAssetSuggestion))
        print()
        print_table(
            ["suggestions read", "p50 ms", "max ms", "SQL/req"],
            [
                ["first after a new script version (refresh)", percentile(first, 50), max(first), sql_first],
                ["unchanged map (stored)", percentile(again, 50), max(again), sql_again],
            ],
            digits=2,
        )
        print(f"\n{stored} suggestions stored for the project; {items} in the measured scene")


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_continuity", description=__doc__)
    parser.add_argument("--scenes", type=int, default=150, help="scenes of the feature (150)")
    parser.add_argument("--requests", type=int, default=200, help="measured requests per target (200)")
    parser.add_argument("--warmup", type=int, default=20, help="unmeasured requests first (20)")
    args = parser.parse_args()
    exit_on_sigterm()
    with exclusive_run(), tempfile.TemporaryDirectory() as tmp:
        asyncio.run(run(bench_settings(Path(tmp)), args.scenes, args.requests, args.warmup))
    return 0


if __name__ == "__main__":
    sys.exit(main())
