"""Job state changes and progress on Redis pub/sub, one channel per job."""

from __future__ import annotations

import json
import uuid
from typing import Any

import structlog
from redis.asyncio import Redis

log = structlog.get_logger()


def channel(job_id: uuid.UUID | str) -> str:
    return f"filmassets:job-events:{job_id}"


async def publish(redis: Redis, job_id: uuid.UUID | str, event: dict[str, Any]) -> None:
    """Best effort: a lost event only delays a client, who can always poll GET /v1/jobs/{id}."""
    try:
        await redis.publish(channel(job_id), json.dumps(event, default=str))
    except Exception as exc:
        log.warning("job.event.publish_failed", job_id=str(job_id), error=str(exc))
