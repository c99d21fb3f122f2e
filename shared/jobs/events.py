"""Job state changes, progress and carousel changes on Redis, for Server-Sent Events.

Two ways out, both best effort (a lost event only delays a client, who can always poll):

* pub/sub, one channel per job (``channel``) and one per project (``project_channel``): what
  ``GET /v1/jobs/{id}/events`` follows;
* one capped Redis stream per project (``project_stream``): what ``GET /v1/projects/{pid}/events``
  reads. Stream ids are the SSE ids, so a browser that reconnects with ``Last-Event-ID`` gets what
  it missed, as long as it is among the last ``REPLAY_MAX`` events of the project.

Every entry of a project stream has two fields: ``event`` (the SSE event name: ``job`` or
``attempt``) and ``data`` (its JSON). Shapes are documented on the route and in the README.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import structlog
from redis.asyncio import Redis

from shared.coalesce import GroupSend

log = structlog.get_logger()

# Events kept per project for resumes. Trimmed approximately (MAXLEN ~), which costs nothing per add.
REPLAY_MAX = 1000
# A project nobody touches for a week loses its replay buffer; pages then refetch (event "reset").
STREAM_TTL_S = 7 * 24 * 3600


def channel(job_id: uuid.UUID | str) -> str:
    return f"filmassets:job-events:{job_id}"


def project_channel(project_id: uuid.UUID | str) -> str:
    return f"filmassets:project-events:{project_id}"


def project_stream(project_id: uuid.UUID | str) -> str:
    return f"filmassets:project-stream:{project_id}"


def _add_to_stream(pipe: Any, project_id: uuid.UUID | str, name: str, data: str) -> None:
    key = project_stream(project_id)
    pipe.xadd(key, {"event": name, "data": data}, maxlen=REPLAY_MAX, approximate=True)
    pipe.expire(key, STREAM_TTL_S)


@dataclass(frozen=True, slots=True)
class Event:
    """One event on its way out. A job's (``job_id`` set) goes to the job's channel and, with a
    project, to the project's channel and stream as ``job``; a project's own (a carousel change)
    only to its stream, as ``name``."""

    job_id: str | None
    project_id: str | None
    name: str
    data: str

    @classmethod
    def job(cls, event: dict[str, Any]) -> Event:
        project_id = event.get("project_id")
        return cls(
            str(event["id"]), str(project_id) if project_id else None, "job", json.dumps(event, default=str)
        )


def _add(pipe: Any, out: Event) -> None:
    if out.job_id is not None:
        pipe.publish(channel(out.job_id), out.data)
        if out.project_id:
            pipe.publish(project_channel(out.project_id), out.data)
    if out.project_id:
        _add_to_stream(pipe, out.project_id, out.name, out.data)


async def _send(redis: Redis, batch: list[Event]) -> None:
    if len(batch) == 1 and batch[0].project_id is None and batch[0].job_id is not None:
        # One job outside any project (the probe jobs) has one command to send: no pipeline.
        await redis.publish(channel(batch[0].job_id), batch[0].data)
        return
    async with redis.pipeline(transaction=False) as pipe:
        for out in batch:
            _add(pipe, out)
        await pipe.execute()


class Publisher:
    """A worker's way out for events: every job publishes at least twice (running, then its
    outcome), and a worker runs several jobs at once, so their events go through a ``GroupSend``:
    those that arrive while a send is on its way go together after it, in one round trip, in the
    order they came (a job's own events keep theirs). Best effort, never raises; each call returns
    once its events were sent, or dropped because Redis did not answer."""

    __slots__ = ("_group", "redis")

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._group: GroupSend[Event] = GroupSend(self._send)

    async def job(self, event: dict[str, Any]) -> None:
        await self._group([Event.job(event)])

    async def project(self, project_id: uuid.UUID | str, name: str, event: dict[str, Any]) -> None:
        """A project event that is not a job's; call it after the commit that made the change."""
        await self._group([Event(None, str(project_id), name, json.dumps(event, default=str))])

    async def _send(self, batch: list[Event], try_redis: bool) -> bool:
        if not try_redis:
            # The send before this batch found Redis away: drop it rather than wait out a timeout
            # again (a client that missed an event polls).
            log.warning("job.event.publish_failed", events=len(batch), error="Redis did not answer")
            return False
        try:
            await _send(self.redis, batch)
        except Exception as exc:
            log.warning("job.event.publish_failed", events=len(batch), error=repr(exc))
            return False
        return True


async def publish_job(redis: Redis | None, event: dict[str, Any]) -> None:
    """Best effort: a lost event only delays a client, who can always poll GET /v1/jobs/{id}.
    Never raises, so a Redis outage cannot fail the work that caused the event."""
    await publish_jobs(redis, [event])


async def publish_jobs(redis: Redis | None, batch: list[dict[str, Any]]) -> None:
    """Several job events in one round trip (a bulk action's new jobs), in order. Never raises."""
    if redis is None or not batch:
        return
    try:
        await _send(redis, [Event.job(e) for e in batch])
    except Exception as exc:
        log.warning("job.event.publish_failed", job_id=str(batch[0].get("id")), error=repr(exc))


def add_jobs(pipe: Any, batch: list[dict[str, Any]]) -> None:
    """Queue the commands that publish ``batch`` on ``pipe`` (to send with other commands)."""
    for event in batch:
        _add(pipe, Event.job(event))


async def publish_project(
    redis: Redis | None, project_id: uuid.UUID | str, name: str, event: dict[str, Any]
) -> None:
    """A project event that is not a job's (a carousel change), on the project's stream only.
    Call it after the commit that made the change. Never raises."""
    if redis is None:
        return
    try:
        await _send(redis, [Event(None, str(project_id), name, json.dumps(event, default=str))])
    except Exception as exc:
        log.warning("project.event.publish_failed", project_id=str(project_id), error=repr(exc))
