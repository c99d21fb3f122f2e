"""Job state changes and progress on Redis pub/sub: one channel per job and one per project, so a
page can follow a single job or everything happening in a project."""

from __future__ import annotations

import json
import uuid
from typing import Any

import structlog
from redis.asyncio import Redis

log = structlog.get_logger()


def channel(job_id: uuid.UUID | str) -> str:
    return f"filmassets:job-events:{job_id}"


def project_channel(project_id: uuid.UUID | str) -> str:
    return f"filmassets:project-events:{project_id}"


async def publish_job(redis: Redis | None, event: dict[str, Any]) -> None:
    """Best effort: a lost event only delays a client, who can always poll GET /v1/jobs/{id}.
    Never raises, so a Redis outage cannot fail the work that caused the event."""
    if redis is None:
        return
    data = json.dumps(event, default=str)
    try:
        async with redis.pipeline(transaction=False) as pipe:
            pipe.publish(channel(event["id"]), data)
            if event.get("project_id"):
                pipe.publish(project_channel(event["project_id"]), data)
            await pipe.execute()
    except Exception as exc:
        log.warning("job.event.publish_failed", job_id=str(event.get("id")), error=repr(exc))
