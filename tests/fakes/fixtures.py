"""Pytest fixtures for the fake upstreams.

Register them for the whole suite with ``pytest_plugins = ["tests.fakes.fixtures"]`` in the root
``tests/conftest.py``. Each server starts once per session (a thread with its own event loop, so
it works with any test loop scope) and is reset before every test that uses it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.anthropic_server import FakeAnthropic
from tests.fakes.image_server import FakeImagesServer


@pytest.fixture(scope="session")
def _fake_anthropic_server() -> Iterator[FakeAnthropic]:
    with FakeAnthropic() as server:
        yield server


@pytest.fixture
def fake_anthropic(_fake_anthropic_server: FakeAnthropic) -> FakeAnthropic:
    """A fake Anthropic API at ``fake_anthropic.base_url`` with key ``fake_anthropic.api_key``."""
    _fake_anthropic_server.reset()
    return _fake_anthropic_server


@pytest.fixture(scope="session")
def _fake_images_server() -> Iterator[FakeImagesServer]:
    with FakeImagesServer() as server:
        yield server


@pytest.fixture
def fake_images(_fake_images_server: FakeImagesServer) -> FakeImagesServer:
    """A fake OpenAI Images API at ``fake_images.base_url`` with key ``fake_images.api_key``."""
    _fake_images_server.reset()
    return _fake_images_server
