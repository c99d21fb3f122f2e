"""``JobsDep``: how a route starts work and answers ``202``.

    async def generate(aid: uuid.UUID, project: ProjectDep, jobs: JobsDep) -> JobEnvelope:
        return jobs.accepted(await service.start_generation(jobs, project=project, asset_id=aid))

The dependency is bound to the request's transaction, user and request id, and owns the
``Idempotency-Key``: a repeat of a request that already answered is replayed before the route runs
(``IdempotentReplay``), so no route checks keys itself."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Annotated, TypeVar

from fastapi import Depends, FastAPI, Header, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from services.api.deps import CurrentUser, SessionDep, SettingsDep
from shared.jobs import idempotency
from shared.jobs.schemas import JobEnvelope
from shared.jobs.service import job_out
from shared.jobs.starter import JobStarter
from shared.models import Job

M = TypeVar("M", bound=BaseModel)


class IdempotentReplay(Exception):
    """Raised instead of running a route whose key already has an answer."""

    def __init__(self, answer: idempotency.Answer) -> None:
        self.answer = answer


def job_location(job_id: object) -> str:
    return f"/v1/jobs/{job_id}"


def batch_location(batch_id: object) -> str:
    return f"/v1/batches/{batch_id}"


class RequestJobs(JobStarter):
    response: Response
    answer_given: idempotency.Answer | None = None

    def accepted(self, job: Job) -> JobEnvelope:
        """The one place a ``202`` + ``Location`` answer for a job is built."""
        return self.answer(JobEnvelope(job=job_out(job)), status=status.HTTP_202_ACCEPTED, job=job)

    def answer(self, body: M, *, status: int, job: Job | None = None, batch_id: uuid.UUID | None = None) -> M:
        """Set the status (and ``Location``: the job's or the batch's, when given) and remember the
        answer for repeats of the same ``Idempotency-Key``."""
        self.response.status_code = status
        location = (
            batch_location(batch_id)
            if batch_id is not None
            else job_location(job.id)
            if job is not None
            else None
        )
        if location:
            self.response.headers["Location"] = location
        self.answer_given = idempotency.Answer(status, body.model_dump(mode="json"), location)
        return body


async def request_jobs(
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUser,
    key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            description="Repeat a request safely: the same key on the same path answers the first "
            "answer again without doing the work twice. 1-200 visible ASCII characters.",
        ),
    ] = None,
) -> AsyncIterator[RequestJobs]:
    jobs = RequestJobs(session, settings=settings, owner_id=user, request_id=request.state.request_id)
    jobs.response = response
    scope = idempotency.scope_of(request.method, request.url.path)
    if key is not None:
        key = idempotency.validate_key(key)
        previous = await idempotency.reserve(session, owner_id=user, scope=scope, key=key)
        if previous is not None:
            raise IdempotentReplay(previous)
    yield jobs
    if key is not None:
        await idempotency.settle(session, owner_id=user, scope=scope, key=key, answer=jobs.answer_given)


JobsDep = Annotated[RequestJobs, Depends(request_jobs, scope="function")]


def install_replay_handler(app: FastAPI) -> None:
    @app.exception_handler(IdempotentReplay)
    async def replay(_: Request, exc: IdempotentReplay) -> JSONResponse:
        headers = {"Idempotent-Replayed": "true"}
        if exc.answer.location:
            headers["Location"] = exc.answer.location
        return JSONResponse(exc.answer.body, status_code=exc.answer.status_code, headers=headers)
