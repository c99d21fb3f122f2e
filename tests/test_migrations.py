"""Every migration upgrades from an empty database to head and downgrades back to empty."""

from __future__ import annotations

import asyncio
import os

import asyncpg

from tests.conftest import PG, _migrate


async def _tables(db: str) -> set[str]:
    conn = await asyncpg.connect(PG.replace("+asyncpg", "") + f"/{db}")
    try:
        rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        return {r["tablename"] for r in rows}
    finally:
        await conn.close()


async def _recreate(db: str) -> None:
    conn = await asyncpg.connect(PG.replace("+asyncpg", "") + "/postgres")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{db}"')
    finally:
        await conn.close()


async def test_upgrade_and_downgrade_round_trip() -> None:
    db = f"filmassets_migrations_test_{os.getpid()}"
    await _recreate(db)
    url = f"{PG}/{db}"
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
    conn = await asyncpg.connect(PG.replace("+asyncpg", "") + "/postgres")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
    finally:
        await conn.close()
