"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import asyncio
import hmac

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, Gauge, generate_latest
from sqlalchemy import func, select, text

from services.api.errors import error_responses
from shared.config import Settings
from shared.errors import NotFound, Unauthorized
from shared.models import Job

router = APIRouter(tags=["health"])

JOBS = Gauge("filmassets_jobs", "Job rows by kind and status", ["kind", "status"])


@router.get(
    "/healthz",
    summary="Liveness: the process answers",
    responses={200: {"content": {"application/json": {"example": {"status": "ok"}}}}},
)
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Readiness: PostgreSQL and Redis answer",
    responses={
        200: {
            "description": "Both answer",
            "content": {
                "application/json": {
                    "example": {"status": "ready", "checks": {"database": "ok", "redis": "ok"}}
                }
            },
        },
        503: {"description": "A dependency is down"},
    },
)
async def readyz(request: Request) -> JSONResponse:
    checks: dict[str, str] = {}

    async def db() -> None:
        async with request.app.state.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def redis() -> None:
        await request.app.state.arq.ping()

    for name, probe in (("database", db), ("redis", redis)):
        try:
            async with asyncio.timeout(2):
                await probe()
            checks[name] = "ok"
        except Exception as exc:
            checks[name] = f"down: {type(exc).__name__}"
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not_ready", "checks": checks}, status_code=200 if ready else 503
    )


def metrics_allowed(request: Request) -> None:
    """``/metrics`` shows job counts of every user, so it is not public. With
    ``FILMASSETS_METRICS_TOKEN`` set, the scraper sends it as a bearer token (401 otherwise).
    Without one it is served only in development and test; in production it does not exist (404)."""
    settings: Settings = request.app.state.settings
    token = settings.metrics_token
    if token is None:
        if settings.environment == "production":
            raise NotFound("No such route")
        return
    expected = token.get_secret_value()
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected.encode()):
        raise Unauthorized("The metrics token is missing or wrong", code="unauthorized")


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    description="Bearer `FILMASSETS_METRICS_TOKEN` when set; without it, absent (404) in production.",
    response_class=Response,
    responses=error_responses(401, 404),
)
async def metrics(request: Request) -> Response:
    metrics_allowed(request)
    try:
        async with request.app.state.sessions() as session:
            rows = (
                await session.execute(
                    select(Job.kind, Job.status, func.count()).group_by(Job.kind, Job.status)
                )
            ).all()
        JOBS.clear()
        for kind, status, count in rows:
            JOBS.labels(kind, status).set(count)
    except Exception:
        pass
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
