"""Fixtures of the continuity tests: the Stage 8 setup (an app on local storage, a project with a
style and the three-scene script) and a counter of the SQL statements a request runs."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

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
    def __init__(self) -> None:
        self.count = 0
        self.on = False

    def __call__(self, *args: Any) -> None:
        if self.on:
            self.count += 1

    def start(self) -> None:
        self.count, self.on = 0, True

    def stop(self) -> int:
        self.on = False
        return self.count


@pytest.fixture
def statements() -> Iterator[StatementCounter]:
    """Counts statements on every engine (the app's included) between start() and stop()."""
    counter = StatementCounter()
    event.listen(Engine, "before_cursor_execute", counter)
    yield counter
    event.remove(Engine, "before_cursor_execute", counter)
