"""Batches: the jobs one bulk action started, read and cancelled as one (see shared/jobs/batches.py)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Request

from services.api.deps import CurrentUser, SessionDep
from shared.jobs.batches import BatchEnvelope, cancel_batch, get_owned_batch, read_batch

router = APIRouter(prefix="/v1/batches", tags=["batches"])

BatchId = Annotated[uuid.UUID, Path(description="Batch id")]


@router.get(
    "/{bid}",
    summary="A batch: its jobs, counts by status and aggregate progress",
    description="Follow its jobs live with `GET /v1/projects/{pid}/events` (each job event names its "
    "job id, and `jobs` lists the batch's ids), or poll this.",
)
async def get_batch(bid: BatchId, user: CurrentUser, session: SessionDep) -> BatchEnvelope:
    batch = await get_owned_batch(session, batch_id=bid, owner_id=user)
    return BatchEnvelope(batch=await read_batch(session, batch))


@router.post(
    "/{bid}/cancel",
    summary="Cancel every queued or running job of the batch",
    description="Running jobs discard what they compute; finished jobs stay as they are. Cancelling "
    "twice is harmless.",
)
async def cancel(bid: BatchId, user: CurrentUser, session: SessionDep, request: Request) -> BatchEnvelope:
    out = await cancel_batch(session, batch_id=bid, owner_id=user, redis=request.app.state.arq)
    return BatchEnvelope(batch=out)
