"""Every migration upgrades from an empty database to head and downgrades back to empty."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import asyncpg

from tests.conftest import ROOT, _migrate
from tests.support.databases import PG, drop_database, recreate_database


def _alembic_check(url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FILMASSETS_DATABASE_URL": url}
    return subprocess.run(
        [sys.executable, "-m", "alembic", "check"], cwd=ROOT, env=env, capture_output=True, text=True
    )


async def _tables(db: str) -> set[str]:
    conn = await asyncpg.connect(PG.replace("+asyncpg", "") + f"/{db}")
    try:
        rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        return {r["tablename"] for r in rows}
    finally:
        await conn.close()


async def test_upgrade_and_downgrade_round_trip() -> None:
    db = f"filmassets_migrations_test_{os.getpid()}"
    url = await recreate_database(db)
    await asyncio.to_thread(_migrate, url, "upgrade", "head")
    tables = await _tables(db)
    assert {
        "projects",
        "style_capsules",
        "scripts",
        "scenes",
        "project_assets",
        "asset_scene_links",
        "asset_attempts",
        "global_assets",
        "jobs",
    } <= tables
    await asyncio.to_thread(_migrate, url, "downgrade", "base")
    assert await _tables(db) == {"alembic_version"}
    await asyncio.to_thread(_migrate, url, "upgrade", "head")
    assert await _tables(db) == tables
    # The migrated schema is exactly what the models declare: an autogenerate diff finds nothing
    # (a column, index or constraint added to a model without its migration fails here).
    check = await asyncio.to_thread(_alembic_check, url)
    assert check.returncode == 0, check.stdout + check.stderr
    await drop_database(db)
