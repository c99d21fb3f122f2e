"""Creating and dropping whole databases on the test PostgreSQL server."""

from __future__ import annotations

import os

import asyncpg

PG = os.environ.get("FILMASSETS_TEST_PG", "postgresql+asyncpg://postgres@127.0.0.1:5432")


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(PG.replace("+asyncpg", "") + "/postgres")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def drop_database(name: str) -> None:
    await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def recreate_database(name: str) -> str:
    """An empty database ``name`` (dropped first if it exists); returns its SQLAlchemy URL."""
    await drop_database(name)
    await _admin(f'CREATE DATABASE "{name}"')
    return f"{PG}/{name}"
