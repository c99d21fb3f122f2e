from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared.jobs.kinds import JobStatus, KindName

# What a queued job looks like in an answer; other modules' examples embed it, so the OpenAPI
# examples of every 202 show the same realistic job.
JOB_EXAMPLE: dict[str, Any] = {
    "id": "0b9c7a52-3f1e-4c5a-9d2e-8f6b1a4c7e10",
    "kind": "extract.preview",
    "status": "queued",
    "progress": 0.0,
    "message": None,
    "project_id": "5f0e8a8e-9a57-4a0e-8d1c-2b7d6f3e9a41",
    "batch_id": None,
    "result": None,
    "error": None,
    "tries": 0,
    "cost": {
        "input_tokens": 0,
        "output_tokens": 0,
        "cache_write_tokens": 0,
        "cache_read_tokens": 0,
        "usd": 0.0,
    },
    "created_at": "2026-11-30T14:02:11.512Z",
    "started_at": None,
    "finished_at": None,
}


class JobError(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "code": "upstream_unavailable",
                    "message": "The LLM provider did not answer after 4 tries",
                    "details": {"provider": "anthropic"},
                }
            ]
        }
    )

    code: str = Field(description="Stable snake_case error code, e.g. `upstream_unavailable`")
    message: str = Field(description="What went wrong, for a person")
    details: Any = Field(default=None, description="Machine-readable details, when there are any")


class JobCost(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [JOB_EXAMPLE["cost"]]})

    input_tokens: int = Field(description="LLM input tokens billed at the plain rate")
    output_tokens: int = Field(description="LLM output tokens")
    cache_write_tokens: int = Field(description="LLM prompt tokens written to the prompt cache")
    cache_read_tokens: int = Field(description="LLM prompt tokens read from the prompt cache")
    usd: float = Field(description="Total spend of the job in USD (LLM calls and images), as it happens")


class JobOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                JOB_EXAMPLE,
                {
                    **JOB_EXAMPLE,
                    "status": "succeeded",
                    "progress": 1.0,
                    "message": "Found 12 assets in 42 scenes",
                    "result": {"script_version": 1, "scene_count": 42, "counts": {"character": 7, "prop": 5}},
                    "tries": 1,
                    "started_at": "2026-11-30T14:02:11.730Z",
                    "finished_at": "2026-11-30T14:02:13.054Z",
                },
            ]
        },
    )

    id: uuid.UUID = Field(description="The job's id; `GET /v1/jobs/{id}` reads it again")
    kind: KindName = Field(description="What the job does")
    status: JobStatus = Field(
        description="`queued` -> `running` -> `succeeded` | `failed` | `cancelled`; the last three are final"
    )
    progress: float = Field(description="0.0 to 1.0")
    message: str | None = Field(default=None, description="What the job is doing now, for a person")
    project_id: uuid.UUID | None = Field(description="The project the job works on (null for a ping)")
    batch_id: uuid.UUID | None = Field(default=None, description="The batch that started it, if any")
    result: dict[str, Any] | None = Field(description="The kind's result once it succeeded")
    error: JobError | None = Field(description="Why the job failed (null unless `status` is `failed`)")
    tries: int = Field(
        description="Deliveries so far (a retry, a redelivery after a crash, or an economy poll adds one)"
    )
    cost: JobCost = Field(description="What the job has spent so far")
    created_at: datetime = Field(description="When the job was created (UTC)")
    started_at: datetime | None = Field(description="When a worker first took it (null while queued)")
    finished_at: datetime | None = Field(description="When it reached a final status")


class JobEnvelope(BaseModel):
    """The answer of every route that starts one job: ``202`` with ``Location: /v1/jobs/{id}``."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"job": JOB_EXAMPLE}]})

    job: JobOut = Field(description="The job just started; follow it at `Location` or its events")
