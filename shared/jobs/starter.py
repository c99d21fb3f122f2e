"""Starting work: one object bound to a transaction, its owner and its request id.

Domain services take a ``JobStarter`` and call ``await jobs.start(kind, project=..., payload=...)``;
the API builds one per request (with the ``Idempotency-Key`` handling on top, see
``services/api/jobs.py``), and a worker builds one for the jobs it schedules itself."""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from shared.config import Settings
from shared.jobs.registry import JobKind
from shared.jobs.service import create_jobs, new_job
from shared.models import Job, Project
from shared.models.job import Batch

P = TypeVar("P", bound=BaseModel)


class JobStarter:
    def __init__(
        self,
        session: AsyncSession,
        *,
        settings: Settings,
        owner_id: uuid.UUID,
        request_id: str | None = None,
    ) -> None:
        self.session = session
        self.settings = settings
        self.owner_id = owner_id
        self.request_id = request_id
        self.started: list[Job] = []

    async def start(
        self, kind: JobKind[P, Any], *, project: Project | None, payload: P, batch: Batch | None = None
    ) -> Job:
        """A queued job row in this transaction, pushed to its queue after commit (in ``batch``
        when it is one of several started together, see batches.py)."""
        return (await self.start_many(kind, project=project, payloads=[payload], batch=batch))[0]

    async def start_many(
        self, kind: JobKind[P, Any], *, project: Project | None, payloads: list[P], batch: Batch | None = None
    ) -> list[Job]:
        """``start`` for each payload, written in one statement: a bulk action's jobs."""
        jobs = [
            new_job(
                settings=self.settings,
                kind=kind,
                owner_id=self.owner_id,
                project_id=project.id if project is not None else None,
                payload=payload,
                request_id=self.request_id,
                batch_id=batch.id if batch is not None else None,
            )
            for payload in payloads
        ]
        await create_jobs(self.session, jobs)
        self.started += jobs
        return jobs
