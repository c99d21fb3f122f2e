"""A pooled connection the database closed (a restart, an admin's terminate) is replaced on checkout
without the request noticing (shared/db.py): the driver knows its socket closed, idle or used a
moment ago, without a ping. (The ping after an idle spell is for a socket that still looks open
while its server is gone, e.g. a dropped network path, which loopback cannot produce.)"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.api.app import create_app
from shared.config import Settings


async def _kill_the_pooled_connection(app: Any, engine: AsyncEngine) -> None:
    async with app.state.engine.connect() as conn:
        pid = await conn.scalar(text("SELECT pg_backend_pid()"))
    async with engine.connect() as admin:
        assert await admin.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}) is True
    await asyncio.sleep(0.3)


@pytest.mark.parametrize(
    "ping_after_idle_s",
    [
        pytest.param(0.2, id="idle: pinged too"),
        # No ping within a minute of use: only the closed socket can tell.
        pytest.param(60.0, id="used a moment ago: no ping"),
    ],
)
async def test_a_connection_the_database_closed_is_replaced_before_use(
    settings: Settings, clean: None, auth: dict[str, str], engine: AsyncEngine, ping_after_idle_s: float
) -> None:
    local = settings.model_copy(
        update={"database_pool_size": 1, "database_ping_after_idle_s": ping_after_idle_s}
    )
    app = create_app(local)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c,
    ):
        assert (await c.get("/v1/projects", headers=auth)).status_code == 200
        await _kill_the_pooled_connection(app, engine)
        r = await c.get("/v1/projects", headers=auth)
        assert r.status_code == 200, r.text
