"""``POST /v1/jobs/ping`` on the lean lane (one INSERT on the driver connection, then the outbox
push) answers what FastAPI's full handler answers and writes the same row, which a real worker then
runs; whatever the lane does not take (a body, an ``Idempotency-Key``, no valid bearer) the full
handler answers. The same requests go to the app with ``lean_reads`` off."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.api.lean import LEAN_READS
from services.api.routers import jobs as jobs_router
from shared.config import Settings
from shared.models import Job
from tests.support.jobs import job_row
from tests.support.lean import callers
from tests.support.workers import run_burst

PING = "/v1/jobs/ping"
# Columns that differ between any two jobs, or between two requests.
_OWN = {"id", "created_at", "updated_at", "enqueued_at", "request_id"}


def _outcomes(outcome: str) -> float:
    return sum(
        s.value
        for m in LEAN_READS.collect()
        for s in m.samples
        if s.name.endswith("_total") and s.labels == {"route": PING, "outcome": outcome}
    )


def _columns(job: Job) -> dict[str, Any]:
    return {c.key: getattr(job, c.key) for c in Job.__table__.columns if c.key not in _OWN}


async def test_ping_answers_and_writes_as_the_full_handler(
    client: httpx.AsyncClient,
    full_client: httpx.AsyncClient,
    auth: dict[str, str],
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    started: list[str] = []
    for name, headers in callers(settings, auth).items():
        answered = _outcomes("answered")
        lean = await client.post(PING, headers=headers)
        full = await full_client.post(PING, headers=headers)
        assert lean.status_code == full.status_code, (name, lean.text, full.text)
        assert lean.headers.get("content-type") == full.headers.get("content-type"), name
        if full.status_code != 202:  # no token, a bad one, Basic auth: the full handler's 401
            assert lean.content == full.content, name
            assert _outcomes("answered") == answered, name
            continue
        assert _outcomes("answered") == answered + 1, f"the lean lane did not answer {name}"
        mine, theirs = lean.json()["job"], full.json()["job"]
        started += [mine["id"], theirs["id"]]
        assert lean.headers["location"] == f"/v1/jobs/{mine['id']}"
        assert full.headers["location"] == f"/v1/jobs/{theirs['id']}"
        # The same bytes once the job's own id and creation time are swapped.
        swapped = lean.content.replace(mine["id"].encode(), theirs["id"].encode()).replace(
            json.dumps(mine["created_at"]).encode(), json.dumps(theirs["created_at"]).encode()
        )
        assert swapped == full.content
        lean_row, full_row = await job_row(sessions, mine["id"]), await job_row(sessions, theirs["id"])
        assert _columns(lean_row) == _columns(full_row)
        assert lean_row.enqueued_at is not None
        assert lean_row.request_id is not None
        assert lean_row.request_id == lean.headers["x-request-id"]

    # Any valid caller may ping (the owner and someone else). Every job reached Redis (the outbox
    # push) and a real worker runs it.
    assert len(started) == 4
    assert await run_burst("extractor", settings) == 4
    for job_id in started:
        done = await job_row(sessions, job_id)
        assert done.status == "succeeded"
        assert done.result == {"pong": True, "held_ms": 0}


async def test_what_the_lane_does_not_take_the_full_handler_answers(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    answered, handed_over = _outcomes("answered"), _outcomes("fallback")

    held = await client.post(PING, json={"hold_ms": 5}, headers=auth)
    assert held.status_code == 202
    assert (await job_row(sessions, held.json()["job"]["id"])).payload == {"hold_ms": 5}

    refused = await client.post(PING, json={"hold_ms": 5, "extra": 1}, headers=auth)
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "validation_error"

    key = {**auth, "Idempotency-Key": f"ping-{uuid.uuid4()}"}
    first = await client.post(PING, headers=key)
    again = await client.post(PING, headers=key)
    assert first.status_code == again.status_code == 202
    assert again.json()["job"]["id"] == first.json()["job"]["id"]
    assert again.headers["idempotent-replayed"] == "true"

    assert _outcomes("answered") == answered
    assert _outcomes("fallback") == handed_over + 4
    assert await run_burst("extractor", settings) == 2  # the held ping and the keyed one, once


async def test_a_ping_that_fails_after_its_write_is_not_written_again(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    sessions: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A fault between the lean lane's INSERT and its answer: the caller gets the last-resort 500,
    and the full handler is not run after it (that would be a second job for one request)."""

    def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError("fault injected after the write")

    async def jobs() -> int:
        async with sessions() as s:
            return await s.scalar(select(func.count()).select_from(Job)) or 0

    before, failed = await jobs(), _outcomes("error")
    monkeypatch.setattr(jobs_router, "json_of", broken)
    r = await client.post(PING, headers=auth)
    assert r.status_code == 500
    assert r.json()["error"]["code"] == "internal_error"
    assert await jobs() == before + 1
    assert _outcomes("error") == failed + 1
