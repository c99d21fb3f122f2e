"""Comparing a lean read (services/api/lean.py) with FastAPI's full handler of the same route.

``full_client`` is the same app with ``lean_reads`` off; ``assert_same_answers`` sends each URL to
both, as each kind of caller, and requires the same status, content type and bytes (signatures of
image URLs aside: they move with the clock)."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Iterable

import httpx
import pytest

from services.api.lean import LEAN_READS
from shared.config import Settings
from tests.conftest import auth_for

# ``exp`` (and so ``sig``) moves with the clock between two answers.
_SIGNATURE = re.compile(rb"\?exp=[^\"&]*(&sig=[0-9a-f]*)?")


@pytest.fixture
async def full_client(settings: Settings, migrated: str, clean: None) -> AsyncIterator[httpx.AsyncClient]:
    """The same app with every lean path off."""
    from services.api.app import create_app

    app = create_app(settings.model_copy(update={"lean_reads": False}))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c,
    ):
        yield c


def callers(settings: Settings, owner: dict[str, str]) -> dict[str, dict[str, str]]:
    """The owner, and every caller the lean path hands over to the full handler."""
    return {
        "owner": owner,
        "someone else": auth_for(settings, uuid.uuid4()),
        "no token": {},
        "bad token": {"Authorization": "Bearer not-a-token"},
        "basic auth": {"Authorization": "Basic bWFyYTpwdw=="},
    }


async def assert_same_answers(
    client: httpx.AsyncClient,
    full_client: httpx.AsyncClient,
    urls: Iterable[str],
    who: dict[str, dict[str, str]],
    *,
    lean_answers: bool = True,
) -> set[int]:
    """Every URL as every caller: the same answer from both apps. Returns the statuses seen.
    ``lean_answers``: the lean path answered at least one of them (False: none needs to)."""
    statuses: set[int] = set()
    before = _answered()
    for url in urls:
        for name, headers in who.items():
            lean = await client.get(url, headers=headers)
            full = await full_client.get(url, headers=headers)
            where = f"{name}: GET {url}"
            assert lean.status_code == full.status_code, (where, lean.text, full.text)
            assert lean.headers.get("content-type") == full.headers.get("content-type"), where
            assert _SIGNATURE.sub(b"", lean.content) == _SIGNATURE.sub(b"", full.content), where
            statuses.add(lean.status_code)
    # The lean path itself answered the owner's reads (it could hand every one over and still pass).
    assert not lean_answers or _answered() > before, "the lean path answered none of these requests"
    return statuses


def _answered() -> float:
    total = 0.0
    for metric in LEAN_READS.collect():
        for sample in metric.samples:
            if sample.name.endswith("_total") and sample.labels.get("outcome") == "answered":
                total += sample.value
    return total
