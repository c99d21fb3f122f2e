"""Fixtures of the Stage 8 tests: an app on local storage, and a project with a style, the
three-scene script and assets placed in its scenes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
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
