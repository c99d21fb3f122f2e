"""Busy pages poll at once: the API keeps the connections a burst opened instead of closing and
reopening them on every wave (each new one costs a PostgreSQL backend and several milliseconds of
CPU on both sides; a 16-client job burst opened 35 a second before the pool was sized for it)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from sqlalchemy import event

from shared.config import Settings
from tests.support.factories import create_asset, create_project

CLIENTS = 16  # the burst benchmark's concurrency: a studio's open pages polling together
WAVES = 4


async def test_waves_of_concurrent_reads_reuse_the_connections_of_the_first(
    settings: Settings, migrated: str, clean: None, auth: dict[str, str]
) -> None:
    from services.api.app import create_app

    app = create_app(settings)
    opened: list[int] = []

    def _connected(*_: Any) -> None:
        opened.append(1)

    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c,
    ):
        event.listen(app.state.engine.sync_engine, "connect", _connected)
        pid = (await create_project(c, auth))["id"]
        await create_asset(c, auth, pid, name="Mara", type="character")
        url = f"/v1/projects/{pid}/assets"
        per_wave: list[int] = []
        for _ in range(WAVES):
            before = len(opened)
            answers = await asyncio.gather(*(c.get(url, headers=auth) for _ in range(CLIENTS)))
            assert {a.status_code for a in answers} == {200}
            per_wave.append(len(opened) - before)
        pool = app.state.engine.sync_engine.pool
        # The first wave may open connections (up to one per client); the later ones find them kept.
        assert per_wave[0] <= CLIENTS, per_wave
        assert per_wave[1:] == [0] * (WAVES - 1), (per_wave, pool.status())
