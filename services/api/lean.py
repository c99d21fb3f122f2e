"""A lean path for the reads a page polls, beside FastAPI's full handling of the same route.

A polled read (a carousel, a scene's assets, a timeline) returns a few rows, and most of its CPU
was the machinery around them: FastAPI resolving half a dozen dependencies (bearer, user, session,
ownership, settings, storage, the app-wide NUL check), the session's transaction, and SQLAlchemy's
per-statement cost (``bench/bench_api.py`` has the profile). ``LeanRoute`` is FastAPI's documented
extension point (a custom ``APIRoute`` class): a route that carries a ``@lean(...)`` function first
tries it with what it needs read straight off the request; the function answers the common case, a
valid caller asking for something that exists, with one statement on the driver connection
(``shared/db_raw.py``) that checks the ownership too.

Anything else raises ``Fallback`` and FastAPI's full handler answers instead: no bearer token, a
malformed id or query parameter, a project or asset that is not found. Errors therefore come from
exactly one place, with the same codes, shapes and messages as before, and the declared endpoint
still documents the route in OpenAPI. A fast function must answer exactly what the full handler
would (tests compare the bytes), and only reads.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Collection
from typing import Any, TypeVar

from fastapi import Request, Response
from fastapi.routing import APIRoute
from prometheus_client import Counter

from shared.auth import decode_token
from shared.config import Settings
from shared.errors import AppError
from shared.storage.base import Storage

# How often each lean route answered, and how often the full handler did (refusals, not-founds,
# writes on read, lean reads switched off): a high fallback share means the lean path is not paying.
LEAN_READS = Counter("filmassets_lean_reads_total", "Polled reads by who answered", ["route", "outcome"])


class Fallback(Exception):
    """The lean path does not answer this request: the full handler does."""


class LeanRead:
    """What a lean read needs, taken off the request without FastAPI's dependency resolution."""

    __slots__ = ("engine", "request", "settings", "storage", "user")

    def __init__(self, request: Request, user: uuid.UUID) -> None:
        state = request.app.state
        self.request = request
        self.user = user
        self.settings: Settings = state.settings
        self.storage: Storage = state.storage
        self.engine = state.engine

    def uuid(self, name: str) -> uuid.UUID:
        """A path parameter as a UUID: the ``{x:uuid}`` convertor already made one; a plain
        ``{pid}`` is text, and anything that is not a UUID goes to the full handler's 422."""
        value = self.request.path_params[name]
        if isinstance(value, uuid.UUID):
            return value
        try:
            return uuid.UUID(value)
        except (TypeError, ValueError, AttributeError):
            raise Fallback from None

    def query(self, name: str) -> str | None:
        return self.request.query_params.get(name)

    def int_query(self, name: str, default: int, *, low: int, high: int) -> int:
        """An integer query parameter within [low, high]; anything else is the full handler's 422."""
        raw = self.query(name)
        if raw is None:
            return default
        # int() also takes " 7", "+7" and "7_0", which pydantic's lax mode may read differently
        if not raw.isdigit() or not raw.isascii():
            raise Fallback
        value = int(raw)
        if not low <= value <= high:
            raise Fallback
        return value

    def choice(self, name: str, default: str | None, allowed: Collection[str]) -> str | None:
        raw = self.query(name)
        if raw is None:
            return default
        if raw not in allowed:
            raise Fallback
        return raw


LeanFn = Callable[[LeanRead], Awaitable[Response]]
_Endpoint = TypeVar("_Endpoint", bound=Callable[..., Any])
_ATTR = "__lean_read__"


def lean(fast: LeanFn) -> Callable[[_Endpoint], _Endpoint]:
    """Put under the route decorator: ``fast`` answers the common case of this GET route."""

    def attach(endpoint: _Endpoint) -> _Endpoint:
        setattr(endpoint, _ATTR, fast)
        return endpoint

    return attach


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    return token if scheme.lower() == "bearer" and token else None


class LeanRoute(APIRoute):
    """An ``APIRoute`` that tries the endpoint's ``@lean`` function first (GET only)."""

    def get_route_handler(self) -> Callable[[Request], Any]:
        full = super().get_route_handler()
        fast: LeanFn | None = getattr(self.endpoint, _ATTR, None)
        if fast is None:
            return full
        answered = LEAN_READS.labels(self.path, "answered")
        handed_over = LEAN_READS.labels(self.path, "fallback")

        async def handler(request: Request) -> Response:
            read = _lean_read(request)
            if read is not None:
                try:
                    response = await fast(read)
                except Fallback:
                    pass
                else:
                    answered.inc()
                    return response
            handed_over.inc()
            response = await full(request)
            return response

        return handler


def _lean_read(request: Request) -> LeanRead | None:
    # The app-wide NUL check reads this header on every method; the full handler keeps that rule.
    if not request.app.state.settings.lean_reads:
        return None
    if request.method != "GET" or "idempotency-key" in request.headers:
        return None
    token = _bearer(request)
    if token is None:
        return None
    try:
        user = decode_token(token, request.app.state.settings)
    except AppError:
        return None  # the full handler answers the same 401
    return LeanRead(request, user)
