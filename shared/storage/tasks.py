"""The ``storage.sweep`` kind: delete stored objects no row references (see sweep.py)."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, Field

from shared.jobs.registry import job_kind
from shared.jobs.run import JobRun
from shared.stage8.remap import purge_removed_instances
from shared.storage.sweep import sweep_orphans


class SweepPayload(BaseModel):
    min_age_s: int | None = Field(default=None, ge=0, description="None: storage_sweep_min_age_s")


class SweepResult(BaseModel):
    scanned: int
    deleted: int
    instances_purged: int = 0


@job_kind("storage.sweep", worker="imagegen", payload=SweepPayload, result=SweepResult)
async def storage_sweep(run: JobRun[SweepPayload]) -> SweepResult:
    min_age = run.payload.min_age_s
    async with run.transaction() as session:
        # Stage 8's cleanup policy: an instance removed from its scene keeps its images for
        # instance_purge_after_days (undo stays possible), then goes with them.
        purged = await purge_removed_instances(
            session, run.ctx.storage, older_than=timedelta(days=run.settings.instance_purge_after_days)
        )
        counts = await sweep_orphans(
            session,
            run.ctx.storage,
            min_age_s=run.settings.storage_sweep_min_age_s if min_age is None else min_age,
        )
        result = SweepResult(**counts, instances_purged=purged)
        await run.complete(session, result)
    return result
