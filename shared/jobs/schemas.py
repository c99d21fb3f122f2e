from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared.jobs.kinds import JobStatus, KindName


class JobError(BaseModel):
    code: str = Field(description="Stable snake_case error code, e.g. `upstream_unavailable`")
    message: str = Field(description="What went wrong, for a person")
    details: Any = Field(default=None, description="Machine-readable details, when there are any")


class JobCost(BaseModel):
    input_tokens: int = Field(description="LLM input tokens billed at the plain rate")
    output_tokens: int = Field(description="LLM output tokens")
    cache_write_tokens: int = Field(description="LLM prompt tokens written to the prompt cache")
    cache_read_tokens: int = Field(description="LLM prompt tokens read from the prompt cache")
    usd: float = Field(description="Total spend of the job in USD (LLM calls and images), as it happens")


class JobOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: KindName = Field(description="What the job does")
    status: JobStatus
    progress: float = Field(description="0.0 to 1.0")
    message: str | None = Field(default=None, description="What the job is doing now, for a person")
    project_id: uuid.UUID | None
    batch_id: uuid.UUID | None = Field(default=None, description="The batch that started it, if any")
    result: dict[str, Any] | None = Field(description="The kind's result once it succeeded")
    error: JobError | None
    tries: int = Field(
        description="Deliveries so far (a retry, a redelivery after a crash, or an economy poll adds one)"
    )
    cost: JobCost
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class JobEnvelope(BaseModel):
    job: JobOut
