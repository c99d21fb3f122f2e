"""``make chaos``: a longer chaos run on a database of its own; prints the figures.

python -m tests.chaos [--generations 60] [--pings 20] [--previews 4] [--seconds 240]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from shared.config import Settings
from shared.db import create_engine, create_sessionmaker
from tests.chaos.harness import ChaosPlan, chaos_settings, run_chaos, upstreams
from tests.support.databases import recreate_database

ROOT = Path(__file__).resolve().parents[2]
DB = "filmassets_chaos"


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--generations", type=int, default=60)
    parser.add_argument("--pings", type=int, default=20)
    parser.add_argument("--previews", type=int, default=4)
    parser.add_argument("--redis-restarts", type=int, default=2)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=240)
    args = parser.parse_args()
    plan = ChaosPlan(
        generations=args.generations,
        pings=args.pings,
        previews=args.previews,
        redis_restarts=args.redis_restarts,
        max_kills=args.kills,
        time_limit_s=args.seconds,
    )
    url = await recreate_database(DB)
    await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "alembic", "upgrade", "head"],
        cwd=ROOT,
        env={**os.environ, "FILMASSETS_DATABASE_URL": url},
        check=True,
        capture_output=True,
    )
    with tempfile.TemporaryDirectory() as tmp:
        base = Settings(
            environment="test",
            database_url=url,
            storage_local_dir=Path(tmp) / "storage",
            extractor_queue="chaos:extractor",
            imagegen_queue="chaos:imagegen",
            log_level="WARNING",
        )
        engine = create_engine(base, pool_size=3)
        try:
            async with upstreams(plan) as (redis, images, llm):
                settings = chaos_settings(base, redis, images, llm)
                report = await run_chaos(settings, create_sessionmaker(engine), redis, images, llm, plan)
        finally:
            await engine.dispose()
    sys.stdout.write("\n".join(report.lines()) + "\n")
    sys.exit(0 if report.lost == report.duplicated == 0 else 1)


if __name__ == "__main__":
    asyncio.run(main())
