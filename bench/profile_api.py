"""Where a read path's CPU goes: the bench_api read paths served in-process, the ASGI app called
directly (no HTTP client or server in the numbers), first timed, then under cProfile with a
process-CPU timer (so time spent waiting on PostgreSQL is not counted).

    python -m bench.profile_api                 # CPU ms per request of every read path
    python -m bench.profile_api "asset list"    # ... and the profile of the paths matching it
    python -m bench.profile_api "timeline" --requests 200 --top 40

Not run by ``python -m bench`` (only ``bench_*.py`` are). Uses the bench database (rebuilt) and
holds the bench lock like the benchmarks. cProfile is not greenlet-aware: SQLAlchemy's async
session runs statements in greenlets, so trust ``tottime`` (and the per-package totals printed
first) more than ``cumtime``.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import pstats
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

try:
    import bench  # noqa: F401 - only checking it is importable
except ModuleNotFoundError:  # run as a script: bench/ is sys.path[0], not the repo root
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_api import seed
from bench.common import bench_settings, exclusive_run, flush_redis, prepare_database, try_uvloop

Call = Callable[[str], Awaitable[int]]


def _caller(app: Any, token: str) -> Call:
    headers = [(b"host", b"profile"), (b"authorization", f"Bearer {token}".encode())]

    async def call(path: str) -> int:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": headers,
            "client": ("127.0.0.1", 1),
            "server": ("profile", 80),
            "state": {},
        }
        status = 0

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        await app(scope, receive, send)
        return status

    return call


def _by_package(stats: pstats.Stats) -> list[tuple[float, str]]:
    """Own time (tottime) per third-party package, standard-library module or project file."""
    totals: dict[str, float] = {}
    for (filename, _, _), row in stats.stats.items():  # type: ignore[attr-defined]
        own = float(row[2])
        if "site-packages/" in filename:
            key = filename.split("site-packages/")[1].split("/")[0]
        elif "/lib/python3" in filename:
            key = "stdlib:" + filename.split("/lib/python3")[1].split("/", 2)[-1].split("/")[0]
        elif filename.startswith(str(Path(__file__).resolve().parents[1])):
            key = str(Path(filename).relative_to(Path(__file__).resolve().parents[1]))
        else:
            key = filename
        totals[key] = totals.get(key, 0.0) + own
    return sorted(((v, k) for k, v in totals.items()), reverse=True)


async def run(args: argparse.Namespace) -> None:
    settings = bench_settings(Path(tempfile.mkdtemp(prefix="profile-api-")))
    await prepare_database(settings)
    await flush_redis(settings)
    seeded = await seed(settings)
    from services.api.app import create_app

    app = create_app(settings)
    call = _caller(app, seeded.token)
    async with app.router.lifespan_context(app):
        # As services.api.main does for the real server.
        gc.collect()
        gc.freeze()
        for endpoint in seeded.endpoints:
            for _ in range(20):
                if await call(endpoint.path) != 200:
                    raise RuntimeError(f"{endpoint.path} did not answer 200")
            best = float("inf")
            for _ in range(3):
                started = time.process_time()
                for _ in range(args.requests):
                    await call(endpoint.path)
                best = min(best, (time.process_time() - started) * 1000 / args.requests)
            print(f"{best:8.3f} ms CPU/request  {endpoint.name}  ({len(endpoint.statements)} statements)")
        for endpoint in seeded.endpoints:
            if not args.match or args.match not in endpoint.name:
                continue
            profiler = cProfile.Profile(time.process_time)
            profiler.enable()
            for _ in range(args.requests):
                await call(endpoint.path)
            profiler.disable()
            stats = pstats.Stats(profiler)
            total = sum(v for v, _ in _by_package(stats))
            print(f"\n=== {endpoint.name}: own time by package (profiled, {args.requests} requests)")
            for own, name in _by_package(stats)[:15]:
                print(f"{own * 100 / total:6.1f}%  {name}")
            stats.sort_stats("tottime").print_stats(args.top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("match", nargs="?", help="profile the read paths whose name contains this")
    parser.add_argument("--requests", type=int, default=300, help="requests per timing and profile (300)")
    parser.add_argument("--top", type=int, default=30, help="functions listed per profile (30)")
    args = parser.parse_args()
    try_uvloop()
    with exclusive_run():
        asyncio.run(run(args))


if __name__ == "__main__":
    main()
