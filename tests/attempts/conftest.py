"""Fixtures of the attempts tests: an app on local storage, or on each backend in turn."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from shared.config import Settings
from tests.attempts.helpers import Env, make_env


@pytest.fixture
async def env(settings: Settings, clean: None, tmp_path: Path) -> AsyncIterator[Env]:
    async with make_env(settings, tmp_path) as e:
        yield e


@pytest.fixture(params=["local", "s3"])
async def env_any(
    request: pytest.FixtureRequest, settings: Settings, clean: None, tmp_path: Path
) -> AsyncIterator[Env]:
    """The same test on local storage and on S3 (a real moto server over HTTP)."""
    endpoint = request.getfixturevalue("moto_s3_endpoint") if request.param == "s3" else None
    async with make_env(settings, tmp_path, backend=request.param, s3_endpoint=endpoint) as e:
        yield e
