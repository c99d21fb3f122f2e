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
from typing import Any

import structlog
from redis.asyncio import Redis

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


async def publish_job(redis: Redis | None, event: dict[str, Any]) -> None:
    """Best effort: a lost event only delays a client, who can always poll GET /v1/jobs/{id}.
    Never raises, so a Redis outage cannot fail the work that caused the event."""
    if redis is None or event.get("project_id"):
        await publish_jobs(redis, [event])
        return
    # A job outside any project has one command to send: without a pipeline around it (every job
    # publishes at least twice, and the probe jobs have no project).
    try:
        await redis.publish(channel(event["id"]), json.dumps(event, default=str))
    except Exception as exc:
        log.warning("job.event.publish_failed", job_id=str(event.get("id")), error=repr(exc))


async def publish_jobs(redis: Redis | None, batch: list[dict[str, Any]]) -> None:
    """Several job events in one round trip (a bulk action's new jobs), in order. Never raises."""
    if redis is None or not batch:
        return
    try:
        async with redis.pipeline(transaction=False) as pipe:
            add_jobs(pipe, batch)
            await pipe.execute()
    except Exception as exc:
        log.warning("job.event.publish_failed", job_id=str(batch[0].get("id")), error=repr(exc))


def add_jobs(pipe: Any, batch: list[dict[str, Any]]) -> None:
    """Queue the commands that publish ``batch`` on ``pipe`` (to send with other commands)."""
    for event in batch:
        data = json.dumps(event, default=str)
        pipe.publish(channel(event["id"]), data)
        if event.get("project_id"):
            pipe.publish(project_channel(event["project_id"]), data)
            _add_to_stream(pipe, event["project_id"], "job", data)


async def publish_project(
    redis: Redis | None, project_id: uuid.UUID | str, name: str, event: dict[str, Any]
) -> None:
    """A project event that is not a job's (a carousel change), on the project's stream only.
    Call it after the commit that made the change. Never raises."""
    if redis is None:
        return
    try:
        async with redis.pipeline(transaction=False) as pipe:
            _add_to_stream(pipe, project_id, name, json.dumps(event, default=str))
            await pipe.execute()
    except Exception as exc:
        log.warning("project.event.publish_failed", project_id=str(project_id), error=repr(exc))
