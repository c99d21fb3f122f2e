"""A dependency that is down answers ``503`` at once, with ``Retry-After``: never a 500, never a
request hanging. The pool replaces dead connections by itself once PostgreSQL is back."""

from __future__ import annotations

import structlog
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from shared.db import is_outage

log = structlog.get_logger()


def database_unavailable_response(exc: BaseException) -> JSONResponse:
    """The 503 of an outage (``is_outage(exc)``), logged once."""
    log.warning("api.database.unavailable", error=repr(exc))
    body = {
        "error": {
            "code": "database_unavailable",
            "message": "The database is unavailable; retry shortly",
            "details": None,
        }
    }
    return JSONResponse(body, status_code=503, headers={"Retry-After": "2"})


def install_outage_handlers(app: FastAPI) -> None:
    async def database_unavailable(request: Request, exc: Exception) -> JSONResponse:
        if not is_outage(exc):
            raise exc  # a real error: the catch-all handler answers (and logs) it
        return database_unavailable_response(exc)

    for exc_type in (DBAPIError, PoolTimeout, ConnectionError):
        app.add_exception_handler(exc_type, database_unavailable)
