"""Live events for a browser: the project-wide stream and the short-lived tokens that open streams.

``EventSource`` cannot send ``Authorization``, so a page asks for a token with its bearer token and
opens ``...?token=`` (see shared/jobs/tokens.py). Only the events routes read ``?token=``; the access
log never prints a query string (the API logs the route template, and uvicorn's own access log is
off, see shared/logging.py)."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

import structlog
from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import select
from sse_starlette.sse import EventSourceResponse

from services.api.deps import CurrentUser, SessionDep, SettingsDep
from services.api.errors import error_responses
from shared.auth import decode_token
from shared.errors import NotFound, Unauthorized, UpstreamUnavailable, ValidationFailed
from shared.jobs import events, tokens
from shared.jobs.kinds import JobStatus, KindName
from shared.jobs.service import get_owned_job
from shared.models import Project

log = structlog.get_logger()

router = APIRouter(tags=["events"])

_bearer = HTTPBearer(auto_error=False, description="Supabase-compatible HS256 JWT; `sub` is the user id")
_STREAM_ID = re.compile(r"\d{1,20}-\d{1,20}")
RETRY_MS = 3000  # how long a browser waits before reconnecting after the stream drops


class EventStream(EventSourceResponse):
    """``EventSourceResponse`` with its media type on the class, where OpenAPI looks for it, so the
    event shapes are documented under ``text/event-stream``."""

    media_type = "text/event-stream"


# --- what the streams carry (documented in OpenAPI; the SSE `data:` field is the JSON of `data`)


class JobEventData(BaseModel):
    id: uuid.UUID = Field(description="The job's id")
    kind: KindName = Field(description="The job's kind")
    project_id: uuid.UUID | None = Field(description="The job's project, or null for a job of no project")
    status: JobStatus = Field(description="The job's status")
    progress: float | None = Field(default=None, description="0.0 to 1.0, when the event reports it")
    message: str | None = Field(default=None, description="What the job is doing now, for a person")
    result: dict[str, Any] | None = Field(default=None, description="On `succeeded`: the kind's result")
    error: dict[str, Any] | None = Field(
        default=None, description="On `failed`: `{code, message, details}`; on a retry, why"
    )


class AttemptEventData(BaseModel):
    change: Literal["added", "selected", "deleted"] = Field(
        description="`added` by a generation or an upload (it is then the selected image), `selected` "
        "by the user, `deleted` by the user"
    )
    project_id: uuid.UUID = Field(description="The asset's project")
    asset_id: uuid.UUID = Field(description="The asset whose carousel changed")
    attempt_id: uuid.UUID = Field(description="The image (attempt) added, selected or deleted")
    attempt_number: int | None = Field(default=None, description="On `added`")
    evicted: list[uuid.UUID] = Field(
        default_factory=list, description="On `added`: images removed to stay at the cap"
    )
    job_id: uuid.UUID | None = Field(default=None, description="On `added`: the job that made it")


class ReadyEventData(BaseModel):
    project_id: uuid.UUID = Field(description="The project the stream is about")
    resumed: bool = Field(description="True when the stream continues after the client's Last-Event-ID")


class ResetEventData(BaseModel):
    reason: str = Field(
        description="The events after the client's Last-Event-ID are no longer kept: refetch what the "
        "page shows (jobs, carousels), then keep listening"
    )


class ProjectJobEvent(BaseModel):
    event: Literal["job"] = Field(description="SSE event name: a job's state change or progress report")
    id: str = Field(description="Stream id, e.g. `1764513600000-0`; send it back as Last-Event-ID")
    data: JobEventData = Field(description="SSE data field (JSON): the job as it now stands")


class ProjectAttemptEvent(BaseModel):
    event: Literal["attempt"] = Field(description="SSE event name: a carousel change")
    id: str = Field(description="Stream id, e.g. `1764513600000-0`; send it back as Last-Event-ID")
    data: AttemptEventData = Field(description="SSE data field (JSON): what changed in which carousel")


class ProjectReadyEvent(BaseModel):
    event: Literal["ready"] = Field(description="SSE event name: the first event of every (re)connection")
    id: str | None = Field(description="The stream position the page starts from (absent: none yet)")
    data: ReadyEventData = Field(
        description="SSE data field (JSON): the project, and whether the stream resumed"
    )


class ProjectResetEvent(BaseModel):
    event: Literal["reset"] = Field(description="SSE event name: events the client missed are lost")
    id: str | None = Field(description="Always absent: a reset carries no stream id")
    data: ResetEventData = Field(description="SSE data field (JSON): why, and what to do")


class ProjectStreamEvent(BaseModel):
    """One Server-Sent Event of ``GET /v1/projects/{pid}/events`` (SSE fields event, id, data)."""

    message: ProjectReadyEvent | ProjectResetEvent | ProjectJobEvent | ProjectAttemptEvent = Field(
        discriminator="event", description="One event; its `event` field says which kind"
    )


class EventsTokenOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "token": "evt_3q2Hk9VbN7xR1mWcT0sLpA",
                    "expires_at": "2026-11-30T15:02:11Z",
                    "url": (
                        "/v1/projects/5f0e8a8e-9a57-4a0e-8d1c-2b7d6f3e9a41/events?token=evt_3q2Hk9VbN7xR1mWcT0sLpA"
                    ),
                }
            ]
        }
    )

    token: str = Field(
        description="Pass as `?token=`; good for opening (or reopening) the stream until "
        "`expires_at`, for this project or job only"
    )
    expires_at: datetime = Field(description="When the token stops opening the stream")
    url: str = Field(description="The stream's path with the token, ready for `new EventSource(base + url)`")


# --- who may read a stream


@dataclass(frozen=True, slots=True)
class EventsAuth:
    """The bearer token's user, or the grant of an events token (never both needed)."""

    user: uuid.UUID | None = None
    grant: tokens.EventsGrant | None = None

    def owner_for(self, *, project_id: uuid.UUID | None, job_id: uuid.UUID | None = None) -> uuid.UUID:
        """The user the stream is read for; 404 (like any other's resource) when the token's scope
        does not cover it."""
        if self.user is not None:
            return self.user
        g = self.grant
        assert g is not None
        if g.scope == "project" and project_id is not None and g.target == project_id:
            return g.owner_id
        if g.scope == "job" and job_id is not None and g.target == job_id:
            return g.owner_id
        raise NotFound("Not found for this events token")


async def events_auth(
    settings: SettingsDep,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    token: Annotated[
        str | None,
        Query(
            description="A short-lived events token from `POST .../events/token`, for `EventSource` "
            "(which cannot send Authorization). Never a bearer token.",
            max_length=2000,
        ),
    ] = None,
) -> EventsAuth:
    if creds is not None and creds.scheme.lower() == "bearer":
        return EventsAuth(user=decode_token(creds.credentials, settings))
    if token:
        return EventsAuth(grant=tokens.verify(settings, token))
    raise Unauthorized("A bearer token or an events ?token= is required", code="unauthorized")


EventsAuthDep = Annotated[EventsAuth, Depends(events_auth)]


# --- tokens


@router.post(
    "/v1/projects/{pid}/events/token",
    summary="A short-lived token to follow the project's events from a browser",
    description="Answers a token for `GET /v1/projects/{pid}/events?token=...` (and the events of any "
    "job of the project), valid `events_token_ttl_s` (5 min by default). The token only opens events "
    "streams; a stream already open keeps going after it expires.",
)
async def project_events_token(
    pid: Annotated[uuid.UUID, Path(description="Project id")],
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
) -> EventsTokenOut:
    await _owned_project(session, pid, user)
    t = tokens.issue(settings, owner_id=user, scope="project", target=pid)
    return EventsTokenOut(
        token=t.token, expires_at=t.expires_at, url=f"/v1/projects/{pid}/events?token={t.token}"
    )


@router.post(
    "/v1/jobs/{jid}/events/token",
    summary="A short-lived token to follow one job's events from a browser",
    description="Answers a token for `GET /v1/jobs/{jid}/events?token=...`, valid `events_token_ttl_s`.",
)
async def job_events_token(
    jid: uuid.UUID, user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> EventsTokenOut:
    await get_owned_job(session, job_id=jid, owner_id=user)
    t = tokens.issue(settings, owner_id=user, scope="job", target=jid)
    return EventsTokenOut(
        token=t.token, expires_at=t.expires_at, url=f"/v1/jobs/{jid}/events?token={t.token}"
    )


async def _owned_project(session: Any, pid: uuid.UUID, owner: uuid.UUID) -> None:
    found = await session.scalar(select(Project.id).where(Project.id == pid, Project.owner_id == owner))
    if found is None:
        raise NotFound("Project not found")


# --- the project stream

PROJECT_STREAM_DESCRIPTION = """\
Server-Sent Events (`text/event-stream`) of everything that happens in the project: every state
change and progress report of its jobs (`event: job`) and every carousel change (`event: attempt`).
The stream never ends by itself; it sends a comment every 15 s to keep proxies from closing it.

Open it from a browser with a token (`EventSource` cannot send `Authorization`):

```js
const {url} = await api.post(`/v1/projects/${pid}/events/token`)   // bearer token here
const es = new EventSource(base + url)
es.addEventListener("job", (e) => update(JSON.parse(e.data)))
es.addEventListener("attempt", (e) => refreshCarousel(JSON.parse(e.data).asset_id))
es.addEventListener("reset", () => refetchEverything())
```

Events (the `data:` field is JSON):

* `ready` first: `{project_id, resumed}`.
* `job`: `{id, kind, project_id, status, progress, message, result?, error?}`, the same shape as
  `GET /v1/jobs/{id}/events`.
* `attempt`: `{change: added|selected|deleted, project_id, asset_id, attempt_id, attempt_number?,
  evicted: [...], job_id?}`.
* `reset`: `{reason}`; the events after `Last-Event-ID` are no longer kept (the last 1000 events of
  a project are): refetch, then keep listening.

Every `job` and `attempt` event has an SSE `id`. A browser reconnecting after a drop sends it back as
`Last-Event-ID` by itself and gets what it missed; a new page can pass `?last_event_id=`. An expired
token makes the reconnect fail with 401: ask for a new token and open a new `EventSource` with
`?last_event_id=` set to the last id seen.
"""


@router.get(
    "/v1/projects/{pid}/events",
    summary="Server-Sent Events: every job event and carousel change of the project",
    description=PROJECT_STREAM_DESCRIPTION,
    response_class=EventStream,
    responses={
        200: {"model": ProjectStreamEvent, "description": "An endless event stream"},
        **error_responses(401, 503),
    },
)
async def project_events(
    pid: Annotated[uuid.UUID, Path(description="Project id")],
    auth: EventsAuthDep,
    session: SessionDep,
    request: Request,
    last_event_id_header: Annotated[
        str | None,
        Header(alias="Last-Event-ID", description="Resume after this event (browsers send it on reconnect)"),
    ] = None,
    last_event_id: Annotated[
        str | None, Query(description="Resume after this event id (for a new EventSource)", max_length=64)
    ] = None,
) -> EventSourceResponse:
    owner = auth.owner_for(project_id=pid)
    await _owned_project(session, pid, owner)
    resume = last_event_id_header or last_event_id
    if resume is not None and not _STREAM_ID.fullmatch(resume):
        raise ValidationFailed("Last-Event-ID is not an id this stream sent", code="invalid_last_event_id")
    redis: Redis = request.app.state.arq
    # Everything before the first yield runs now, so a Redis outage is a clean error, not a broken stream.
    # (The request's session closes when this function returns, before the stream starts, so a
    # long-lived stream holds no database connection.)
    try:
        first, cursor = await _start(redis, pid, resume)
    except RedisError as exc:
        log.warning("events.stream.redis_unavailable", project_id=str(pid), error=repr(exc))
        raise UpstreamUnavailable(
            "Live events are unavailable for a moment; retry shortly", code="events_unavailable"
        ) from exc
    return EventSourceResponse(_project_stream(redis, pid, first, cursor), ping=15)


async def _start(redis: Redis, pid: uuid.UUID, resume: str | None) -> tuple[list[dict[str, Any]], str]:
    key = events.project_stream(pid)
    first: list[dict[str, Any]] = []
    if resume is not None:
        kept = await redis.xrange(key, min=resume, max=resume, count=1)
        if kept:
            ready = ReadyEventData(project_id=pid, resumed=True)
            first.append({"event": "ready", "id": resume, "data": ready.model_dump_json(), "retry": RETRY_MS})
            return first, resume
    newest = await redis.xrevrange(key, max="+", min="-", count=1)
    cursor = _text(newest[0][0]) if newest else "0-0"
    ready = ReadyEventData(project_id=pid, resumed=False)
    first.append({"event": "ready", "data": ready.model_dump_json(), "retry": RETRY_MS})
    if newest:
        first[0]["id"] = cursor
    if resume is not None:
        reset = ResetEventData(reason="The events since your Last-Event-ID are no longer kept")
        first.append({"event": "reset", "data": reset.model_dump_json()})
    return first, cursor


READ_BATCH = 500


async def _trimmed_after(redis: Redis, key: str, cursor: str) -> bool:
    """Whether the stream no longer holds everything after ``cursor`` (its oldest entry is newer)."""
    if cursor == "0-0":
        return False
    oldest = await redis.xrange(key, min="-", max="+", count=1)
    return bool(oldest) and _id(_text(oldest[0][0])) > _id(cursor)


def _id(stream_id: str) -> tuple[int, int]:
    ms, _, seq = stream_id.partition("-")
    return int(ms), int(seq or 0)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


async def _project_stream(
    redis: Redis, pid: uuid.UUID, first: list[dict[str, Any]], cursor: str
) -> AsyncIterator[dict[str, Any]]:
    for message in first:
        yield message
    key = events.project_stream(pid)
    while True:
        try:
            # Under the client's socket timeout (5 s): a quiet project just loops.
            got = await redis.xread({key: cursor}, count=READ_BATCH, block=2000)
            # A full batch means this client is behind; if it is so far behind that the capped
            # stream dropped events it had not read, say so rather than skip them silently.
            lost = bool(got) and len(got[0][1]) == READ_BATCH and await _trimmed_after(redis, key, cursor)
        except Exception as exc:
            # Redis went away: end the stream; the browser reconnects with Last-Event-ID and resumes.
            log.warning("events.stream.redis_failed", project_id=str(pid), error=repr(exc))
            return
        if lost:
            reset = ResetEventData(reason="This page fell behind and missed events; refetch")
            yield {"event": "reset", "data": reset.model_dump_json()}
        for _key, entries in got or ():
            for entry_id, fields in entries:
                cursor = _text(entry_id)
                yield {
                    "id": cursor,
                    "event": _text(fields[b"event"] if b"event" in fields else fields["event"]),
                    "data": _text(fields[b"data"] if b"data" in fields else fields["data"]),
                }
