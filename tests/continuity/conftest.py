"""Fixtures of the continuity tests: the Stage 8 setup (an app on local storage, a project with a
style and the three-scene script) and a counter of the SQL statements a request runs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.pool import Pool

from shared.config import Settings
from tests.attempts.helpers import Env, make_env
from tests.stage8.helpers import Stage8


@pytest.fixture
async def env(settings: Settings, clean: None, tmp_path: Path) -> AsyncIterator[Env]:
    async with make_env(settings, tmp_path) as e:
        yield e


@pytest.fixture
async def s8(env: Env, auth: dict[str, str], sessions: async_sessionmaker[AsyncSession]) -> Stage8:
    return await Stage8.create(env, auth, sessions)


class StatementCounter:
    """Statements run between start() and stop(): SQLAlchemy's (sessions, connections) and those
    lean reads (services/api/lean.py) run on the driver connection, which asyncpg's query logger
    reports (SQLAlchemy's own BEGIN/COMMIT reach it too, and are not statements of the request)."""

    def __init__(self) -> None:
        self.count = 0
        self.on = False
        self.watched: list[Any] = []

    def __call__(self, *args: Any) -> None:
        if self.on:
            self.count += 1

    def driver_query(self, record: Any) -> None:
        if self.on and not record.query.startswith(("BEGIN", "COMMIT", "ROLLBACK")):
            self.count += 1

    def checked_out(self, dbapi_connection: Any, record: Any, proxy: Any) -> None:
        driver = record.driver_connection
        if driver is not None and driver not in self.watched:
            driver.add_query_logger(self.driver_query)
            self.watched.append(driver)

    async def start(self) -> None:
        await _logged()  # a statement run before the window is not counted in it
        self.count, self.on = 0, True

    async def stop(self) -> int:
        await _logged()  # nor one in the window left uncounted
        self.on = False
        return self.count


async def _logged() -> None:
    """asyncpg calls its query loggers on the event loop's next turns (``call_soon``), not as the
    statement ends: give the ones already due their turn."""
    for _ in range(3):
        await asyncio.sleep(0)


@pytest.fixture
def statements() -> Iterator[StatementCounter]:
    """Counts statements on every engine (the app's included) between start() and stop()."""
    counter = StatementCounter()
    event.listen(Engine, "before_cursor_execute", counter)
    event.listen(Pool, "checkout", counter.checked_out)
    yield counter
    event.remove(Engine, "before_cursor_execute", counter)
    event.remove(Pool, "checkout", counter.checked_out)
    for driver in counter.watched:
        driver.remove_query_logger(counter.driver_query)
