"""Response helpers shared by routers."""

from __future__ import annotations

import uuid

from fastapi import Response

from shared.jobs.schemas import JobEnvelope
from shared.jobs.service import job_out
from shared.models import Job


def point_at_job(response: Response, job_id: uuid.UUID) -> None:
    """``Location`` of a 202: where the client polls (or streams ``/events``) for the outcome."""
    response.headers["Location"] = f"/v1/jobs/{job_id}"


def accepted(response: Response, job: Job) -> JobEnvelope:
    point_at_job(response, job.id)
    return JobEnvelope(job=job_out(job))
