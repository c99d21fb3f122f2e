"""The API app factory. ``create_app(settings)`` builds a fresh app (tests build their own)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import structlog
from fastapi import Depends, FastAPI
from starlette.middleware.cors import CORSMiddleware

from services.api.errors import document_errors, install_error_handlers, refuse_nul
from services.api.jobs import install_replay_handler
from services.api.lean import LeanLane
from services.api.middleware import BodyLimitMiddleware, RequestContextMiddleware
from services.api.outages import install_outage_handlers
from services.api.routers import (
    assets,
    attempts,
    batches,
    continuity,
    events,
    extraction,
    files,
    health,
    jobs,
    library,
    projects,
    scripts,
    stage8,
    styles,
)
from shared.config import Settings, get_settings
from shared.db import create_engine, create_sessionmaker
from shared.jobs.queue import Outbox, arq_client
from shared.jobs.registry import load_all
from shared.logging import configure_logging
from shared.storage.factory import build_storage

log = structlog.get_logger()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings, process="api")
    load_all()  # every job kind known before the first request can start one

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings)
        app.state.settings = settings
        app.state.engine = engine
        app.state.arq = arq_client(settings)
        # Jobs a request creates are pushed to Redis once its transaction commits (the outbox).
        app.state.outbox = Outbox(app.state.arq, create_sessionmaker(engine))
        app.state.sessions = create_sessionmaker(engine, outbox=app.state.outbox)
        app.state.storage = build_storage(settings)
        log.info("api.startup.succeeded", environment=settings.environment)
        try:
            yield
        finally:
            await app.state.arq.aclose()
            await engine.dispose()

    app = FastAPI(
        title="Film asset service",
        version="1.0.0",
        summary="Screenplay -> scenes -> visual assets -> reference images, for AI film pre-production.",
        lifespan=lifespan,
        dependencies=[Depends(refuse_nul)],
    )
    app.state.settings = settings
    install_error_handlers(app)
    install_replay_handler(app)
    install_outage_handlers(app)
    # Innermost (added first): polled reads answered before routing (services/api/lean.py).
    app.add_middleware(LeanLane)
    app.add_middleware(
        BodyLimitMiddleware,
        default_limit=settings.max_body_bytes,
        upload_limit=settings.max_upload_bytes + 64 * 1024,
    )
    app.add_middleware(RequestContextMiddleware)
    # Outermost, so every answer (a 413 from the body limit, a 401) carries the CORS headers a
    # browser needs to let the page read it.
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.allowed_origins,
        allow_credentials=True,
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
        allow_headers=CORS_REQUEST_HEADERS,
        expose_headers=CORS_EXPOSED_HEADERS,
        max_age=600,
    )
    # attempts before assets: its fixed paths (generate-all) must win over assets' "/{aid}" routes.
    # jobs second: FastAPI tries routers in this order, and job submissions and job polls are the
    # most frequent requests after the lean reads (which skip routing); /v1/jobs shares no path
    # with any other router, so its place changes no match.
    modules = (
        health,
        jobs,
        projects,
        styles,
        scripts,
        extraction,
        attempts,
        assets,
        library,
        files,
        stage8,
        continuity,
    )
    routers = [*(m.router for m in modules), jobs.project_router, batches.router, events.router]
    document_errors(routers)
    for router in routers:
        app.include_router(router)
    _document_event_streams(app)
    return app


def _document_event_streams(app: FastAPI) -> None:
    """On the SSE routes FastAPI files every response model under the route's media type
    (``text/event-stream``) and types it a string as well. Keep the event model alone on the 200,
    and put the errors back where they are: JSON."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            for operations in schema["paths"].values():
                for op in operations.values():
                    responses = op.get("responses", {})
                    stream = responses.get("200", {}).get("content", {}).get("text/event-stream")
                    if stream is None:
                        continue
                    stream.get("schema", {}).pop("type", None)
                    for code, answer in responses.items():
                        content = answer.get("content", {})
                        if code != "200" and "text/event-stream" in content:
                            content["application/json"] = content.pop("text/event-stream")
                            content["application/json"].get("schema", {}).pop("type", None)
        return app.openapi_schema or build()

    app.openapi = openapi  # type: ignore[method-assign]


# What a browser page may send and read on another origin (everything else it may not see).
CORS_REQUEST_HEADERS = [
    "Authorization",
    "Content-Type",
    "Idempotency-Key",
    "If-Match",
    "Last-Event-ID",
    "X-Request-ID",
]
CORS_EXPOSED_HEADERS = ["Location", "ETag", "X-Request-ID", "Idempotent-Replayed", "WWW-Authenticate"]
