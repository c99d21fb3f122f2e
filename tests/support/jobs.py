"""Reading job rows from tests: one row, or waiting until it reaches a status."""

from __future__ import annotations

import asyncio
import time
import uuid

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.models import Job


async def job_row(sessions: async_sessionmaker[AsyncSession], job_id: str) -> Job:
    async with sessions() as s:
        job = await s.get(Job, uuid.UUID(job_id))
        assert job is not None
        return job


async def wait_for_status(
    sessions: async_sessionmaker[AsyncSession], job_id: str, statuses: set[str], *, within: float
) -> Job:
    """The row once its status is one of ``statuses``, or as it is when ``within`` seconds passed."""
    deadline = time.monotonic() + within
    while True:
        row = await job_row(sessions, job_id)
        if row.status in statuses or time.monotonic() > deadline:
            return row
        await asyncio.sleep(0.1)
