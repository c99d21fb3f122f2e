"""The ``noop`` kind: a probe of the whole job path (``POST /v1/jobs/ping``) and the queue
benchmark."""

from __future__ import annotations

import asyncio

from pydantic import BaseModel, Field

from shared.jobs.registry import job_kind
from shared.jobs.run import JobRun


class NoopPayload(BaseModel):
    hold_ms: int = Field(default=0, ge=0, le=30_000, description="How long the worker holds the job")


class NoopResult(BaseModel):
    pong: bool = True
    held_ms: int


@job_kind("noop", worker="extractor", payload=NoopPayload, result=NoopResult)
async def noop(run: JobRun[NoopPayload]) -> NoopResult:
    """With ``hold_ms`` it holds the worker slot that long, reporting progress, so operators can
    watch events flow and tests can interrupt a running job."""
    hold_ms = run.payload.hold_ms
    steps = 4 if hold_ms else 0
    for i in range(steps):
        await asyncio.sleep(hold_ms / 1000 / steps)
        await run.progress((i + 1) / steps, f"held {hold_ms * (i + 1) // steps} of {hold_ms} ms")
    return NoopResult(held_ms=hold_ms)
