from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

JobStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]


class JobError(BaseModel):
    code: str
    message: str
    details: Any = None


class JobCost(BaseModel):
    input_tokens: int
    output_tokens: int
    cache_write_tokens: int
    cache_read_tokens: int
    usd: float


class JobOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: str
    status: JobStatus
    progress: float
    project_id: uuid.UUID | None
    result: dict[str, Any] | None
    error: JobError | None
    tries: int
    cost: JobCost
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class JobEnvelope(BaseModel):
    job: JobOut
